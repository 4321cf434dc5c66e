//! `verify` and `restore`: check a backup and the newest key snapshot beside it against their
//! manifests, decrypt them with the operator's identity file, run `PRAGMA integrity_check`, and
//! (restore) bring it up to this schema, put in the keys of the key snapshot (subjects without
//! one were erased since and go), replay the live erasure ledger so people erased after the
//! backup stay erased, audit, rewrite the file (`VACUUM INTO`, so no free page of the backup
//! survives) and put it in place of `parley.db` with one rename.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sqlx::Connection;

use super::archive::{self, Manifest};
use super::{BackupError, FileLock, blocking};
use crate::store::AuditEntry;
use crate::store::backups::{self as sql, Replayed, RestoredRun};
use crate::store::key_snapshot::KeySnapshot;

/// The first schema with an erasure ledger; older backups are not restored.
const LEDGER_SCHEMA: i64 = 10;
/// The first schema with subject public ids.
const PUBLIC_ID_SCHEMA: i64 = 17;

/// A backup that decrypted and passed the checks.
#[derive(Debug, Clone)]
pub struct Verified {
    pub manifest: Manifest,
    /// Size of the decrypted database.
    pub database_size: u64,
    /// The backup needs a newer parley than this one to be restored.
    pub newer_than_binary: bool,
    /// The key snapshot a restore would take the keys from (None: the backup has its keys
    /// inside, made before key snapshots), and how many data keys it holds.
    pub key_snapshot: Option<(String, usize)>,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub manifest: Manifest,
    /// Entries of the live erasure ledger carried into the restored database.
    pub ledger_entries: usize,
    /// Subjects in the backup that the ledger erased again.
    pub erased_again: u64,
    /// Subjects in the backup without a key in the key snapshot (erased since it): removed.
    pub keyless_removed: u64,
    /// The key snapshot the keys came from.
    pub key_snapshot: Option<String>,
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

/// The newest key snapshot beside backup `file` (None for a backup with its keys inside and no
/// key snapshot), checked and decrypted.
async fn keys_for(
    file: &Path,
    identity: &Path,
    manifest: &Manifest,
) -> Result<Option<(String, KeySnapshot)>, BackupError> {
    let (file, identity, format) = (file.to_owned(), identity.to_owned(), manifest.format);
    blocking(move || {
        let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned();
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let data_time = archive::parse_name(&name).map(|(_, t)| t).ok_or_else(|| BackupError::BadName(name.clone()))?;
        match super::keys::newest_for(&dir, data_time)? {
            Some(path) => {
                let (_, keys) = super::keys::load(&path, &identity)?;
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                Ok(Some((name, keys)))
            }
            None if format >= archive::KEYS_APART_FORMAT => Err(BackupError::KeySnapshotMissing { dir, file: name }),
            None => Ok(None),
        }
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
    let key_snapshot = keys_for(file, identity, &manifest).await?.map(|(name, keys)| (name, keys.subjects.len()));
    let newer_than_binary = manifest.schema_version > crate::store::known_schema_version();
    Ok(Verified { manifest, database_size, newer_than_binary, key_snapshot })
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
    let keys = keys_for(file, identity, &manifest).await?;
    let mut conn = sql::open_file(&db, false).await.map_err(|e| BackupError::Integrity(e.to_string()))?;
    let prepared = prepare(&mut conn, &db, &manifest, keys.as_ref(), data_dir, actor).await;
    // A fresh file: the rows deleted above leave no free page behind.
    let fresh = work.0.join("rewritten.db");
    let rewritten = match &prepared {
        Ok(_) => crate::store::key_snapshot::rewrite_into(&mut conn, &fresh).await.map_err(BackupError::from),
        Err(_) => Ok(()),
    };
    conn.close().await.map_err(crate::store::StoreError::from)?;
    let (ledger_entries, replayed) = prepared?;
    rewritten?;
    let live = data_dir.join("parley.db");
    blocking(move || replace(&fresh, &live)).await?;
    drop(work);
    Ok(Restored {
        manifest,
        ledger_entries,
        erased_again: replayed.erased_again,
        keyless_removed: replayed.keyless_removed,
        key_snapshot: keys.map(|(name, _)| name),
    })
}

async fn prepare(
    conn: &mut sqlx::SqliteConnection,
    db: &Path,
    manifest: &Manifest,
    keys: Option<&(String, KeySnapshot)>,
    data_dir: &Path,
    actor: &str,
) -> Result<(usize, Replayed), BackupError> {
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
    let (who, file, created) = (actor.to_owned(), manifest.file.clone(), manifest.created_at.clone());
    let key_name = keys.map(|(name, _)| name.clone()).unwrap_or_else(|| "the keys inside the backup".into());
    let legacy = manifest.schema_version < PUBLIC_ID_SCHEMA;
    let keys = keys.map(|(_, k)| (k, legacy));
    let replayed = sql::prepare_restored(conn, db, ledger, keys, run, actor, move |r: &Replayed| {
        AuditEntry::new(who, "backup.restore").target(file).details(format!(
            "backup of {created} restored with keys from {key_name}; {} subjects without a key removed; \
             {entries} erasure-ledger entries of the replaced database applied, {} subjects erased again",
            r.keyless_removed, r.erased_again
        ))
    })
    .await?;
    Ok((entries, replayed))
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
