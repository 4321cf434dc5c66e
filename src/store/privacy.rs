//! Published privacy-notice versions and the consent ledger.

use super::{Store, StoreError};
use crate::util::now;

/// One consent of a data subject.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ConsentRow {
    pub id: i64,
    pub purpose: String,
    pub notice_version: String,
    pub given_at: i64,
    pub withdrawn_at: Option<i64>,
    #[serde(skip)]
    pub conversation_id: Option<i64>,
}

impl Store {
    /// Records a notice version if it is new; returns when that version was first published.
    pub async fn publish_privacy_notice(&self, version: String, html: String) -> Result<i64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("INSERT OR IGNORE INTO privacy_notices (version, published_at, html) VALUES (?1, ?2, ?3)")
                    .bind(&version)
                    .bind(now())
                    .bind(html)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query_scalar("SELECT published_at FROM privacy_notices WHERE version = ?1")
                    .bind(version)
                    .fetch_one(&mut *conn)
                    .await
            })
        })
        .await
    }

    /// Every published version, newest first: (version, published at).
    pub async fn privacy_versions(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT version, published_at FROM privacy_notices ORDER BY published_at DESC, version")
            .fetch_all(self.reader())
            .await?)
    }

    /// A subject's consents, oldest first.
    pub async fn consents_of(&self, subject: i64) -> Result<Vec<ConsentRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, purpose, notice_version, given_at, withdrawn_at, conversation_id FROM consents
             WHERE subject_id = ?1 ORDER BY given_at, id",
        )
        .bind(subject)
        .fetch_all(self.reader())
        .await?)
    }
}

/// Records the pre-chat consent of a new conversation (inside its writer transaction).
pub(super) async fn record_chat_consent(
    conn: &mut sqlx::SqliteConnection,
    subject: i64,
    conversation: i64,
    notice_version: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO consents (subject_id, conversation_id, purpose, notice_version, given_at) VALUES (?1, ?2, 'chat', ?3, ?4)",
    )
    .bind(subject)
    .bind(conversation)
    .bind(notice_version)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
