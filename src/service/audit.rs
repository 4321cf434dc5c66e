//! Anchoring the audit log's head outside the database, and verifying the log against the
//! anchors. The head (entry count + newest chain value) is written to the log (tracing) and to
//! `<data_dir>/audit.anchor` at start, hourly and on shutdown, and into every backup manifest
//! (`backup`). Deleting the newest entries cannot be seen from the chain itself; it shows as a
//! database with fewer entries than, or a different chain value from, an anchor.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::store::{AuditHead, ChainReport, Store, StoreError};
use crate::util::now;

/// The anchor file's name in the data directory (beside the key file by default).
pub const ANCHOR_FILE: &str = "audit.anchor";
/// How often the running server anchors the head (also at start and on shutdown).
const EVERY: Duration = Duration::from_secs(3600);
/// Anchor files and manifests are small; anything bigger is not one.
const MAX_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write the audit anchor {path}: {reason}. Check that the data directory is writable by parley.")]
    Write { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The anchor file's content. No secret, no personal data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Anchor {
    pub format: u32,
    pub entries: i64,
    /// Hex chain value of entry `entries`.
    pub mac: String,
    /// Unix seconds.
    pub written_at: i64,
}

pub fn anchor_path(data_dir: &Path) -> PathBuf {
    data_dir.join(ANCHOR_FILE)
}

fn read_small(path: &Path) -> Result<Option<Vec<u8>>, AuditError> {
    let fail = |e: std::io::Error| AuditError::Read { path: path.to_owned(), reason: e.to_string() };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e)),
    };
    if meta.len() > MAX_BYTES {
        return Err(AuditError::Read { path: path.to_owned(), reason: format!("larger than {MAX_BYTES} bytes") });
    }
    std::fs::read(path).map(Some).map_err(fail)
}

/// The anchor file, if there is one.
pub fn read_anchor(path: &Path) -> Result<Option<Anchor>, AuditError> {
    let Some(bytes) = read_small(path)? else { return Ok(None) };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| AuditError::Read { path: path.to_owned(), reason: format!("not an audit anchor: {e}") })
}

/// The audit head recorded in a backup manifest (`audit_head`), if it has one.
pub fn read_manifest_head(path: &Path) -> Result<Option<AuditHead>, AuditError> {
    let bytes = read_small(path)?
        .ok_or_else(|| AuditError::Read { path: path.to_owned(), reason: "it does not exist".into() })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| AuditError::Read { path: path.to_owned(), reason: format!("not a manifest: {e}") })?;
    match value.get("audit_head") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(head) => serde_json::from_value(head.clone())
            .map(Some)
            .map_err(|e| AuditError::Read { path: path.to_owned(), reason: format!("audit_head: {e}") }),
    }
}

/// Writes the anchor atomically (a temporary file, synced, renamed over the old one), 0600.
fn write_anchor(path: &Path, anchor: &Anchor) -> Result<(), AuditError> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| AuditError::Write { path: path.to_owned(), reason: e.to_string() };
    let mut text = serde_json::to_vec_pretty(anchor).map_err(|e| fail(std::io::Error::other(e)))?;
    text.push(b'\n');
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(fail)
}

/// How an anchor compares with the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// The database has the anchored entry with the anchored chain value.
    Matches,
    /// The database has fewer entries than the anchor: the newest were deleted.
    Truncated,
    /// The anchored entry has another chain value: the log was rewritten.
    Rewritten,
}

pub async fn compare(store: &Store, head: &AuditHead) -> Result<Fit, StoreError> {
    Ok(match store.audit_mac_at(head.entries).await? {
        None => Fit::Truncated,
        Some(mac) if mac == head.mac => Fit::Matches,
        Some(_) => Fit::Rewritten,
    })
}

/// Anchors the head now: into the log, and into the anchor file unless that holds an anchor
/// this database contradicts (then the file is left as evidence and an error is logged; after
/// a restore, the old anchor describes the replaced database and is replaced).
pub async fn anchor(store: &Store, path: &Path, why: &'static str) -> Result<Option<AuditHead>, AuditError> {
    store.chain_pending_audit().await?;
    let Some(head) = store.audit_head().await? else { return Ok(None) };
    tracing::info!(entries = head.entries, mac = %head.mac, why, "audit log head anchored");
    if let Some(old) = read_anchor(path)? {
        let anchored = AuditHead { entries: old.entries, mac: old.mac.clone() };
        match compare(store, &anchored).await? {
            Fit::Matches => {}
            _ if store.restored_since(old.written_at).await? => {
                tracing::warn!(anchored_entries = old.entries, "the audit anchor predates a backup restore; replaced");
            }
            fit => {
                tracing::error!(
                    anchored_entries = old.entries,
                    anchored_mac = %old.mac,
                    entries = head.entries,
                    ?fit,
                    "the audit log does not extend its anchor file: entries were deleted or rewritten. \
                     Run `parley audit verify`; the anchor file is kept as evidence"
                );
                return Ok(Some(head));
            }
        }
    }
    write_anchor(path, &Anchor { format: 1, entries: head.entries, mac: head.mac.clone(), written_at: now() })?;
    Ok(Some(head))
}

/// The anchoring job: at start, every hour, and once more on shutdown.
pub async fn scheduler(store: Store, path: PathBuf, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(EVERY);
    let mut why = "start";
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = crate::shutdown::wait_for_shutdown(&mut shutdown) => true,
        };
        if stopping {
            why = "shutdown";
        }
        if let Err(err) = anchor(&store, &path, why).await {
            tracing::error!(error = %err, why, "audit anchoring failed");
        }
        if stopping {
            return;
        }
        why = "hourly";
    }
}

/// One anchor and how the database compares with it.
#[derive(Debug, Clone, Serialize)]
pub struct AnchorCheck {
    /// Where the anchor came from (a file name).
    pub source: String,
    pub entries: i64,
    pub fit: Fit,
}

/// The chain walk and every anchor compared.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub chain: ChainReport,
    pub anchors: Vec<AnchorCheck>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.chain.first_bad.is_none()
            && self.chain.boundary_problem.is_none()
            && self.anchors.iter().all(|a| a.fit == Fit::Matches)
    }
}

/// Walks the chain and compares it with each anchor (source name, head).
pub async fn verify(store: &Store, anchors: Vec<(String, AuditHead)>) -> Result<Verification, StoreError> {
    let chain = store.verify_chain().await?;
    let mut checks = Vec::with_capacity(anchors.len());
    for (source, head) in anchors {
        let fit = compare(store, &head).await?;
        checks.push(AnchorCheck { source, entries: head.entries, fit });
    }
    Ok(Verification { chain, anchors: checks })
}

/// The check the Audit page runs: the chain, and the head against the anchor file.
pub async fn verify_with_anchor_file(store: &Store, data_dir: &Path) -> Result<Verification, AuditError> {
    let anchors = read_anchor(&anchor_path(data_dir))?
        .map(|a| (ANCHOR_FILE.to_owned(), AuditHead { entries: a.entries, mac: a.mac }))
        .into_iter()
        .collect();
    Ok(verify(store, anchors).await?)
}
