//! Server-side staff sessions, keyed by the SHA-256 of the cookie token.

use sqlx::FromRow;

use super::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token_hash: Vec<u8>,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A live session joined with its user.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

impl Store {
    pub async fn insert_session(&self, record: SessionRecord) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO staff_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                )
                .bind(record.token_hash)
                .bind(record.user_id)
                .bind(record.csrf_token)
                .bind(record.created_at)
                .bind(record.expires_at)
                .execute(&mut *conn)
                .await
                .map(|_| ())
            })
        })
        .await
    }

    pub async fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.user_id, u.username, u.display_name, u.role, u.disabled, u.must_change_password,
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
}
