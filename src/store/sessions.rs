//! Server-side staff sessions, keyed by the SHA-256 of the cookie token. Each session also has
//! an opaque public id, so a user can list and end sessions without ever seeing a token hash.

use sqlx::FromRow;

use super::audit::{AuditEntry, append_audit};
use super::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token_hash: Vec<u8>,
    pub public_id: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub source_ip: String,
    pub user_agent: String,
}

/// A live session joined with its user.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub public_id: String,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub source: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub password_changed_at: i64,
    pub totp_enabled: bool,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// One session as its owner sees it in the list.
#[derive(Debug, Clone, FromRow)]
pub struct SessionListRow {
    pub public_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub source_ip: String,
    pub user_agent: String,
}

/// Inserts a session inside an open writer transaction.
pub(crate) async fn insert_session_in(
    conn: &mut sqlx::SqliteConnection,
    record: SessionRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO staff_sessions
           (token_hash, public_id, user_id, csrf_token, created_at, last_seen_at, expires_at, source_ip, user_agent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8)",
    )
    .bind(record.token_hash)
    .bind(record.public_id)
    .bind(record.user_id)
    .bind(record.csrf_token)
    .bind(record.created_at)
    .bind(record.expires_at)
    .bind(record.source_ip)
    .bind(record.user_agent)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

impl Store {
    pub async fn insert_session(&self, record: SessionRecord) -> Result<(), StoreError> {
        self.write(move |conn| Box::pin(insert_session_in(conn, record))).await
    }

    pub async fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT COALESCE(s.public_id, '') AS public_id, s.user_id, u.username, u.display_name, u.role, u.source,
                    u.disabled, u.must_change_password, u.password_changed_at, u.totp_enabled,
                    s.csrf_token, s.created_at, s.last_seen_at, s.expires_at
             FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id
             WHERE s.token_hash = ?1",
        )
        .bind(token_hash)
        .fetch_optional(self.reader())
        .await?)
    }

    pub async fn touch_session(&self, token_hash: Vec<u8>, at: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE staff_sessions SET last_seen_at = ?2 WHERE token_hash = ?1")
                    .bind(token_hash)
                    .bind(at)
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            })
        })
        .await
    }

    pub async fn delete_session(&self, token_hash: Vec<u8>) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("DELETE FROM staff_sessions WHERE token_hash = ?1")
                    .bind(token_hash)
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            })
        })
        .await
    }

    /// Ends a session and records why, in one transaction.
    pub async fn end_session(&self, token_hash: Vec<u8>, audit: AuditEntry) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("DELETE FROM staff_sessions WHERE token_hash = ?1")
                    .bind(token_hash)
                    .execute(&mut *conn)
                    .await?;
                append_audit(conn, audit).await
            })
        })
        .await
    }

    /// The live sessions of a user, newest first (expired ones are left out).
    pub async fn sessions_of(&self, user_id: i64, now: i64) -> Result<Vec<SessionListRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT COALESCE(public_id, '') AS public_id, created_at, last_seen_at, expires_at, source_ip, user_agent
             FROM staff_sessions WHERE user_id = ?1 AND expires_at > ?2
             ORDER BY created_at DESC, public_id LIMIT 200",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(self.reader())
        .await?)
    }

    /// Ends one session of a user by its public id; false when the user has no such session.
    pub async fn revoke_session(&self, user_id: i64, public_id: String, audit: AuditEntry) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let gone = sqlx::query("DELETE FROM staff_sessions WHERE user_id = ?1 AND public_id = ?2")
                    .bind(user_id)
                    .bind(public_id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                if gone > 0 {
                    append_audit(conn, audit).await?;
                }
                Ok(gone > 0)
            })
        })
        .await
    }

    /// Ends every session of a user; the number ended.
    pub async fn revoke_all_sessions(&self, user_id: i64, audit: AuditEntry) -> Result<u64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let gone = sqlx::query("DELETE FROM staff_sessions WHERE user_id = ?1")
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                append_audit(conn, audit.details(format!("sessions={gone}"))).await?;
                Ok(gone)
            })
        })
        .await
    }
}
