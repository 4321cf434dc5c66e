//! Checks before a command opens the database: a missing or empty `parley.db` beside an
//! existing key-encryption key is a lost database, not a new installation, and a file that is
//! not SQLite is a damaged one. Both refuse with the ways on (restore, or `init --force`).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::crypto::KekFile;

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// What the data directory holds, as far as starting is concerned.
#[derive(Debug, PartialEq, Eq)]
pub enum State {
    /// No key and no database: a new installation.
    New,
    /// A database (with or without a key yet): carry on.
    Existing,
    /// A key file but no database, or an empty one.
    Lost { db: PathBuf, kek: PathBuf },
}

/// The database file of a configuration.
pub fn database_file(config: &Config) -> PathBuf {
    config.server.data_dir.join("parley.db")
}

/// Looks at the data directory without changing anything.
pub fn inspect(config: &Config) -> Result<State, String> {
    let db = database_file(config);
    let kek = KekFile::from_config(config);
    // A systemd credential is provisioned before the first start, so it says nothing.
    let key_exists = !kek.credential && std::fs::metadata(&kek.path).is_ok_and(|m| m.len() > 0);
    let length = match std::fs::metadata(&db) {
        Ok(meta) => Some(meta.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(format!("cannot read {}: {e}. Check that parley may read its data directory.", db.display()));
        }
    };
    match length {
        None | Some(0) if key_exists => Ok(State::Lost { db, kek: kek.path }),
        None | Some(0) => Ok(State::New),
        Some(_) => {
            check_header(&db)?;
            Ok(State::Existing)
        }
    }
}

/// Refuses to go on when the database is lost or damaged; commands that open the store call it.
pub fn require_database(config: &Config) -> Result<(), String> {
    match inspect(config)? {
        State::Lost { db, kek } => Err(lost(&db, &kek)),
        State::New | State::Existing => Ok(()),
    }
}

/// The refusal for a lost database, naming both ways on.
pub fn lost(db: &Path, kek: &Path) -> String {
    format!(
        "the database {db} is missing or empty, but the key-encryption key {kek} exists: this is an \
         installation whose data is gone, not a new one, so parley will not start an empty database. \
         Either restore the newest backup: `parley backup restore FILE --identity IDENTITY_FILE` \
         (docs/backups.md, \"Restore drill\"); or start again with no data: `parley init --force` (keeps the old \
         key beside it as {kek}.replaced-<time>).",
        db = db.display(),
        kek = kek.display()
    )
}

fn check_header(db: &Path) -> Result<(), String> {
    let unreadable = |e: std::io::Error| format!("cannot read {}: {e}. Check that parley may read it.", db.display());
    let mut file = std::fs::File::open(db).map_err(unreadable)?;
    let mut header = [0u8; 16];
    match file.read_exact(&mut header) {
        Ok(()) if &header == SQLITE_MAGIC => Ok(()),
        Ok(()) => Err(corrupted(db, "it does not start like an SQLite database")),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(corrupted(db, "it is shorter than an SQLite header"))
        }
        Err(e) => Err(unreadable(e)),
    }
}

/// The refusal for a damaged database.
pub fn corrupted(db: &Path, detail: &str) -> String {
    format!(
        "the database {} is damaged ({detail}). Stop parley and restore the newest backup: \
         `parley backup restore FILE --identity IDENTITY_FILE` (docs/backups.md, \"Restore drill\"); \
         keep the damaged file for investigation.",
        db.display()
    )
}

/// Adds the restore advice to an error that SQLite raised for a damaged file.
pub fn explain(db: &Path, error: String) -> String {
    let lower = error.to_ascii_lowercase();
    if lower.contains("malformed") || lower.contains("not a database") || lower.contains("corrupt") {
        corrupted(db, &error)
    } else {
        error
    }
}

/// Opens the store for a command: the data directory prepared, a lost database refused, a
/// damaged one named as such.
pub async fn open_store(config: &Config) -> Result<crate::store::Store, String> {
    require_database(config)?;
    crate::store::prepare_data_dir(&config.server.data_dir).map_err(|e| e.to_string())?;
    let metrics = crate::telemetry::Metrics::default();
    crate::store::Store::open(&config.server.data_dir, &config.database, metrics)
        .await
        .map_err(|e| explain(&database_file(config), e.to_string()))
}
