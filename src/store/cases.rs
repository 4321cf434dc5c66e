//! Data-subject request cases (`gdpr_cases`): references like `DR-2026-001` are numbered per
//! year of receipt inside the writer transaction. Dates are ISO `YYYY-MM-DD` text.

// Dynamic statements are built from this file's constants only.
use sqlx::AssertSqlSafe;

use super::audit::append_audit;
use super::{AuditEntry, Store, StoreError};
use crate::util::now;

/// A stored case.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    pub id: i64,
    pub reference: String,
    pub kind: String,
    pub received_on: String,
    pub deadline: String,
    pub status: String,
    pub subject_id: Option<i64>,
    pub notes: String,
    pub created_by: String,
    pub created_at: i64,
    pub closed_at: Option<i64>,
}

/// A case to open.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub kind: &'static str,
    pub year: i32,
    pub received_on: String,
    pub deadline: String,
    pub subject_id: Option<i64>,
    pub notes: String,
    pub created_by: String,
}

/// Changes to a case; `None` leaves a field alone (`subject_id: Some(None)` unlinks).
#[derive(Debug, Clone, Default)]
pub struct CaseChange {
    pub status: Option<&'static str>,
    pub notes: Option<String>,
    pub subject_id: Option<Option<i64>>,
}

const COLUMNS: &str =
    "id, reference, kind, received_on, deadline, status, subject_id, notes, created_by, created_at, closed_at";

async fn subject_exists(conn: &mut sqlx::SqliteConnection, subject: Option<i64>) -> Result<bool, sqlx::Error> {
    let Some(subject) = subject else { return Ok(true) };
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM subjects WHERE id = ?1").bind(subject).fetch_optional(&mut *conn).await?;
    Ok(found.is_some())
}

/// Audits a written case and reads it back.
async fn finish(
    conn: &mut sqlx::SqliteConnection,
    id: i64,
    reference: &str,
    audit: AuditEntry,
) -> Result<CaseWrite, sqlx::Error> {
    append_audit(conn, audit.target(format!("case {reference}"))).await?;
    let row = sqlx::query_as(AssertSqlSafe(format!("SELECT {COLUMNS} FROM gdpr_cases WHERE id = ?1")))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(CaseWrite::Done(Box::new(row)))
}

/// What a case write found.
#[derive(Debug)]
pub enum CaseWrite {
    Done(Box<CaseRow>),
    UnknownCase,
    UnknownSubject,
}

impl Store {
    /// Cases, open ones first by deadline, then the rest newest first; at most `limit`.
    pub async fn cases(&self, only_open: bool, limit: i64) -> Result<Vec<CaseRow>, StoreError> {
        let filter = if only_open { "WHERE status = 'open'" } else { "" };
        let sql = format!(
            "SELECT {COLUMNS} FROM gdpr_cases {filter}
             ORDER BY status != 'open', CASE status WHEN 'open' THEN deadline END, id DESC LIMIT ?1"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql)).bind(limit).fetch_all(self.reader()).await?)
    }

    /// Opens a case with the next reference of its year, audited with `audit` (target added).
    pub async fn create_case(&self, case: NewCase, audit: AuditEntry) -> Result<CaseWrite, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                if !subject_exists(conn, case.subject_id).await? {
                    return Ok(CaseWrite::UnknownSubject);
                }
                let prefix = format!("DR-{}-", case.year);
                let last: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(CAST(substr(reference, length(?1) + 1) AS INTEGER)) FROM gdpr_cases
                     WHERE reference LIKE ?1 || '%'",
                )
                .bind(&prefix)
                .fetch_one(&mut *conn)
                .await?;
                let reference = format!("{prefix}{:03}", last.unwrap_or(0) + 1);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO gdpr_cases (reference, kind, received_on, deadline, subject_id, notes, created_by, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
                )
                .bind(&reference)
                .bind(case.kind)
                .bind(case.received_on)
                .bind(case.deadline)
                .bind(case.subject_id)
                .bind(case.notes)
                .bind(case.created_by)
                .bind(now())
                .fetch_one(&mut *conn)
                .await?;
                finish(conn, id, &reference, audit).await
            })
        })
        .await
    }

    /// Applies `change` to case `id`, audited with `audit` (target added).
    pub async fn update_case(&self, id: i64, change: CaseChange, audit: AuditEntry) -> Result<CaseWrite, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let reference: Option<String> = sqlx::query_scalar("SELECT reference FROM gdpr_cases WHERE id = ?1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some(reference) = reference else { return Ok(CaseWrite::UnknownCase) };
                if let Some(subject) = change.subject_id {
                    if !subject_exists(conn, subject).await? {
                        return Ok(CaseWrite::UnknownSubject);
                    }
                    sqlx::query("UPDATE gdpr_cases SET subject_id = ?2 WHERE id = ?1")
                        .bind(id)
                        .bind(subject)
                        .execute(&mut *conn)
                        .await?;
                }
                if let Some(notes) = change.notes {
                    sqlx::query("UPDATE gdpr_cases SET notes = ?2 WHERE id = ?1")
                        .bind(id)
                        .bind(notes)
                        .execute(&mut *conn)
                        .await?;
                }
                if let Some(status) = change.status {
                    sqlx::query(
                        "UPDATE gdpr_cases SET status = ?2,
                         closed_at = CASE WHEN ?2 = 'open' THEN NULL ELSE COALESCE(closed_at, ?3) END WHERE id = ?1",
                    )
                    .bind(id)
                    .bind(status)
                    .bind(now())
                    .execute(&mut *conn)
                    .await?;
                }
                finish(conn, id, &reference, audit).await
            })
        })
        .await
    }
}
