//! Staff accounts that come from Active Directory / LDAP: created at first sign-in ("just in
//! time") and refreshed at each later one. Local accounts are never taken over.

use super::audit::{AuditEntry, append_audit};
use super::{Store, StoreError};
use crate::util::now;

/// What the directory said about a user who has just proved their password.
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: String,
    pub dn: String,
}

/// The result of creating or refreshing a directory user's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectorySync {
    /// The record is current; its id.
    Ready(i64),
    /// A local account already has this name: the directory may not sign in as it.
    LocalAccount,
    /// The account was disabled in parley (by an administrator).
    Disabled,
    /// The mapped role does not exist in parley.
    UnknownRole,
}

impl Store {
    /// Creates the record of a directory user on first sign-in, or refreshes its display name,
    /// e-mail, DN and role; role changes and creations are audited.
    pub async fn sync_directory_user(&self, user: DirectoryUser) -> Result<DirectorySync, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let role_known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM roles WHERE name = ?1")
                    .bind(&user.role)
                    .fetch_one(&mut *conn)
                    .await?;
                if role_known == 0 {
                    return Ok(DirectorySync::UnknownRole);
                }
                let existing: Option<(i64, String, String, bool)> =
                    sqlx::query_as("SELECT id, source, role, disabled FROM staff_users WHERE username = ?1")
                        .bind(&user.username)
                        .fetch_optional(&mut *conn)
                        .await?;
                let now = now();
                match existing {
                    Some((_, source, _, _)) if source != "ldap" => Ok(DirectorySync::LocalAccount),
                    Some((_, _, _, true)) => Ok(DirectorySync::Disabled),
                    Some((id, _, old_role, false)) => {
                        sqlx::query(
                            "UPDATE staff_users SET display_name = ?2, email = ?3, directory_dn = ?4, role = ?5, updated_at = ?6
                             WHERE id = ?1",
                        )
                        .bind(id)
                        .bind(&user.display_name)
                        .bind(&user.email)
                        .bind(&user.dn)
                        .bind(&user.role)
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                        if old_role != user.role {
                            let entry = AuditEntry::new("directory", "user.role_changed")
                                .target(user.username.clone())
                                .details(format!("{old_role} -> {} (directory groups)", user.role));
                            append_audit(conn, entry).await?;
                        }
                        Ok(DirectorySync::Ready(id))
                    }
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO staff_users (username, display_name, role, password_hash, source, email, directory_dn,
                                                      must_change_password, created_at, updated_at)
                             VALUES (?1, ?2, ?3, NULL, 'ldap', ?4, ?5, 0, ?6, ?6) RETURNING id",
                        )
                        .bind(&user.username)
                        .bind(&user.display_name)
                        .bind(&user.role)
                        .bind(&user.email)
                        .bind(&user.dn)
                        .bind(now)
                        .fetch_one(&mut *conn)
                        .await?;
                        let entry = AuditEntry::new("directory", "user.created")
                            .target(user.username.clone())
                            .details(format!("role {} (first sign-in from the directory)", user.role));
                        append_audit(conn, entry).await?;
                        Ok(DirectorySync::Ready(id))
                    }
                }
            })
        })
        .await
    }

    /// Ends every session of a directory user the directory now refuses (left all mapped groups,
    /// disabled in AD). Local accounts are left alone. Returns how many sessions ended.
    pub async fn end_directory_sessions(&self, username: &str) -> Result<u64, StoreError> {
        let username = username.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "DELETE FROM staff_sessions WHERE user_id IN
                     (SELECT id FROM staff_users WHERE username = ?1 AND source = 'ldap')",
                )
                .bind(username)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected())
            })
        })
        .await
    }

    /// True when `username` is a local account (not one from the directory).
    pub async fn is_local_account(&self, username: &str) -> Result<bool, StoreError> {
        let source: Option<String> = sqlx::query_scalar("SELECT source FROM staff_users WHERE username = ?1")
            .bind(username)
            .fetch_optional(self.reader())
            .await?;
        Ok(source.is_some_and(|s| s != "ldap"))
    }
}
