//! Tracking consent (the `parley_vid` visitor id), its withdrawal, and objection to profiling.
//! A visitor id is never stored in the clear: it is a blind index that finds the subject.

use sqlx::SqliteConnection;

use super::keys::{find_subject, subject_for};
use super::{Store, StoreError};
use crate::crypto::IndexKind;
use crate::util::now;

/// What the data says about a visitor id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackingState {
    /// Never recorded: no consent on file.
    Unknown,
    /// Consent given and not withdrawn.
    Consented,
    /// Known, but without a live consent (e.g. a site that does not ask).
    Known,
    /// The person withdrew consent or objected: the id must not be used.
    Refused,
}

/// Marks the subject as not to be tracked and withdraws their tracking consents.
async fn refuse(conn: &mut SqliteConnection, subject: i64, at: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE subjects SET no_tracking = 1 WHERE id = ?1").bind(subject).execute(&mut *conn).await?;
    sqlx::query(
        "UPDATE consents SET withdrawn_at = COALESCE(withdrawn_at, ?2) WHERE subject_id = ?1 AND purpose = 'tracking'",
    )
    .bind(subject)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Records that the visitor behind `vid` agreed to tracking under notice `version` (or, with
    /// `None`, that the site tracks without asking). A person who objected stays untracked;
    /// one who only withdrew may agree again. Returns whether tracking may now go ahead.
    pub async fn allow_tracking(&self, vid: String, version: Option<String>) -> Result<bool, StoreError> {
        let keyring = self.keyring()?;
        self.write(move |conn| {
            Box::pin(async move {
                let (subject, _) = subject_for(conn, &keyring, &[(IndexKind::Visitor, vid)]).await?;
                let objects: bool = sqlx::query_scalar("SELECT objects_to_profiling FROM subjects WHERE id = ?1")
                    .bind(subject)
                    .fetch_one(&mut *conn)
                    .await?;
                if objects {
                    return Ok(false);
                }
                if let Some(version) = version {
                    sqlx::query("UPDATE subjects SET no_tracking = 0 WHERE id = ?1")
                        .bind(subject)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(
                        "INSERT INTO consents (subject_id, purpose, notice_version, given_at)
                         VALUES (?1, 'tracking', ?2, ?3)",
                    )
                    .bind(subject)
                    .bind(version)
                    .bind(now())
                    .execute(&mut *conn)
                    .await?;
                    return Ok(true);
                }
                let refused: bool = sqlx::query_scalar("SELECT no_tracking FROM subjects WHERE id = ?1")
                    .bind(subject)
                    .fetch_one(&mut *conn)
                    .await?;
                Ok(!refused)
            })
        })
        .await
    }

    /// The visitor withdrew tracking consent in the widget: recorded, and the id is refused from
    /// now on. False when the id was never recorded.
    pub async fn withdraw_tracking(&self, vid: String) -> Result<bool, StoreError> {
        let keyring = self.keyring()?;
        self.write(move |conn| {
            Box::pin(async move {
                let Some(subject) = find_subject(conn, &keyring, IndexKind::Visitor, &vid).await? else {
                    return Ok(false);
                };
                refuse(conn, subject, now()).await?;
                Ok(true)
            })
        })
        .await
    }

    pub async fn tracking_state(&self, vid: &str) -> Result<TrackingState, StoreError> {
        let keyring = self.keyring()?;
        let mut conn = self.reader().acquire().await?;
        let Some(subject) = find_subject(&mut conn, &keyring, IndexKind::Visitor, vid).await? else {
            return Ok(TrackingState::Unknown);
        };
        let (refused, live): (bool, bool) = sqlx::query_as(
            "SELECT no_tracking OR objects_to_profiling,
                    EXISTS (SELECT 1 FROM consents WHERE subject_id = ?1 AND purpose = 'tracking' AND withdrawn_at IS NULL)
             FROM subjects WHERE id = ?1",
        )
        .bind(subject)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or((false, false));
        Ok(match (refused, live) {
            (true, _) => TrackingState::Refused,
            (false, true) => TrackingState::Consented,
            (false, false) => TrackingState::Known,
        })
    }

    /// Sets or lifts a subject's objection to profiling (which also stops tracking). False when
    /// there is no such subject.
    pub async fn set_objection(&self, subject: i64, objects: bool) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query("UPDATE subjects SET objects_to_profiling = ?2 WHERE id = ?1")
                    .bind(subject)
                    .bind(objects)
                    .execute(&mut *conn)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                if objects {
                    refuse(conn, subject, now()).await?;
                }
                Ok(true)
            })
        })
        .await
    }

    /// (no_tracking, objects_to_profiling) of a subject.
    pub async fn subject_choices(&self, subject: i64) -> Result<Option<(bool, bool)>, StoreError> {
        Ok(sqlx::query_as("SELECT no_tracking, objects_to_profiling FROM subjects WHERE id = ?1")
            .bind(subject)
            .fetch_optional(self.reader())
            .await?)
    }
}

/// Withdrawal through the e-mail link also stops tracking of the conversation's subject.
pub(super) async fn refuse_for_conversation(conn: &mut SqliteConnection, conversation: i64) -> Result<(), sqlx::Error> {
    let subject: Option<i64> = sqlx::query_scalar("SELECT subject_id FROM conversations WHERE id = ?1")
        .bind(conversation)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    if let Some(subject) = subject {
        refuse(conn, subject, now()).await?;
    }
    Ok(())
}
