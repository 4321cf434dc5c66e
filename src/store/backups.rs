//! SQL for backups: the `backup_runs` table behind the Backups page, the `VACUUM INTO`
//! snapshot, and the checks and erasure-ledger replay done on a decrypted backup before it
//! replaces the live database (`crate::backup` drives all of it).

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection, FromRow};

use super::audit::{AuditEntry, append_audit};
use super::{Store, StoreError};
use crate::util::now;

/// One backup attempt.
#[derive(Debug, Clone, FromRow)]
pub struct BackupRunRow {
    pub id: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// `schedule`, `manual` (the Backups page) or `cli`.
    pub trigger: String,
    /// `running`, `ok` or `failed`.
    pub status: String,
    pub file: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    Ok { file: String, size: u64, sha256: String },
    Failed(String),
}

/// One row of the erasure ledger, copied from the live database into a restored one.
pub use super::erasure::LedgerEntry as LedgerRow;

/// What the erasure replay and the key snapshot did to a restored database.
#[derive(Debug, Clone, Default)]
pub struct Replayed {
    /// Ledger entries whose subject was in the backup and was erased again (each audited).
    pub erased_again: u64,
    /// Subjects with no key in the key snapshot (erased since it was made): deleted.
    pub keyless_removed: u64,
}

/// The backup a restored database came from. Its snapshot was taken while its own run was
/// still `running`, so the restore records that run as it ended.
#[derive(Debug, Clone)]
pub struct RestoredRun {
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

impl Store {
    /// Records a run as started; returns its id.
    pub async fn start_backup_run(&self, trigger: &'static str) -> Result<i64, StoreError> {
        let at = now();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query_scalar(
                    "INSERT INTO backup_runs (started_at, trigger, status) VALUES (?1, ?2, 'running') RETURNING id",
                )
                .bind(at)
                .bind(trigger)
                .fetch_one(&mut *conn)
                .await
            })
        })
        .await
    }

    /// Records how a run ended and its audit entry, in one transaction.
    pub async fn finish_backup_run(
        &self,
        id: i64,
        outcome: RunOutcome,
        audit: AuditEntry,
    ) -> Result<BackupRunRow, StoreError> {
        let at = now();
        self.write(move |conn| {
            Box::pin(async move {
                let (status, file, size, sha256, error) = match outcome {
                    RunOutcome::Ok { file, size, sha256 } => {
                        ("ok", Some(file), Some(i64::try_from(size).unwrap_or(i64::MAX)), Some(sha256), None)
                    }
                    RunOutcome::Failed(error) => ("failed", None, None, None, Some(error)),
                };
                let row = sqlx::query_as(
                    "UPDATE backup_runs SET finished_at = ?2, status = ?3, file = ?4, size = ?5, sha256 = ?6, error = ?7
                     WHERE id = ?1
                     RETURNING id, started_at, finished_at, trigger, status, file, size, sha256, error",
                )
                .bind(id)
                .bind(at)
                .bind(status)
                .bind(file)
                .bind(size)
                .bind(sha256)
                .bind(error)
                .fetch_one(&mut *conn)
                .await?;
                append_audit(conn, audit).await?;
                Ok(row)
            })
        })
        .await
    }

    /// Marks runs left `running` by a process that stopped mid-backup as failed. Call only while
    /// holding the backup lock (so no run is really in progress).
    pub async fn fail_interrupted_backup_runs(&self) -> Result<u64, StoreError> {
        let at = now();
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE backup_runs SET status = 'failed', finished_at = ?1,
                     error = 'interrupted: parley stopped before the backup finished'
                     WHERE status = 'running'",
                )
                .bind(at)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected())
            })
        })
        .await
    }

    /// The newest runs first, at most `limit`.
    pub async fn backup_runs(&self, limit: i64) -> Result<Vec<BackupRunRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, started_at, finished_at, trigger, status, file, size, sha256, error
             FROM backup_runs ORDER BY id DESC LIMIT ?1",
        )
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    /// When the newest successful backup finished.
    pub async fn last_backup_success(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT MAX(finished_at) FROM backup_runs WHERE status = 'ok'")
            .fetch_one(self.reader())
            .await?)
    }

    /// When the newest run of any kind started.
    pub async fn last_backup_start(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT MAX(started_at) FROM backup_runs").fetch_one(self.reader()).await?)
    }

    /// The newest failed backup, verify or restore in the audit log that no success has
    /// followed, as (at, action, details).
    pub async fn unresolved_backup_failure(&self) -> Result<Option<(i64, String, Option<String>)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT at, action, details FROM audit_log
             WHERE action IN ('backup.create.failed', 'backup.verify.failed', 'backup.restore.failed')
               AND id > COALESCE((SELECT MAX(id) FROM audit_log
                                  WHERE action IN ('backup.create', 'backup.verify', 'backup.restore')), 0)
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(self.reader())
        .await?)
    }

    /// A consistent copy of the live database at `target` (which must not exist), taken on a
    /// read connection while the appliance keeps serving.
    pub async fn snapshot_into(&self, target: &Path) -> Result<(), StoreError> {
        let target = target
            .to_str()
            .ok_or_else(|| StoreError::Commit(format!("the snapshot path {} is not valid UTF-8", target.display())))?;
        let mut conn = self.reader().acquire().await?;
        sqlx::query("VACUUM INTO ?1").bind(target).execute(&mut *conn).await?;
        Ok(())
    }
}

/// Opens a database file that is not the live one (a decrypted backup), without creating it.
pub async fn open_file(path: &Path, read_only: bool) -> Result<SqliteConnection, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .read_only(read_only)
        .foreign_keys(true)
        .log_statements(tracing::log::LevelFilter::Trace);
    let options = if read_only { options } else { options.journal_mode(SqliteJournalMode::Delete) };
    Ok(options.connect().await?)
}

/// `PRAGMA integrity_check`: empty when the database is sound, else SQLite's findings.
pub async fn integrity_problems(conn: &mut SqliteConnection) -> Result<Vec<String>, StoreError> {
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check(20)").fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().filter(|row| row != "ok").collect())
}

/// The highest migration applied to the database behind `conn` (0 if none).
pub async fn schema_version_of(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    let has_table: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_one(&mut *conn)
            .await?;
    if has_table == 0 {
        return Ok(0);
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1").fetch_one(&mut *conn).await?;
    Ok(version.unwrap_or(0))
}

/// The erasure ledger of the database at `path` (the live one), read-only; empty when the file
/// or the table does not exist. A ledger from before public ids (schema < 17) comes back as
/// legacy entries.
pub async fn read_ledger(path: &Path) -> Result<Vec<LedgerRow>, StoreError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut conn = open_file(path, true).await?;
    let columns: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('erasure_ledger')").fetch_all(&mut conn).await?;
    let rows = if columns.iter().any(|c| c == "subject") {
        super::erasure::read_ledger(&mut conn).await?
    } else if columns.iter().any(|c| c == "subject_id") {
        let old: Vec<(i64, i64)> =
            sqlx::query_as("SELECT subject_id, erased_at FROM erasure_ledger ORDER BY subject_id")
                .fetch_all(&mut conn)
                .await?;
        old.into_iter()
            .map(|(id, erased_at)| LedgerRow {
                subject: format!("legacy-{id}"),
                erased_at,
                case_ref: None,
                actor_role: None,
                legacy_row_id: Some(id),
            })
            .collect()
    } else {
        Vec::new()
    };
    conn.close().await?;
    Ok(rows)
}

/// Brings a decrypted backup up to this binary's schema, then in one transaction puts in the
/// keys of the key snapshot (`keys`, with whether the backup predates public ids; subjects
/// without a key go), merges the live erasure ledger into it, erases everyone in the merged
/// ledger who is still present (one `gdpr.erase.reapplied` audit entry each, naming the
/// original erasure), closes the backup's own run and appends `audit`.
pub async fn prepare_restored(
    conn: &mut SqliteConnection,
    path: &Path,
    ledger: Vec<LedgerRow>,
    keys: Option<(&super::key_snapshot::KeySnapshot, bool)>,
    run: RestoredRun,
    actor: &str,
    audit: impl FnOnce(&Replayed) -> AuditEntry,
) -> Result<Replayed, StoreError> {
    super::check_schema_not_newer(conn, path).await?;
    super::MIGRATOR.run(&mut *conn).await?;
    sqlx::query("PRAGMA secure_delete = ON").execute(&mut *conn).await?;
    let mut tx = conn.begin().await?;
    let at = now();
    let file = run.file.clone();
    sqlx::query(
        "UPDATE backup_runs SET status = 'ok', finished_at = ?1, file = ?2, size = ?3, sha256 = ?4
         WHERE id = (SELECT MAX(id) FROM backup_runs WHERE status = 'running')",
    )
    .bind(at)
    .bind(run.file)
    .bind(i64::try_from(run.size).unwrap_or(i64::MAX))
    .bind(run.sha256)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE backup_runs SET status = 'failed', finished_at = ?1,
         error = 'interrupted: parley stopped before the backup finished' WHERE status = 'running'",
    )
    .bind(at)
    .execute(&mut *tx)
    .await?;
    let mut replayed = Replayed::default();
    if let Some((keys, legacy)) = keys {
        replayed.keyless_removed = super::key_snapshot::apply_keys(&mut tx, keys, legacy).await?;
    }
    super::erasure::merge_ledger(&mut tx, &ledger).await?;
    let applied = super::erasure::apply_ledger(&mut tx).await?;
    replayed.erased_again = applied.len() as u64;
    for entry in applied {
        let details = format!(
            "the erasure of {} (case {}, by {}) applied again after restoring {file}",
            crate::util::rfc3339(entry.erased_at),
            entry.case_ref.as_deref().unwrap_or("none"),
            entry.actor_role.as_deref().unwrap_or("unknown role"),
        );
        let reapplied = AuditEntry::new(actor, "gdpr.erase.reapplied").named(&entry.subject).details(details);
        append_audit(&mut tx, reapplied).await?;
    }
    append_audit(&mut tx, audit(&replayed)).await?;
    tx.commit().await?;
    Ok(replayed)
}
