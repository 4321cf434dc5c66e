//! The e-mail outbox: queued mails survive restarts and are retried with back-off.

use serde::Serialize;
use sqlx::FromRow;

use super::{Store, StoreError};
use crate::util::now;

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct MailRow {
    pub id: i64,
    pub kind: String,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewMail {
    /// Makes a resent request queue the mail once.
    pub client_id: Option<String>,
    pub kind: &'static str,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
}

macro_rules! select_mail {
    ($tail:literal) => {
        concat!(
            "SELECT id, kind, to_addr, subject, body, status, attempts, next_attempt_at, last_error, created_at, sent_at
             FROM mail_outbox ",
            $tail
        )
    };
}

/// Queues a mail inside an open writer transaction; returns its id (the existing one for a
/// resent client id).
pub(super) async fn insert_mail(conn: &mut sqlx::SqliteConnection, mail: NewMail) -> Result<i64, sqlx::Error> {
    let now = now();
    sqlx::query(
        "INSERT INTO mail_outbox (client_id, kind, to_addr, subject, body, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT(client_id) DO NOTHING",
    )
    .bind(&mail.client_id)
    .bind(mail.kind)
    .bind(&mail.to_addr)
    .bind(&mail.subject)
    .bind(&mail.body)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    match &mail.client_id {
        Some(client_id) => {
            sqlx::query_scalar("SELECT id FROM mail_outbox WHERE client_id = ?1")
                .bind(client_id)
                .fetch_one(&mut *conn)
                .await
        }
        None => sqlx::query_scalar("SELECT last_insert_rowid()").fetch_one(&mut *conn).await,
    }
}

impl Store {
    pub async fn queue_mail(&self, mail: NewMail) -> Result<i64, StoreError> {
        self.write(move |conn| Box::pin(insert_mail(conn, mail))).await
    }

    /// Pending mails whose next attempt is due.
    pub async fn due_mail(&self, limit: i64) -> Result<Vec<MailRow>, StoreError> {
        Ok(sqlx::query_as(select_mail!(
            "WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2"
        ))
        .bind(now())
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    pub async fn recent_mail(&self, limit: i64) -> Result<Vec<MailRow>, StoreError> {
        Ok(sqlx::query_as(select_mail!("ORDER BY created_at DESC, id DESC LIMIT ?1"))
            .bind(limit)
            .fetch_all(self.reader())
            .await?)
    }

    pub async fn mail_sent(&self, id: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE mail_outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1")
                    .bind(id)
                    .bind(now())
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            })
        })
        .await
    }

    /// Records a failed attempt: retried at `retry_at`, or given up on when `retry_at` is None.
    pub async fn mail_failed(&self, id: i64, error: String, retry_at: Option<i64>) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?2,
                            status = CASE WHEN ?3 IS NULL THEN 'failed' ELSE 'pending' END,
                            next_attempt_at = COALESCE(?3, next_attempt_at)
                     WHERE id = ?1",
                )
                .bind(id)
                .bind(error)
                .bind(retry_at)
                .execute(&mut *conn)
                .await
                .map(|_| ())
            })
        })
        .await
    }

    /// Records the visitor's withdrawal of consent for one conversation.
    pub async fn withdraw_consent(&self, conversation_id: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE conversations SET consent_withdrawn_at = COALESCE(consent_withdrawn_at, ?2) WHERE id = ?1",
                )
                .bind(conversation_id)
                .bind(now())
                .execute(&mut *conn)
                .await
                .map(|_| ())
            })
        })
        .await
    }
}
