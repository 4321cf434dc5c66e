//! The e-mail outbox: queued mails survive restarts and are retried with back-off.

use serde::Serialize;
use sqlx::FromRow;

use super::keys::sealer_of;
use super::{Store, StoreError};
use crate::crypto::Keyring;
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
    #[serde(skip)]
    pub subject_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewMail {
    /// Makes a resent request queue the mail once.
    pub client_id: Option<String>,
    pub kind: &'static str,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    /// The data subject the mail is about (address, subject line and body are sealed with
    /// their key); None only for mail about no one.
    pub subject_id: Option<i64>,
}

macro_rules! select_mail {
    ($tail:literal) => {
        concat!(
            "SELECT id, kind, to_addr, subject, body, status, attempts, next_attempt_at, last_error, created_at, sent_at,
                    subject_id
             FROM mail_outbox ",
            $tail
        )
    };
}

/// The mail already queued under the mail's client id (a resent request), if any.
pub(super) async fn queued_before(
    conn: &mut sqlx::SqliteConnection,
    mail: &NewMail,
) -> Result<Option<i64>, sqlx::Error> {
    let Some(client_id) = &mail.client_id else { return Ok(None) };
    sqlx::query_scalar("SELECT id FROM mail_outbox WHERE client_id = ?1").bind(client_id).fetch_optional(conn).await
}

/// Queues a mail inside an open writer transaction; returns its id (the existing one for a
/// resent client id).
pub(super) async fn insert_mail(
    conn: &mut sqlx::SqliteConnection,
    keyring: &Keyring,
    mail: NewMail,
) -> Result<i64, sqlx::Error> {
    if let Some(id) = queued_before(&mut *conn, &mail).await? {
        return Ok(id);
    }
    let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM mail_outbox").fetch_one(&mut *conn).await?;
    let (to, subject, body) = match mail.subject_id {
        Some(subject) => {
            let sealer = sealer_of(&mut *conn, keyring, subject).await?;
            let row = id.to_string();
            (
                sealer.seal("mail_outbox", "to_addr", &row, &mail.to_addr)?,
                sealer.seal("mail_outbox", "subject", &row, &mail.subject)?,
                sealer.seal("mail_outbox", "body", &row, &mail.body)?,
            )
        }
        None => (mail.to_addr, mail.subject, mail.body),
    };
    let now = now();
    sqlx::query(
        "INSERT INTO mail_outbox (id, client_id, kind, to_addr, subject, body, next_attempt_at, created_at, subject_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
    )
    .bind(id)
    .bind(&mail.client_id)
    .bind(mail.kind)
    .bind(to)
    .bind(subject)
    .bind(body)
    .bind(now)
    .bind(mail.subject_id)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

impl Store {
    pub async fn queue_mail(&self, mail: NewMail) -> Result<i64, StoreError> {
        let keyring = self.keyring()?;
        self.write(move |conn| Box::pin(async move { insert_mail(conn, &keyring, mail).await })).await
    }

    /// Decrypts the sealed fields of mails read from the database.
    async fn opened_mail(&self, mut rows: Vec<MailRow>) -> Result<Vec<MailRow>, StoreError> {
        let sealers = self.sealers(rows.iter().filter_map(|r| r.subject_id).collect()).await?;
        for m in &mut rows {
            if let Some(sealer) = m.subject_id.and_then(|s| sealers.get(&s)) {
                let row = m.id.to_string();
                m.to_addr = sealer.open("mail_outbox", "to_addr", &row, &m.to_addr)?;
                m.subject = sealer.open("mail_outbox", "subject", &row, &m.subject)?;
                m.body = sealer.open("mail_outbox", "body", &row, &m.body)?;
            }
        }
        Ok(rows)
    }

    /// Pending mails whose next attempt is due.
    pub async fn due_mail(&self, limit: i64) -> Result<Vec<MailRow>, StoreError> {
        let rows = sqlx::query_as(select_mail!(
            "WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2"
        ))
        .bind(now())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        self.opened_mail(rows).await
    }

    pub async fn recent_mail(&self, limit: i64) -> Result<Vec<MailRow>, StoreError> {
        let rows = sqlx::query_as(select_mail!("ORDER BY created_at DESC, id DESC LIMIT ?1"))
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        self.opened_mail(rows).await
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
}
