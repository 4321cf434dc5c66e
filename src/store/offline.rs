//! Offline requests: messages visitors leave when nobody can chat.

use serde::Serialize;
use sqlx::FromRow;

use super::{NewMail, Store, StoreError};
use crate::util::now;

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct OfflineRow {
    pub id: i64,
    pub site: String,
    pub name: String,
    pub email: String,
    pub body: String,
    pub status: String,
    /// User name and display name of the assignee.
    pub assigned_to: Option<String>,
    pub assigned_name: Option<String>,
    pub created_at: i64,
    pub done_at: Option<i64>,
    pub replied_at: Option<i64>,
    /// Department key and name.
    pub department: Option<String>,
    pub department_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewOffline {
    pub client_id: String,
    pub site: String,
    pub name: String,
    pub email: String,
    pub body: String,
    pub department_id: Option<i64>,
}

macro_rules! select_offline {
    ($tail:literal) => {
        concat!(
            "SELECT o.id, o.site, o.name, o.email, o.body, o.status, u.username AS assigned_to,
                    u.display_name AS assigned_name, o.created_at, o.done_at, o.replied_at,
                    d.key AS department, d.name AS department_name
             FROM offline_requests o LEFT JOIN staff_users u ON u.id = o.assigned_to
                  LEFT JOIN departments d ON d.id = o.department_id ",
            $tail
        )
    };
}

impl Store {
    /// Stores the request once per client id; returns its id.
    pub async fn insert_offline(&self, new: NewOffline) -> Result<i64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO offline_requests (client_id, site, name, email, body, created_at, department_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(client_id) DO NOTHING",
                )
                .bind(&new.client_id)
                .bind(new.site)
                .bind(new.name)
                .bind(new.email)
                .bind(new.body)
                .bind(now())
                .bind(new.department_id)
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

    /// Requests with the given status (only those assigned to `assignee` when given), oldest
    /// first, at most `limit`.
    pub async fn offline_requests(
        &self,
        status: &str,
        assignee: Option<i64>,
        limit: i64,
    ) -> Result<Vec<OfflineRow>, StoreError> {
        Ok(sqlx::query_as(select_offline!(
            "WHERE o.status = ?1 AND (?2 IS NULL OR o.assigned_to = ?2) ORDER BY o.created_at, o.id LIMIT ?3"
        ))
        .bind(status)
        .bind(assignee)
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    pub async fn offline_request(&self, id: i64) -> Result<Option<OfflineRow>, StoreError> {
        Ok(sqlx::query_as(select_offline!("WHERE o.id = ?1")).bind(id).fetch_optional(self.reader()).await?)
    }

    /// Assigns a request to a user (or nobody); false when there is no such request.
    pub async fn assign_offline(&self, id: i64, user_id: Option<i64>) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query("UPDATE offline_requests SET assigned_to = ?2 WHERE id = ?1")
                    .bind(id)
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    /// Queues the reply mail and marks the request done and replied, in one transaction.
    /// Returns the mail's id; None when there is no such open request.
    pub async fn reply_offline(&self, id: i64, user_id: i64, mail: NewMail) -> Result<Option<i64>, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let at = now();
                let done = sqlx::query(
                    "UPDATE offline_requests SET status = 'done', done_at = ?2, replied_at = ?2,
                         assigned_to = COALESCE(assigned_to, ?3)
                     WHERE id = ?1 AND status = 'open'",
                )
                .bind(id)
                .bind(at)
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(None);
                }
                super::mail::insert_mail(conn, mail).await.map(Some)
            })
        })
        .await
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
