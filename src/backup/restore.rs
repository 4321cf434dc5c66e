//! `verify` and `restore`: check a backup against its manifest, decrypt it with the operator's
//! identity file, run `PRAGMA integrity_check`, and (restore) bring it up to this schema, replay
//! the live erasure ledger so people erased after the backup stay erased, audit, and put it in
//! place of `parley.db` with one rename.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sqlx::Connection;

use super::archive::{self, Manifest};
use super::{BackupError, FileLock, blocking};
use crate::store::AuditEntry;
use crate::store::backups::{self as sql, RestoredRun};

/// The first schema with an erasure ledger; older backups are not restored.
const LEDGER_SCHEMA: i64 = 10;

/// A backup that decrypted and passed the checks.
#[derive(Debug, Clone)]
pub struct Verified {
    pub manifest: Manifest,
    /// Size of the decrypted database.
    pub database_size: u64,
    /// The backup needs a newer parley than this one to be restored.
    pub newer_than_binary: bool,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub manifest: Manifest,
    /// Entries of the live erasure ledger carried into the restored database.
    pub ledger_entries: usize,
    /// Subjects in the backup that the ledger erased again.
    pub erased_again: u64,
}

/// A private working directory, removed with everything in it when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create(path: PathBuf) -> Result<WorkDir, BackupError> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| BackupError::io("cannot create the working directory", &path, e))?;
        Ok(WorkDir(path))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(err) = fs::remove_dir_all(&self.0) {
            tracing::warn!(path = %self.0.display(), error = %err, "cannot remove a temporary restore directory");
        }
    }
}

/// Manifest, size and checksum, identity, then decryption into `out`.
async fn decrypt_checked(file: &Path, identity: &Path, out: &Path) -> Result<(Manifest, u64), BackupError> {
    let (file, identity, out) = (file.to_owned(), identity.to_owned(), out.to_owned());
    blocking(move || {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if archive::parse_name(name).is_none() {
            return Err(BackupError::BadName(file.display().to_string()));
        }
        if !file.is_file() {
            let dir = file.parent().unwrap_or(Path::new(".")).to_owned();
            return Err(BackupError::NotFound { name: name.to_owned(), dir });
        }
        let manifest = archive::read_manifest(&file)?;
        archive::check_against_manifest(&file, &manifest)?;
        let identities = archive::load_identities(&identity)?;
        let size = archive::decrypt_to(&file, &identities, &identity, &out, &manifest)?;
        Ok((manifest, size))
    })
    .await
}

/// Integrity check, and the schema the manifest promised.
async fn check_database(conn: &mut sqlx::SqliteConnection, manifest: &Manifest) -> Result<(), BackupError> {
    let problems = sql::integrity_problems(conn).await.map_err(|e| BackupError::Integrity(e.to_string()))?;
    if !problems.is_empty() {
        return Err(BackupError::Integrity(problems.join("; ")));
    }
    let found = sql::schema_version_of(conn).await?;
    if found != manifest.schema_version {
        return Err(BackupError::ManifestInvalid {
            path: PathBuf::from(&manifest.file),
            message: format!("it says schema version {}, the database has {found}", manifest.schema_version),
        });
    }
    Ok(())
}

/// Decrypts `file` with the identities in `identity` into a private temporary directory,
/// checks it against its manifest and with `PRAGMA integrity_check`, and removes the copy.
pub async fn verify(file: &Path, identity: &Path) -> Result<Verified, BackupError> {
    let work = WorkDir::create(std::env::temp_dir().join(format!("parley-verify-{}", uuid::Uuid::new_v4())))?;
    let db = work.0.join("parley.db");
    let (manifest, database_size) = decrypt_checked(file, identity, &db).await?;
    let mut conn = sql::open_file(&db, true).await.map_err(|e| BackupError::Integrity(e.to_string()))?;
    let checked = check_database(&mut conn, &manifest).await;
    conn.close().await.map_err(crate::store::StoreError::from)?;
    checked?;
    let newer_than_binary = manifest.schema_version > crate::store::known_schema_version();
    Ok(Verified { manifest, database_size, newer_than_binary })
}

/// Replaces `<data_dir>/parley.db` with backup `file`, decrypted with `identity`. Refuses while
/// a server holds `serve.lock` (unless `force`), a backup from a newer schema, or one that
/// fails a check; then nothing changes. `actor` goes into the audit entry in the restored
/// database.
pub async fn restore(
    data_dir: &Path,
    file: &Path,
    identity: &Path,
    force: bool,
    actor: &str,
) -> Result<Restored, BackupError> {
    crate::store::prepare_data_dir(data_dir)?;
    let _serve = match FileLock::serve_if_free(data_dir).await? {
        Some(lock) => Some(lock),
        None if force => {
            tracing::warn!(data_dir = %data_dir.display(), "restoring while parley is running (--force)");
            None
        }
        None => return Err(BackupError::ServiceRunning(data_dir.to_owned())),
    };
    let work = WorkDir::create(data_dir.join(format!("restore-{}", uuid::Uuid::new_v4())))?;
    let db = work.0.join("parley.db");
    let (manifest, _) = decrypt_checked(file, identity, &db).await?;
    let mut conn = sql::open_file(&db, false).await.map_err(|e| BackupError::Integrity(e.to_string()))?;
    let prepared = prepare(&mut conn, &db, &manifest, data_dir, actor).await;
    conn.close().await.map_err(crate::store::StoreError::from)?;
    let (ledger_entries, erased_again) = prepared?;
    let live = data_dir.join("parley.db");
    blocking(move || replace(&db, &live)).await?;
    drop(work);
    Ok(Restored { manifest, ledger_entries, erased_again })
}

async fn prepare(
    conn: &mut sqlx::SqliteConnection,
    db: &Path,
    manifest: &Manifest,
    data_dir: &Path,
    actor: &str,
) -> Result<(usize, u64), BackupError> {
    check_database(conn, manifest).await?;
    let known = crate::store::known_schema_version();
    if manifest.schema_version > known {
        let version = manifest.parley_version.clone();
        return Err(BackupError::NewerSchema { found: manifest.schema_version, known, version });
    }
    if manifest.schema_version < LEDGER_SCHEMA {
        return Err(BackupError::TooOld(manifest.schema_version));
    }
    let ledger = sql::read_ledger(&data_dir.join("parley.db")).await?;
    let entries = ledger.len();
    let run = RestoredRun { file: manifest.file.clone(), size: manifest.size, sha256: manifest.sha256.clone() };
    let (actor, file, created) = (actor.to_owned(), manifest.file.clone(), manifest.created_at.clone());
    let erased = sql::prepare_restored(conn, db, ledger, run, move |erased| {
        AuditEntry::new(actor, "backup.restore").target(file).details(format!(
            "backup of {created} restored; {entries} erasure-ledger entries of the replaced database applied, \
             {erased} subjects erased again"
        ))
    })
    .await?;
    Ok((entries, erased))
}

/// Puts the restored file in place of the live database with one rename. The live database's
/// `-wal` and `-shm` go first: they belong to the old file and must not be applied to the new.
fn replace(restored: &Path, live: &Path) -> Result<(), BackupError> {
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = PathBuf::from(format!("{}{suffix}", live.display()));
        match fs::remove_file(&side) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(BackupError::io("cannot remove the old database's", &side, e));
            }
            _ => {}
        }
    }
    fs::rename(restored, live).map_err(|e| BackupError::io("cannot put the restored database in place at", live, e))?;
    if let Some(dir) = live.parent() {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| BackupError::io("cannot sync the data directory", dir, e))?;
    }
    Ok(())
}
