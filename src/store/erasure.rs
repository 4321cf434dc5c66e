//! The erasure ledger: ids of erased data subjects (no personal data). Applying it removes every
//! row of those subjects and their keys; a restore applies the live ledger to the restored
//! database so people erased after the backup stay erased.

use super::{Store, StoreError};

/// Deletes everything of the subjects listed in the ledger that is still present (inside an
/// open transaction); returns how many subjects had something left.
pub async fn apply_ledger(conn: &mut sqlx::SqliteConnection) -> Result<u64, sqlx::Error> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT l.subject_id FROM erasure_ledger l
         WHERE EXISTS (SELECT 1 FROM subjects s WHERE s.id = l.subject_id)
            OR EXISTS (SELECT 1 FROM conversations c WHERE c.subject_id = l.subject_id)
            OR EXISTS (SELECT 1 FROM offline_requests o WHERE o.subject_id = l.subject_id)
            OR EXISTS (SELECT 1 FROM mail_outbox m WHERE m.subject_id = l.subject_id)",
    )
    .fetch_all(&mut *conn)
    .await?;
    for id in &ids {
        erase_subject_rows(conn, *id).await?;
    }
    Ok(ids.len() as u64)
}

/// Whether the data subject `id` exists (inside an open transaction).
pub async fn subject_exists(conn: &mut sqlx::SqliteConnection, id: i64) -> Result<bool, sqlx::Error> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM subjects WHERE id = ?1").bind(id).fetch_optional(&mut *conn).await?;
    Ok(found.is_some())
}

/// Deletes a subject's rows and its wrapped key (messages and notes go with their conversation).
pub async fn erase_subject_rows(conn: &mut sqlx::SqliteConnection, subject_id: i64) -> Result<(), sqlx::Error> {
    for sql in [
        "DELETE FROM consents WHERE subject_id = ?1",
        "DELETE FROM mail_outbox WHERE subject_id = ?1",
        "DELETE FROM offline_requests WHERE subject_id = ?1",
        "DELETE FROM conversations WHERE subject_id = ?1",
        "DELETE FROM subject_index WHERE subject_id = ?1",
        "DELETE FROM subjects WHERE id = ?1",
    ] {
        sqlx::query(sql).bind(subject_id).execute(&mut *conn).await?;
    }
    Ok(())
}

impl Store {
    /// The ledger as (subject id, erased at).
    pub async fn erasure_ledger(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT subject_id, erased_at FROM erasure_ledger ORDER BY subject_id")
            .fetch_all(self.reader())
            .await?)
    }
}

impl Store {
    /// The erasure waiting for a second approver: (requested by, reason).
    pub async fn erasure_request(&self, subject: i64) -> Result<Option<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT requested_by, reason FROM erasure_requests WHERE subject_id = ?1")
            .bind(subject)
            .fetch_optional(self.reader())
            .await?)
    }

    /// Records an erasure request awaiting a second approver, audited in the same transaction;
    /// false when there is no such subject.
    pub async fn request_erasure(
        &self,
        subject: i64,
        by: String,
        reason: String,
        audit: super::AuditEntry,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                if !subject_exists(conn, subject).await? {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO erasure_requests (subject_id, requested_by, reason, requested_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(subject_id) DO NOTHING",
                )
                .bind(subject)
                .bind(by)
                .bind(reason)
                .bind(crate::util::now())
                .execute(&mut *conn)
                .await?;
                super::audit::append_audit(conn, audit).await?;
                Ok(true)
            })
        })
        .await
    }
}
