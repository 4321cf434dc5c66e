//! Roles: built-in rows (login restrictions only) and custom roles (permissions too).

use sqlx::FromRow;

use super::{Store, StoreError, conflict_or};
use crate::util::now;

#[derive(Debug, Clone, FromRow)]
pub struct RoleRow {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    /// JSON array of `module.action` names (custom roles only).
    pub permissions: String,
    /// JSON array of CIDR ranges; empty = anywhere.
    pub allowed_networks: String,
    /// JSON weekly schedule in UK time; `{}` = any time.
    pub login_hours: String,
    /// `all` or `own_teams` (always `all` for built-in roles).
    pub scope: String,
}

/// Why a role could not be deleted.
#[derive(Debug, PartialEq, Eq)]
pub enum RoleDelete {
    Deleted,
    Missing,
    Builtin,
    /// Still held by this many users.
    InUse(i64),
}

impl Store {
    pub async fn roles(&self) -> Result<Vec<RoleRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, description, builtin, permissions, allowed_networks, login_hours, scope
             FROM roles ORDER BY builtin DESC, name",
        )
        .fetch_all(self.reader())
        .await?)
    }

    /// Creates a role, or replaces an existing one's fields (a built-in role keeps its
    /// permissions: the caller passes `[]` for them).
    pub async fn put_role(&self, row: RoleRow, create: bool) -> Result<bool, StoreError> {
        let what = format!("role `{}`", row.name);
        self.write(move |conn| {
            Box::pin(async move {
                // Both statements take the same parameters: ?1 name … ?6 the time, ?7 the scope.
                let sql = if create {
                    "INSERT INTO roles (name, description, builtin, permissions, allowed_networks, login_hours,
                                        created_at, updated_at, scope)
                     VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?6, ?7)"
                } else {
                    "UPDATE roles SET description = ?2, permissions = CASE builtin WHEN 1 THEN '[]' ELSE ?3 END,
                                      allowed_networks = ?4, login_hours = ?5, updated_at = ?6,
                                      scope = CASE builtin WHEN 1 THEN 'all' ELSE ?7 END
                     WHERE name = ?1"
                };
                let done = sqlx::query(sql)
                    .bind(&row.name)
                    .bind(&row.description)
                    .bind(&row.permissions)
                    .bind(&row.allowed_networks)
                    .bind(&row.login_hours)
                    .bind(now())
                    .bind(&row.scope)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
        .map_err(|e| match e {
            StoreError::Sql(err) => conflict_or(err, &what),
            other => other,
        })
    }

    pub async fn delete_role(&self, name: String) -> Result<RoleDelete, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let builtin: Option<bool> = sqlx::query_scalar("SELECT builtin FROM roles WHERE name = ?1")
                    .bind(&name)
                    .fetch_optional(&mut *conn)
                    .await?;
                match builtin {
                    None => return Ok(RoleDelete::Missing),
                    Some(true) => return Ok(RoleDelete::Builtin),
                    Some(false) => {}
                }
                let users: i64 = sqlx::query_scalar("SELECT count(*) FROM staff_users WHERE role = ?1")
                    .bind(&name)
                    .fetch_one(&mut *conn)
                    .await?;
                if users > 0 {
                    return Ok(RoleDelete::InUse(users));
                }
                sqlx::query("DELETE FROM roles WHERE name = ?1").bind(&name).execute(&mut *conn).await?;
                Ok(RoleDelete::Deleted)
            })
        })
        .await
    }
}

/// An administrator's change to a staff account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub disabled: Option<bool>,
}

impl Store {
    /// Applies `change`; a role change or disabling ends the user's sessions in the same
    /// transaction. Returns the user id, or None when no such user exists.
    pub async fn change_user(&self, username: String, change: UserChange) -> Result<Option<i64>, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let id: Option<i64> = sqlx::query_scalar(
                    "UPDATE staff_users SET display_name = coalesce(?2, display_name), role = coalesce(?3, role),
                                            disabled = coalesce(?4, disabled), updated_at = ?5
                     WHERE username = ?1 RETURNING id",
                )
                .bind(&username)
                .bind(&change.display_name)
                .bind(&change.role)
                .bind(change.disabled)
                .bind(now())
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(id) = id
                    && (change.role.is_some() || change.disabled == Some(true))
                {
                    sqlx::query("DELETE FROM staff_sessions WHERE user_id = ?1").bind(id).execute(&mut *conn).await?;
                }
                Ok(id)
            })
        })
        .await
    }

    pub async fn role_exists(&self, name: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM roles WHERE name = ?1)")
            .bind(name)
            .fetch_one(self.reader())
            .await?)
    }
}
