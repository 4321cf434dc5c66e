//! Staff accounts.

use sqlx::FromRow;

use super::{Store, StoreError, conflict_or};
use crate::util::now;

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: Option<String>,
    pub source: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: i64,
    /// Chats at once, when the operator chose a limit (else `chat.max_chats`).
    pub max_chats: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub must_change_password: bool,
}

/// `SELECT <every UserRow column> FROM staff_users <tail>` as one static string.
macro_rules! select_users {
    ($tail:literal) => {
        concat!(
            "SELECT id, username, display_name, role, password_hash, source, disabled, must_change_password, created_at, max_chats FROM staff_users ",
            $tail
        )
    };
}

/// Ends every session of the user `id` (when there is one); true when the user exists.
async fn end_sessions(conn: &mut sqlx::SqliteConnection, id: Option<i64>) -> Result<bool, sqlx::Error> {
    let Some(id) = id else { return Ok(false) };
    sqlx::query("DELETE FROM staff_sessions WHERE user_id = ?1").bind(id).execute(&mut *conn).await?;
    Ok(true)
}

impl Store {
    pub async fn insert_user(&self, user: NewUser) -> Result<i64, StoreError> {
        let name = user.username.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let now = now();
                sqlx::query_scalar(
                    "INSERT INTO staff_users (username, display_name, role, password_hash, must_change_password, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
                )
                .bind(user.username)
                .bind(user.display_name)
                .bind(user.role)
                .bind(user.password_hash)
                .bind(user.must_change_password)
                .bind(now)
                .fetch_one(&mut *conn)
                .await
            })
        })
        .await
        .map_err(|e| match e {
            StoreError::Sql(err) => conflict_or(err, &format!("user `{name}`")),
            other => other,
        })
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(sqlx::query_as(select_users!("WHERE username = ?1")).bind(username).fetch_optional(self.reader()).await?)
    }

    pub async fn list_users(&self) -> Result<Vec<UserRow>, StoreError> {
        Ok(sqlx::query_as(select_users!("ORDER BY username")).fetch_all(self.reader()).await?)
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM staff_users").fetch_one(self.reader()).await?)
    }

    /// Disables the account and ends all its sessions in the same transaction.
    /// Returns false when no such user exists.
    pub async fn disable_user(&self, username: &str) -> Result<bool, StoreError> {
        let username = username.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let id: Option<i64> = sqlx::query_scalar(
                    "UPDATE staff_users SET disabled = 1, updated_at = ?2 WHERE username = ?1 RETURNING id",
                )
                .bind(username)
                .bind(now())
                .fetch_optional(&mut *conn)
                .await?;
                end_sessions(conn, id).await
            })
        })
        .await
    }

    /// Sets a new password hash (and whether it must be changed at next login), ends every
    /// session of the user. Returns false when no such user exists.
    pub async fn set_password(&self, username: &str, hash: String, must_change: bool) -> Result<bool, StoreError> {
        let username = username.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let id: Option<i64> = sqlx::query_scalar(
                    "UPDATE staff_users SET password_hash = ?2, must_change_password = ?3, updated_at = ?4
                     WHERE username = ?1 RETURNING id",
                )
                .bind(username)
                .bind(hash)
                .bind(must_change)
                .bind(now())
                .fetch_optional(&mut *conn)
                .await?;
                end_sessions(conn, id).await
            })
        })
        .await
    }

    /// Sets how many chats at once the user takes (1–20).
    pub async fn set_max_chats(&self, user_id: i64, max_chats: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE staff_users SET max_chats = ?2, updated_at = ?3 WHERE id = ?1")
                    .bind(user_id)
                    .bind(max_chats)
                    .bind(now())
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            })
        })
        .await
    }

    /// The chat limit this user chose, if any.
    pub async fn chat_limit(&self, user_id: i64) -> Result<Option<i64>, StoreError> {
        let limit: Option<Option<i64>> = sqlx::query_scalar("SELECT max_chats FROM staff_users WHERE id = ?1")
            .bind(user_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(limit.flatten())
    }

    /// The users who chose their own chat limit: user id → limit.
    pub async fn chat_limits(&self) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT id, max_chats FROM staff_users WHERE max_chats IS NOT NULL")
            .fetch_all(self.reader())
            .await?;
        Ok(rows.into_iter().collect())
    }
}
