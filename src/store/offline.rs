//! Offline requests: messages visitors leave when nobody can chat.

use serde::Serialize;
use sqlx::FromRow;

use super::keys::{sealer_of, subject_for};
use super::{NewMail, Store, StoreError};
use crate::crypto::IndexKind;
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
    #[serde(skip)]
    pub subject_id: Option<i64>,
    #[serde(skip)]
    pub department_id: Option<i64>,
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
                    d.key AS department, d.name AS department_name, o.subject_id, o.department_id
             FROM offline_requests o LEFT JOIN staff_users u ON u.id = o.assigned_to
                  LEFT JOIN departments d ON d.id = o.department_id ",
            $tail
        )
    };
}

impl Store {
    /// Stores the request once per client id; returns its id.
    /// The sender is a data subject (found again by e-mail address); name, address and text
    /// are sealed with their key.
    pub async fn insert_offline(&self, new: NewOffline) -> Result<i64, StoreError> {
        let keyring = self.keyring()?;
        self.write(move |conn| {
            Box::pin(async move {
                let known: Option<i64> = sqlx::query_scalar("SELECT id FROM offline_requests WHERE client_id = ?1")
                    .bind(&new.client_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                if let Some(id) = known {
                    return Ok(id);
                }
                let identifying = [(IndexKind::Email, new.email.clone()), (IndexKind::Name, new.name.clone())];
                let (subject, sealer) = subject_for(conn, &keyring, &identifying).await?;
                let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM offline_requests")
                    .fetch_one(&mut *conn)
                    .await?;
                let row = id.to_string();
                sqlx::query(
                    "INSERT INTO offline_requests (id, client_id, site, name, email, body, created_at, department_id,
                                                   subject_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .bind(id)
                .bind(&new.client_id)
                .bind(new.site)
                .bind(sealer.seal("offline_requests", "name", &row, &new.name)?)
                .bind(sealer.seal("offline_requests", "email", &row, &new.email)?)
                .bind(sealer.seal("offline_requests", "body", &row, &new.body)?)
                .bind(now())
                .bind(new.department_id)
                .bind(subject)
                .execute(&mut *conn)
                .await?;
                Ok(id)
            })
        })
        .await
    }

    /// Decrypts the personal fields of requests read from the database.
    async fn opened_offline(&self, mut rows: Vec<OfflineRow>) -> Result<Vec<OfflineRow>, StoreError> {
        let sealers = self.sealers(rows.iter().filter_map(|r| r.subject_id).collect()).await?;
        for r in &mut rows {
            if let Some(sealer) = r.subject_id.and_then(|s| sealers.get(&s)) {
                let row = r.id.to_string();
                r.name = sealer.open("offline_requests", "name", &row, &r.name)?;
                r.email = sealer.open("offline_requests", "email", &row, &r.email)?;
                r.body = sealer.open("offline_requests", "body", &row, &r.body)?;
            }
        }
        Ok(rows)
    }

    /// Requests with the given status (only those assigned to `assignee` when given), oldest
    /// first, at most `limit`.
    pub async fn offline_requests(
        &self,
        status: &str,
        assignee: Option<i64>,
        limit: i64,
    ) -> Result<Vec<OfflineRow>, StoreError> {
        self.offline_requests_in(status, assignee, None, limit).await
    }

    /// As `offline_requests`, only those of the `departments` JSON id list when given (a
    /// team-scoped role).
    pub async fn offline_requests_in(
        &self,
        status: &str,
        assignee: Option<i64>,
        departments: Option<String>,
        limit: i64,
    ) -> Result<Vec<OfflineRow>, StoreError> {
        let rows = sqlx::query_as(select_offline!(
            "WHERE o.status = ?1 AND (?2 IS NULL OR o.assigned_to = ?2)
               AND (?4 IS NULL OR o.department_id IN (SELECT value FROM json_each(?4)))
             ORDER BY o.created_at, o.id LIMIT ?3"
        ))
        .bind(status)
        .bind(assignee)
        .bind(limit)
        .bind(departments)
        .fetch_all(self.reader())
        .await?;
        self.opened_offline(rows).await
    }

    pub async fn offline_request(&self, id: i64) -> Result<Option<OfflineRow>, StoreError> {
        let row = sqlx::query_as(select_offline!("WHERE o.id = ?1")).bind(id).fetch_optional(self.reader()).await?;
        Ok(self.opened_offline(row.into_iter().collect()).await?.pop())
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
        let keyring = self.keyring()?;
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
                super::mail::insert_mail(conn, &keyring, mail).await.map(Some)
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
        let keyring = self.keyring()?;
        self.write(move |conn| {
            Box::pin(async move {
                let subject: Option<i64> = sqlx::query_scalar("SELECT subject_id FROM conversations WHERE id = ?1")
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
                let comment = match (subject, comment) {
                    (Some(subject), Some(text)) => Some(sealer_of(&mut *conn, &keyring, subject).await?.seal(
                        "conversations",
                        "rating_comment",
                        &id.to_string(),
                        &text,
                    )?),
                    (_, comment) => comment,
                };
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
