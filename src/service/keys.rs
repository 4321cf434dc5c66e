//! Key management: the state of the keys (never their bytes), online KEK rotation that can be
//! resumed after a crash, and the recovery export of the KEK to an escrow age recipient.
//!
//! Rotation: a new KEK is written next to the current one (`<kek_file>.next`) and recorded as
//! `next`; every data key is re-wrapped under it in small transactions (new subjects created
//! meanwhile — by a running server too — are wrapped under `next` straight away); then one
//! transaction makes `next` current and retires the old KEK, and the key file is replaced.
//! Running `rotate` again after a crash carries on where it stopped.

use std::path::Path;

use serde::Serialize;

use crate::crypto::{CryptoError, KekError, KekFile, fingerprint};
use crate::store::{AuditEntry, KekRow, Store, StoreError};
use crate::util::now;

/// Data keys re-wrapped per transaction.
const BATCH: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the key-encryption key comes from a systemd credential ({0}), which parley cannot replace. \
         Rotate by creating a new credential: see docs/operations.md, \"Keys\"."
    )]
    Credential(String),
    #[error("`{0}` is not an age recipient (age1…)")]
    Recipient(String),
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error(transparent)]
    Kek(#[from] KekError),
    #[error(transparent)]
    Keyring(#[from] crate::store::KeyringError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Serialize)]
pub struct KekView {
    pub fingerprint: String,
    pub state: String,
    pub created_at: String,
    pub retired_at: Option<String>,
    /// Data keys wrapped by this KEK now.
    pub data_keys: i64,
}

/// What `keys show` and the Keys page display.
#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    /// The key file, or the systemd credential.
    pub source: String,
    pub credential: bool,
    pub keks: Vec<KekView>,
    /// Data subjects (each with its own data key).
    pub data_keys: i64,
    /// While a rotation runs: data keys already on the next KEK, of all.
    pub rotation: Option<Rotation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    pub done: i64,
    pub total: i64,
}

pub async fn status(store: &Store, source: &KekFile) -> Result<KeyStatus, KeyError> {
    let rows = store.keks().await?;
    let counts = store.data_keys_per_kek().await?;
    let count = |id: i64| counts.iter().find(|(k, _)| *k == id).map(|(_, n)| *n).unwrap_or(0);
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let rotation = rows.iter().find(|r| r.state == "next").map(|next| Rotation { done: count(next.id), total });
    Ok(KeyStatus {
        source: source.path.display().to_string(),
        credential: source.credential,
        keks: rows
            .iter()
            .map(|r| KekView {
                fingerprint: r.fingerprint.clone(),
                state: r.state.clone(),
                created_at: crate::util::rfc3339(r.created_at),
                retired_at: r.retired_at.map(crate::util::rfc3339),
                data_keys: count(r.id),
            })
            .collect(),
        data_keys: total,
        rotation,
    })
}

/// The outcome of a rotation.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub old: String,
    pub new: String,
    pub data_keys: i64,
}

/// Rotates the KEK (or finishes an interrupted rotation). `progress(done, total)` is called
/// after each batch.
pub async fn rotate(
    store: &Store,
    source: &KekFile,
    actor: &str,
    mut progress: impl FnMut(i64, i64),
) -> Result<Rotated, KeyError> {
    if source.credential {
        return Err(KeyError::Credential(source.path.display().to_string()));
    }
    let keyring = store.keyring()?;
    let rows = store.keks().await?;
    let current = rows.iter().find(|r| r.state == "current").cloned().ok_or(StoreError::NoKeys)?;
    let next = match rows.iter().find(|r| r.state == "next") {
        Some(next) => next.clone(),
        None => start(store, source, &current, actor).await?,
    };
    keyring.ensure_kek(next.id, &next.fingerprint)?;
    // The named secrets (blind-index, audit-chain and chat-token keys), wrapped under the next
    // KEK too, before any data key moves.
    crate::store::keyring::wrap_all_under(store, &keyring, current.id, next.id).await?;
    loop {
        let batch = store.data_keys_not_on(next.id, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        let mut rewrapped = Vec::with_capacity(batch.len());
        for (subject, kek_id, fingerprint, wrapped) in batch {
            keyring.ensure_kek(kek_id, &fingerprint)?;
            rewrapped.push((subject, kek_id, keyring.rewrap_dek(subject, kek_id, &wrapped, next.id)?));
        }
        store.store_rewrapped(next.id, rewrapped).await?;
        let counts = store.data_keys_per_kek().await?;
        let done = counts.iter().find(|(k, _)| *k == next.id).map(|(_, n)| *n).unwrap_or(0);
        progress(done, counts.iter().map(|(_, n)| n).sum());
    }
    let data_keys = store
        .finish_rotation(next.id, AuditEntry::new(actor, "keys.rotate.finish").target(next.fingerprint.clone()))
        .await?;
    let next_path = source.next_path();
    std::fs::rename(&next_path, &source.path)
        .map_err(|e| KeyError::Write { path: source.path.display().to_string(), reason: e.to_string() })?;
    sync_parent(&source.path);
    Ok(Rotated { old: current.fingerprint, new: next.fingerprint, data_keys })
}

/// Makes the next KEK: a key file next to the current one (reused if an earlier attempt wrote
/// it but stopped before recording it) and its `next` record.
async fn start(store: &Store, source: &KekFile, current: &KekRow, actor: &str) -> Result<KekRow, KeyError> {
    let path = source.next_path();
    let key = match crate::crypto::kek::read_key(&path)? {
        Some(key) => key,
        None => crate::crypto::kek::create_key(&path)?,
    };
    let print = fingerprint(&key);
    let id = store.insert_kek(print.clone(), "next").await?;
    store
        .audit(
            AuditEntry::new(actor, "keys.rotate.start")
                .target(print.clone())
                .details(format!("from {}", current.fingerprint)),
        )
        .await?;
    Ok(KekRow { id, fingerprint: print, state: "next".into(), created_at: now(), retired_at: None })
}

fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(if dir.as_os_str().is_empty() { Path::new(".") } else { dir })
    {
        let _ = dir.sync_all();
    }
}

/// Writes the current KEK, encrypted to an escrow age recipient, to `out` (never over an
/// existing file). Returns the KEK's fingerprint.
pub async fn export_recovery(
    store: &Store,
    source: &KekFile,
    recipient: &str,
    out: &Path,
    actor: &str,
) -> Result<String, KeyError> {
    let recipient: age::x25519::Recipient =
        recipient.trim().parse().map_err(|_| KeyError::Recipient(recipient.to_owned()))?;
    let key = crate::crypto::kek::read_key(&source.path)?
        .ok_or_else(|| KekError::Unreadable { path: source.path.clone(), reason: "it does not exist".into() })?;
    let print = fingerprint(&key);
    let current = store.keks().await?.into_iter().find(|r| r.state == "current").ok_or(StoreError::NoKeys)?;
    if current.fingerprint != print {
        return Err(
            KekError::Mismatch { path: source.path.clone(), found: print, expected: current.fingerprint }.into()
        );
    }
    let plain = format!("{}\n", hex::encode(key));
    let sealed = age::encrypt(&recipient, plain.as_bytes())
        .map_err(|e| KeyError::Write { path: out.display().to_string(), reason: e.to_string() })?;
    let fail = |e: std::io::Error| KeyError::Write { path: out.display().to_string(), reason: e.to_string() };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(out).map_err(fail)?;
    std::io::Write::write_all(&mut file, &sealed).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    store
        .audit(
            AuditEntry::new(actor, "keys.export_recovery")
                .target(print.clone())
                .details(format!("recipient {recipient}")),
        )
        .await?;
    Ok(print)
}
