//! SQLite storage: one writer task that owns every write (group commit), a read-only pool for
//! reads, embedded forward-only migrations. SQL lives in this module's files only.

pub mod about;
pub mod access;
pub mod audit;
pub mod backups;
mod breach;
mod cases;
mod chats;
pub mod credentials;
mod departments;
pub mod directory;
pub mod erasure;
pub mod export;
mod gdpr;
pub mod key_snapshot;
pub mod keyring;
mod keys;
mod mail;
mod notes;
mod offline;
mod ops;
mod privacy;
mod retention;
mod roles;
mod seal;
mod secrets;
mod sessions;
mod sites;
mod tracking;
mod transcripts;
mod users;
mod writer;

pub use audit::{AuditEntry, AuditFilter, AuditHead, AuditRow, ChainReport};
pub use breach::{Affected, subjects_in};
pub use cases::{CaseChange, CaseRow, CaseWrite, NewCase};
pub use chats::{
    Appended, ConversationFilter, ConversationRow, ConversationSummary, MessageRow, NewConversation, NewMessage,
    VisitorContext,
};
pub use departments::{DepartmentRow, NewDepartment};
pub use gdpr::{Erased, Rectification, SubjectChat, SubjectConsent, SubjectData, SubjectMail, SubjectOffline};
pub use keyring::KeyringError;
pub use keys::{KekRow, Sealer};
pub use mail::{MailRow, NewMail};
pub use notes::{CannedRow, NoteRow};
pub use offline::{NewOffline, OfflineRow};
pub use privacy::ConsentRow;
pub use retention::{Cutoffs, Purged};
pub use roles::{RoleDelete, RoleRow, UserChange};
pub use seal::seal_legacy_rows;
pub use sessions::{SessionListRow, SessionRecord, SessionRow};
pub use sites::SiteRow;
pub use tracking::TrackingState;
pub use transcripts::{TranscriptOutcome, TranscriptRules};
pub use users::{NewUser, UserRow};
pub use writer::WriteFuture;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::DatabaseConfig;
use crate::telemetry::Metrics;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the database at {path} has schema version {found}, newer than this parley binary knows ({known}). \
         It was written by a newer parley: install that version again, or restore a backup taken before the upgrade."
    )]
    NewerSchema { path: PathBuf, found: i64, known: i64 },
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("the encryption keys are not loaded")]
    NoKeys,
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    read: SqlitePool,
    writer: writer::WriterHandle,
    path: PathBuf,
    keys: std::sync::Arc<std::sync::RwLock<Option<std::sync::Arc<crate::crypto::Keyring>>>>,
    keep_deleted_bytes: bool,
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/parley.db`, runs migrations, starts the writer.
    pub async fn open(data_dir: &Path, config: &DatabaseConfig, metrics: Metrics) -> Result<Store, StoreError> {
        let path = data_dir.join("parley.db");
        let busy = Duration::from_millis(config.busy_timeout_ms);
        let base = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(busy)
            // Deleted content is overwritten with zeros, so erased bytes do not linger in free
            // pages or cells (with `truncate_wal` after an erasure or a secret wrapped in place,
            // DESIGN §5).
            .pragma("secure_delete", if config.keep_deleted_bytes { "OFF" } else { "ON" })
            .log_statements(tracing::log::LevelFilter::Trace);
        // Another parley process (a `parley user` command next to the service) may be opening
        // the same new database: only one of them creates and migrates it at a time.
        let lock = migration_lock(data_dir).await?;
        let mut conn = base.clone().create_if_missing(true).connect().await?;
        restrict_permissions(&path)?;
        check_schema_not_newer(&mut conn, &path).await?;
        MIGRATOR.run(&mut conn).await?;
        drop(lock);
        let read = SqlitePoolOptions::new()
            .max_connections(config.read_connections)
            .connect_with(base.read_only(true))
            .await?;
        let writer = writer::spawn(conn, config.commit_max_batch, metrics);
        Ok(Store { read, writer, path, keys: Default::default(), keep_deleted_bytes: config.keep_deleted_bytes })
    }

    /// Runs `job` on the writer connection inside a group-committed transaction and returns its
    /// result only after the commit is durable. The job sees this store's keyring, so the audit
    /// entries it appends are keyed (`audit::append_audit`).
    pub async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send + 'static,
    {
        let ring = self.keyring().ok();
        self.writer.write(move |conn| audit::scoped(ring, job(conn))).await
    }

    /// Copies the WAL into `parley.db` and truncates it to zero bytes (after an erasure or a
    /// purge, so no deleted byte stays in `parley.db-wal`); false (logged and counted) when
    /// readers kept it in use through every retry.
    pub async fn truncate_wal(&self) -> bool {
        !self.keep_deleted_bytes && self.writer.truncate_wal().await
    }

    pub fn reader(&self) -> &SqlitePool {
        &self.read
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Proves the database accepts a durable write (used by /readyz).
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        let now = crate::util::now().to_string();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("INSERT INTO meta (key, value) VALUES ('ready_check', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1")
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            })
        })
        .await
    }

    /// Highest migration applied.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(&self.read)
            .await?;
        Ok(version.unwrap_or(0))
    }

    /// Finishes queued writes and closes every connection.
    pub async fn close(&self) {
        self.writer.shutdown().await;
        self.read.close().await;
    }
}

/// An exclusive lock on `<data_dir>/migrate.lock`, held while the schema is created or migrated.
async fn migration_lock(data_dir: &Path) -> Result<std::fs::File, StoreError> {
    let path = data_dir.join("migrate.lock");
    let wrap = |source| StoreError::DataDir { path: path.clone(), source };
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(wrap)?;
    let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| StoreError::Commit(e.to_string()))?
        .map_err(wrap)?;
    Ok(file)
}

/// The newest migration this binary knows.
pub fn known_schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

async fn check_schema_not_newer(conn: &mut SqliteConnection, path: &Path) -> Result<(), StoreError> {
    let has_table: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_one(&mut *conn)
            .await?;
    if has_table == 0 {
        return Ok(());
    }
    let found: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&mut *conn).await?;
    let known = known_schema_version();
    match found {
        Some(found) if found > known => Err(StoreError::NewerSchema { path: path.to_owned(), found, known }),
        _ => Ok(()),
    }
}

fn restrict_permissions(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|source| StoreError::DataDir { path: path.to_owned(), source })
}

/// Ensures the data directory exists and is private to the service user.
pub fn prepare_data_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let wrap = |source| StoreError::DataDir { path: dir.to_owned(), source };
    std::fs::create_dir_all(dir).map_err(wrap)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(wrap)?;
    Ok(())
}

/// Unique-constraint violations become `Conflict`; everything else stays an SQL error.
fn conflict_or(err: sqlx::Error, what: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.to_owned()),
        _ => StoreError::Sql(err),
    }
}
