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

    /// One published version: (published at, the notice's `<main>` content). None if unknown.
    pub async fn privacy_notice(&self, version: &str) -> Result<Option<(i64, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT published_at, html FROM privacy_notices WHERE version = ?1")
            .bind(version)
            .fetch_optional(self.reader())
            .await?)
    }

    /// Every published version, newest first: (version, published at).
    pub async fn privacy_versions(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT version, published_at FROM privacy_notices ORDER BY published_at DESC, version")
            .fetch_all(self.reader())
            .await?)
    }

    /// The consents a withdrawal by the link of conversation `conversation` would act on: its own
    /// `chat` and `marketing` consents and the person's tracking consent, not yet withdrawn.
    pub async fn withdrawable_consents(&self, conversation: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT purpose FROM consents
             WHERE withdrawn_at IS NULL AND (
                 (conversation_id = ?1 AND purpose IN ('chat', 'marketing'))
                 OR (purpose = 'tracking' AND subject_id = (SELECT subject_id FROM conversations WHERE id = ?1)))
             ORDER BY purpose",
        )
        .bind(conversation)
        .fetch_all(self.reader())
        .await?)
    }

    /// Records one consent of the visitor of `conversation` under notice `version`, once (a
    /// repeated request records nothing new).
    pub async fn add_consent(
        &self,
        subject: i64,
        conversation: i64,
        purpose: &'static str,
        version: String,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let known: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM consents WHERE conversation_id = ?1 AND purpose = ?2 AND withdrawn_at IS NULL",
                )
                .bind(conversation)
                .bind(purpose)
                .fetch_optional(&mut *conn)
                .await?;
                if known.is_some() {
                    return Ok(());
                }
                record_consent(conn, subject, Some(conversation), purpose, &version).await
            })
        })
        .await
    }

    /// Withdraws the consents given in one conversation and stops tracking of its visitor (the
    /// withdrawal link); returns the purposes that were live and are now withdrawn.
    pub async fn withdraw_consent(&self, conversation_id: i64) -> Result<Vec<String>, StoreError> {
        let live = self.withdrawable_consents(conversation_id).await?;
        self.write(move |conn| {
            Box::pin(async move {
                let at = now();
                sqlx::query(
                    "UPDATE conversations SET consent_withdrawn_at = COALESCE(consent_withdrawn_at, ?2) WHERE id = ?1",
                )
                .bind(conversation_id)
                .bind(at)
                .execute(&mut *conn)
                .await?;
                sqlx::query("UPDATE consents SET withdrawn_at = COALESCE(withdrawn_at, ?2) WHERE conversation_id = ?1")
                    .bind(conversation_id)
                    .bind(at)
                    .execute(&mut *conn)
                    .await?;
                // Withdrawing stops tracking of the person too.
                super::tracking::refuse_for_conversation(conn, conversation_id).await?;
                Ok(live)
            })
        })
        .await
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

/// Records the purposes agreed to in the pre-chat form of a new conversation, one ledger row
/// each (inside its writer transaction).
pub(super) async fn record_start_consents(
    conn: &mut sqlx::SqliteConnection,
    subject: i64,
    conversation: i64,
    notice_version: &str,
    purposes: &[&'static str],
) -> Result<(), sqlx::Error> {
    for purpose in purposes {
        record_consent(conn, subject, Some(conversation), purpose, notice_version).await?;
    }
    Ok(())
}

/// Records one consent (purpose, notice version, now).
pub(super) async fn record_consent(
    conn: &mut sqlx::SqliteConnection,
    subject: i64,
    conversation: Option<i64>,
    purpose: &str,
    notice_version: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO consents (subject_id, conversation_id, purpose, notice_version, given_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(subject)
    .bind(conversation)
    .bind(purpose)
    .bind(notice_version)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
