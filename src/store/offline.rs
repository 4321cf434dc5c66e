//! Offline requests: messages visitors leave when nobody can chat.

use serde::Serialize;
use sqlx::FromRow;

use super::{Store, StoreError};
use crate::util::now;

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct OfflineRow {
    pub id: i64,
    pub site: String,
    pub name: String,
    pub email: String,
    pub body: String,
    pub status: String,
    pub assigned_to: Option<i64>,
    pub created_at: i64,
    pub done_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewOffline {
    pub client_id: String,
    pub site: String,
    pub name: String,
    pub email: String,
    pub body: String,
}

impl Store {
    /// Stores the request once per client id; returns its id.
    pub async fn insert_offline(&self, new: NewOffline) -> Result<i64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO offline_requests (client_id, site, name, email, body, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(client_id) DO NOTHING",
                )
                .bind(&new.client_id)
                .bind(new.site)
                .bind(new.name)
                .bind(new.email)
                .bind(new.body)
                .bind(now())
                .execute(&mut *conn)
                .await?;
                sqlx::query_scalar("SELECT id FROM offline_requests WHERE client_id = ?1")
                    .bind(new.client_id)
                    .fetch_one(&mut *conn)
                    .await
            })
        })
        .await
    }

    /// Requests with the given status, oldest first, at most `limit`.
    pub async fn offline_requests(&self, status: &str, limit: i64) -> Result<Vec<OfflineRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, site, name, email, body, status, assigned_to, created_at, done_at
             FROM offline_requests WHERE status = ?1 ORDER BY created_at, id LIMIT ?2",
        )
        .bind(status)
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    /// Marks a request done (by `user_id`); false when there is no such open request.
    pub async fn finish_offline(&self, id: i64, user_id: i64) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE offline_requests SET status = 'done', done_at = ?2, assigned_to = COALESCE(assigned_to, ?3)
                     WHERE id = ?1 AND status = 'open'",
                )
                .bind(id)
                .bind(now())
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    /// Records the visitor's rating of a conversation.
    pub async fn rate_conversation(&self, id: i64, rating: u8, comment: Option<String>) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE conversations SET rating = ?2, rating_comment = ?3 WHERE id = ?1")
                    .bind(id)
                    .bind(rating)
                    .bind(comment)
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            })
        })
        .await
    }
}
