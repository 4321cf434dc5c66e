//! Encrypted backups (DESIGN §5): a `VACUUM INTO` snapshot, encrypted with age to the
//! configured recipients (the appliance holds no identity and cannot read its own backups),
//! with a manifest beside it; retention after each success; verify and restore with an
//! identity file given by the operator. Every run is recorded in `backup_runs`, the audit log
//! and the metrics. The scheduler, the Backups page and `parley backup` share this code.

mod archive;
mod keys;
mod lock;
mod restore;
mod retention;
mod schedule;
mod status;

pub use archive::Manifest;
pub use lock::FileLock;
pub use restore::{Restored, Verified, restore, verify};
pub use retention::Listed;
pub use schedule::{Schedule, scheduler};
pub use status::{FileView, RunView, Status};

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::store::backups::RunOutcome;
use crate::store::{AuditEntry, Store, StoreError};
use crate::telemetry::Metrics;
use crate::util::{now, rfc3339};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "no backup recipients are configured: add at least one age public key (age1…) to backup.recipients. \
         Make the key pair with age-keygen on an offline machine (docs/backups.md)"
    )]
    NoRecipients,
    #[error("backup.recipients: {0}")]
    BadRecipient(String),
    #[error("another backup is running (it holds {0}); wait for it to finish, then try again")]
    Busy(PathBuf),
    #[error("cannot write the backup to {path}: {source}. {hint}")]
    Target { path: PathBuf, source: io::Error, hint: &'static str },
    #[error("cannot take a snapshot of the database: {0}. Check the free space in the data directory")]
    Snapshot(String),
    #[error("cannot encrypt the backup: {0}")]
    Encrypt(String),
    #[error(
        "no manifest {manifest} next to the backup. Copy the .manifest.json file made with the backup \
         into the same directory; without it the backup cannot be checked"
    )]
    ManifestMissing { manifest: PathBuf },
    #[error("the manifest {path} is not a parley backup manifest ({message}); copy it again from the original")]
    ManifestInvalid { path: PathBuf, message: String },
    #[error(
        "{file} is truncated: {actual} bytes, but its manifest says {expected} (an interrupted copy?). \
         Copy it again from the original, or use another backup"
    )]
    Truncated { file: PathBuf, actual: u64, expected: u64 },
    #[error("{file} is damaged: {detail}. Copy it again from the original, or use another backup")]
    Damaged { file: PathBuf, detail: String },
    #[error(
        "cannot use the identity file {path}: {message}. Give the file made by age-keygen (with an AGE-SECRET-KEY-1… line)"
    )]
    Identity { path: PathBuf, message: String },
    #[error(
        "the identity in {identity} cannot decrypt {file}: the backup was encrypted to other keys ({recipients}). \
         Use the identity file that belongs to one of them"
    )]
    WrongIdentity { identity: PathBuf, file: PathBuf, recipients: String },
    #[error("the decrypted database fails PRAGMA integrity_check ({0}); use another backup")]
    Integrity(String),
    #[error(
        "the backup has schema version {found}, newer than this parley binary knows ({known}); \
         install parley {version} or later to restore it"
    )]
    NewerSchema { found: i64, known: i64, version: String },
    #[error(
        "the backup has schema version {0}, from before the erasure ledger (10): restoring it could bring \
         erased people back, so parley does not"
    )]
    TooOld(i64),
    #[error(
        "parley is running on the data directory {0} (it holds serve.lock): stop the service first \
         (systemctl stop parley), or add --force if you are sure nothing is running"
    )]
    ServiceRunning(PathBuf),
    #[error(
        "another parley is already serving from the data directory {0} (it holds serve.lock): \
         stop it first, or give this one its own server.data_dir"
    )]
    AlreadyServing(PathBuf),
    #[error(
        "no key snapshot (parley-YYYYMMDD-HHMMSS.keys.age with its .keys.manifest.json) in {dir}: the backup \
         {file} keeps its data keys apart. Copy the newest key snapshot from the backup directory next to it \
         (docs/backups.md, \"Copying backups off-site\")"
    )]
    KeySnapshotMissing { dir: PathBuf, file: String },
    #[error(
        "the newest key snapshot in {dir} ({newest}) is older than the backup {data}: people added in between \
         would be lost. Copy the key snapshot made with that backup (or a newer one) next to it"
    )]
    KeySnapshotTooOld { dir: PathBuf, newest: String, data: String },
    #[error("`{0}` is not a backup file name: expected parley-YYYYMMDD-HHMMSS.db.age")]
    BadName(String),
    #[error("there is no backup {name} in {dir}; `parley backup list` shows the backups")]
    NotFound { name: String, dir: PathBuf },
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BackupError {
    fn io(what: &'static str, path: &Path, source: io::Error) -> BackupError {
        BackupError::Io { what, path: path.to_owned(), source }
    }
}

/// What started a backup (the `backup_runs.trigger` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Manual,
    Cli,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Cli => "cli",
        }
    }
}

/// Parses one `backup.recipients` entry as an age X25519 public key.
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "`{text}` is not an age X25519 public key: copy the `age1…` line that age-keygen prints as “Public key”"
        )
    })
}

#[derive(Debug)]
struct Settings {
    data_dir: PathBuf,
    dir: PathBuf,
    recipients: Vec<String>,
    schedule: Schedule,
    schedule_text: String,
    keep_last: u32,
    max_age_days: u32,
    key_keep_last: u32,
    key_max_age_days: u32,
}

/// Creates and lists backups of one appliance; cheap to clone.
#[derive(Clone)]
pub struct Backups {
    store: Store,
    metrics: Metrics,
    settings: Arc<Settings>,
}

impl Backups {
    pub fn new(store: Store, config: &Config, metrics: Metrics) -> Backups {
        let settings = Settings {
            data_dir: config.server.data_dir.clone(),
            dir: config.backup_dir(),
            recipients: config.backup.recipients.clone(),
            // Checked when the configuration was loaded.
            schedule: Schedule::parse(&config.backup.schedule).unwrap_or(Schedule::Off),
            schedule_text: config.backup.schedule.clone(),
            keep_last: config.backup.keep_last,
            max_age_days: config.backup.max_age_days,
            key_keep_last: config.backup.key_snapshot_keep_last,
            key_max_age_days: config.backup.key_snapshot_retention_days,
        };
        Backups { store, metrics, settings: Arc::new(settings) }
    }

    pub fn dir(&self) -> &Path {
        &self.settings.dir
    }

    pub fn data_dir(&self) -> &Path {
        &self.settings.data_dir
    }

    pub fn schedule(&self) -> Schedule {
        self.settings.schedule
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Makes a backup into `to` (default: the backup directory; retention applies only there),
    /// records the run and its audit entry (`actor`: user name, `system` or `cli`) and counts
    /// it in the metrics, whether it worked or not.
    pub async fn create(&self, trigger: Trigger, actor: &str, to: Option<PathBuf>) -> Result<RunView, BackupError> {
        let recipients = self.recipients()?;
        let _lock = FileLock::backup(&self.settings.data_dir).await?;
        let dir = to.clone().unwrap_or_else(|| self.settings.dir.clone());
        let (data_dir, target) = (self.settings.data_dir.clone(), dir.clone());
        blocking(move || Ok(retention::remove_leftovers(&data_dir, Some(&target), false))).await?;
        self.store.fail_interrupted_backup_runs().await?;
        let id = self.store.start_backup_run(trigger.as_str()).await?;
        match self.write(&dir, recipients).await {
            Ok(written) => {
                let audit = AuditEntry::new(actor, "backup.create").target(&written.file).details(format!(
                    "{}: {} bytes, sha256 {}, to {}",
                    trigger.as_str(),
                    written.size,
                    written.sha256,
                    dir.display()
                ));
                let outcome =
                    RunOutcome::Ok { file: written.file.clone(), size: written.size, sha256: written.sha256.clone() };
                let row = self.store.finish_backup_run(id, outcome, audit).await?;
                self.metrics.backup_finished(true, row.finished_at);
                tracing::info!(file = %written.file, size = written.size, trigger = trigger.as_str(), "backup written");
                if to.is_none() {
                    self.prune(actor, &written.file).await;
                }
                Ok(row.into())
            }
            Err(err) => {
                let message = err.to_string();
                tracing::warn!(error = %message, trigger = trigger.as_str(), "backup failed");
                self.metrics.backup_finished(false, None);
                let audit = AuditEntry::new(actor, "backup.create.failed")
                    .target(dir.display().to_string())
                    .details(format!("{}: {message}", trigger.as_str()));
                if let Err(store) = self.store.finish_backup_run(id, RunOutcome::Failed(message), audit).await {
                    tracing::error!(error = %store, "cannot record the failed backup");
                }
                Err(err)
            }
        }
    }

    fn recipients(&self) -> Result<Vec<age::x25519::Recipient>, BackupError> {
        if self.settings.recipients.is_empty() {
            return Err(BackupError::NoRecipients);
        }
        self.settings.recipients.iter().map(|r| parse_recipient(r).map_err(BackupError::BadRecipient)).collect()
    }

    async fn write(
        &self,
        dir: &Path,
        recipients: Vec<age::x25519::Recipient>,
    ) -> Result<archive::Written, BackupError> {
        let dir = dir.to_owned();
        let checked = dir.clone();
        blocking(move || archive::prepare_dir(&checked)).await?;
        // The plaintext snapshot stays in the private data directory, never in the backup one.
        let snapshot =
            archive::Scratch::new(self.settings.data_dir.join(format!("backup-snapshot-{}.db", uuid::Uuid::new_v4())));
        // Read before the snapshot, so the snapshot holds at least these entries.
        let audit_head = self.store.audit_head().await?;
        let snapshot_error = |e: StoreError| BackupError::Snapshot(e.to_string());
        self.store.snapshot_into(snapshot.path()).await.map_err(snapshot_error)?;
        // The data keys go into their own key snapshot; the data snapshot is copied once more
        // without them, so no free page of it holds a wrapped key.
        let keys = crate::store::key_snapshot::split_keys(snapshot.path()).await.map_err(snapshot_error)?;
        let keyless =
            archive::Scratch::new(self.settings.data_dir.join(format!("backup-snapshot-{}.db", uuid::Uuid::new_v4())));
        crate::store::key_snapshot::copy_without_free_pages(snapshot.path(), keyless.path())
            .await
            .map_err(snapshot_error)?;
        drop(snapshot);
        let keys = serde_json::to_vec(&keys).map_err(|e| BackupError::Snapshot(e.to_string()))?;
        let schema_version = self.store.schema_version().await?;
        let created = now();
        let manifest = Manifest {
            format: archive::KEYS_APART_FORMAT,
            file: String::new(),
            created_at: rfc3339(created),
            parley_version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version,
            size: 0,
            sha256: String::new(),
            recipients: self.settings.recipients.iter().map(|r| r.trim().to_owned()).collect(),
            audit_head,
        };
        blocking(move || {
            let stem = archive::free_stem(&dir, created);
            // Keys first: a data snapshot is never left without its key snapshot, and the key
            // snapshot goes again if the data snapshot cannot be written.
            let key_manifest = Manifest { file: String::new(), ..manifest.clone() };
            let keys_file = archive::encrypt_keys(&keys, &dir, &stem, &recipients, key_manifest)?;
            let key_files = [
                archive::Scratch::new(dir.join(&keys_file.file)),
                archive::Scratch::new(dir.join(format!("{stem}{}", archive::KEYS_MANIFEST_SUFFIX))),
            ];
            let written = archive::encrypt_to(keyless.path(), &dir, &stem, &recipients, manifest)?;
            key_files.into_iter().for_each(archive::Scratch::keep);
            Ok(written)
        })
        .await
    }

    /// Retention after a successful backup; a failure here is logged and audited, and the new
    /// backup stands.
    async fn prune(&self, actor: &str, keep: &str) {
        let settings = self.settings.clone();
        let keep = keep.to_owned();
        let pruned = blocking(move || {
            let dir = &settings.dir;
            let mut removed = retention::prune(dir, settings.keep_last, settings.max_age_days, now(), &keep)?;
            let keys = keep.replace(archive::SUFFIX, archive::KEYS_SUFFIX);
            removed.extend(keys::prune(dir, settings.key_keep_last, settings.key_max_age_days, now(), &keys)?);
            Ok(removed)
        });
        let (action, details) = match pruned.await {
            Ok(removed) if removed.is_empty() => return,
            Ok(removed) => ("backup.prune", format!("removed {}", removed.join(", "))),
            Err(err) => {
                tracing::warn!(error = %err, "backup retention failed");
                ("backup.prune.failed", err.to_string())
            }
        };
        let entry = AuditEntry::new(actor, action).target(self.settings.dir.display().to_string()).details(details);
        if let Err(err) = self.store.audit(entry).await {
            tracing::error!(error = %err, "cannot audit backup retention");
        }
    }

    /// The backups in the backup directory, newest first.
    pub async fn list(&self) -> Result<Vec<Listed>, BackupError> {
        let dir = self.settings.dir.clone();
        blocking(move || retention::list(&dir)).await
    }

    /// The path and size of backup `name` in the backup directory, for download.
    pub fn file(&self, name: &str) -> Result<(PathBuf, u64), BackupError> {
        if name.contains(['/', '\\']) || archive::parse_name(name).is_none() {
            return Err(BackupError::BadName(name.to_owned()));
        }
        let path = self.settings.dir.join(name);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok((path, meta.len())),
            _ => Err(BackupError::NotFound { name: name.to_owned(), dir: self.settings.dir.clone() }),
        }
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| BackupError::Encrypt(format!("the backup task failed: {e}")))?
}
