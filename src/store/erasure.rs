//! The erasure ledger: the public ids of erased data subjects (no personal data), each with the
//! erasure's time, case reference and the actor's role. Applying it removes every row of those
//! subjects and their keys; a restore applies the live ledger to the restored database so people
//! erased after the backup stay erased. Public ids are random and never reused, so the ledger
//! cannot hit a new person who got an erased person's old row id after a restore.

use super::{Store, StoreError};

/// One erasure as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    /// The subject's public id (`legacy-<row id>` for erasures made before public ids).
    pub subject: String,
    pub erased_at: i64,
    /// The data-subject request (DR-YYYY-NNN) linked to the subject, if any.
    pub case_ref: Option<String>,
    /// The role of who erased (`dpo`, `administrator`, …; `console` for the command line).
    pub actor_role: Option<String>,
    /// Only for legacy entries: the row id, matched only by a subject created no later than
    /// the erasure.
    pub legacy_row_id: Option<i64>,
}

const LEDGER_COLUMNS: &str = "subject, erased_at, case_ref, actor_role, legacy_row_id";

/// The whole ledger (inside a transaction or on any connection).
pub async fn read_ledger(exec: impl sqlx::SqliteExecutor<'_>) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {LEDGER_COLUMNS} FROM erasure_ledger ORDER BY erased_at, subject"
    )))
    .fetch_all(exec)
    .await
}

/// Adds entries the ledger does not have yet (inside an open transaction).
pub async fn merge_ledger(conn: &mut sqlx::SqliteConnection, entries: &[LedgerEntry]) -> Result<(), sqlx::Error> {
    for e in entries {
        sqlx::query(
            "INSERT OR IGNORE INTO erasure_ledger (subject, erased_at, case_ref, actor_role, legacy_row_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&e.subject)
        .bind(e.erased_at)
        .bind(&e.case_ref)
        .bind(&e.actor_role)
        .bind(e.legacy_row_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Deletes everything of the subjects listed in the ledger that are still present (inside an
/// open transaction); returns the entries that had to be applied again.
pub async fn apply_ledger(conn: &mut sqlx::SqliteConnection) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    let found: Vec<(i64, String)> = sqlx::query_as(
        "SELECT s.id, l.subject FROM erasure_ledger l JOIN subjects s
           ON s.public_id = l.subject
           OR (l.legacy_row_id IS NOT NULL AND s.id = l.legacy_row_id AND s.created_at <= l.erased_at)
         ORDER BY l.erased_at, s.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut applied = Vec::new();
    for (id, subject) in found {
        erase_subject_rows(conn, id).await?;
        let entry: LedgerEntry = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {LEDGER_COLUMNS} FROM erasure_ledger WHERE subject = ?1"
        )))
        .bind(subject)
        .fetch_one(&mut *conn)
        .await?;
        applied.push(entry);
    }
    Ok(applied)
}

/// Whether the data subject `id` exists (inside an open transaction).
pub async fn subject_exists(conn: &mut sqlx::SqliteConnection, id: i64) -> Result<bool, sqlx::Error> {
    Ok(public_id_of(conn, id).await?.is_some())
}

/// The public id of subject `id`, if it exists.
pub async fn public_id_of(exec: impl sqlx::SqliteExecutor<'_>, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT public_id FROM subjects WHERE id = ?1").bind(id).fetch_optional(exec).await
}

/// Writes the ledger entry of subject `id` (before its rows go): its public id, now, the
/// newest data-subject request linked to it and the role of `actor` (inside an open
/// transaction). Returns the public id.
pub async fn record_erasure(conn: &mut sqlx::SqliteConnection, id: i64, actor: &str) -> Result<String, sqlx::Error> {
    let public: Option<String> = public_id_of(&mut *conn, id).await?;
    let public = public.ok_or(sqlx::Error::RowNotFound)?;
    let case_ref: Option<String> = sqlx::query_scalar(
        "SELECT reference FROM gdpr_cases WHERE subject_id = ?1
         ORDER BY CASE kind WHEN 'erasure' THEN 0 ELSE 1 END, id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM staff_users WHERE username = ?1")
        .bind(actor)
        .fetch_optional(&mut *conn)
        .await?;
    let role = role.unwrap_or_else(|| if actor.starts_with("cli") { "console".into() } else { "system".into() });
    sqlx::query(
        "INSERT OR IGNORE INTO erasure_ledger (subject, erased_at, case_ref, actor_role) VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(&public)
    .bind(crate::util::now())
    .bind(case_ref)
    .bind(role)
    .execute(&mut *conn)
    .await?;
    Ok(public)
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
    /// The ledger, oldest erasure first.
    pub async fn erasure_ledger(&self) -> Result<Vec<LedgerEntry>, StoreError> {
        Ok(read_ledger(self.reader()).await?)
    }

    /// The public id of subject `id`, if it exists.
    pub async fn subject_public_id(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(public_id_of(self.reader(), id).await?)
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

    /// Records an erasure request awaiting a second approver, audited in the same transaction
    /// (the entry's target becomes `subject <public id>`); false when there is no such subject.
    pub async fn request_erasure(
        &self,
        subject: i64,
        by: String,
        reason: String,
        audit: super::AuditEntry,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let Some(public) = public_id_of(&mut *conn, subject).await? else { return Ok(false) };
                let audit = audit.named(&public);
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
