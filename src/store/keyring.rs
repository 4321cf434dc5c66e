//! Loading the keys a store needs: the key-encryption key (from its file or systemd credential,
//! created on a fresh database, checked against the fingerprints the database remembers), the
//! next KEK of an unfinished rotation, and the named secrets the KEK wraps (blind-index, audit
//! and chat-token keys, `crypto::secrets`). `Store::open_with_keys` is the one way commands
//! and the server open a store with its keys.

use std::path::Path;
use std::sync::Arc;

use super::{KekRow, Store, StoreError};
use crate::config::DatabaseConfig;
use crate::crypto::kek::{create_key, fingerprint, read_key};
use crate::crypto::secrets::{AUDIT, CHAT_TOKEN, INDEX, LEGACY_CLEAR, NAMES};
use crate::crypto::{CryptoError, KekError, KekFile, Keyring};
use crate::telemetry::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Kek(#[from] KekError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CryptoError> for KeyringError {
    fn from(err: CryptoError) -> KeyringError {
        KeyringError::Kek(KekError::Crypto(err))
    }
}

impl Store {
    /// Opens the database in `data_dir` (migrating it) and loads its keys from `source`.
    pub async fn open_with_keys(
        data_dir: &Path,
        database: &DatabaseConfig,
        metrics: Metrics,
        source: &KekFile,
    ) -> Result<(Store, Arc<Keyring>), KeyringError> {
        let store = Store::open(data_dir, database, metrics).await?;
        let keyring = load_keyring(&store, source).await?;
        Ok((store, keyring))
    }
}

/// A rotation that stopped after the database took the new key but before the key file was
/// replaced: the next file holds the current key; finish the swap.
fn finish_interrupted_swap(source: &KekFile, current: Option<&KekRow>) -> Result<(), KekError> {
    let Some(current) = current else { return Ok(()) };
    if source.credential {
        return Ok(());
    }
    let next = source.next_path();
    let matches = |path: &Path| read_key(path).ok().flatten().is_some_and(|k| fingerprint(&k) == current.fingerprint);
    if !matches(&source.path) && matches(&next) {
        std::fs::rename(&next, &source.path)
            .map_err(|e| KekError::Create { path: source.path.clone(), reason: e.to_string() })?;
        tracing::info!(fingerprint = %current.fingerprint, "finished an interrupted key rotation");
    }
    Ok(())
}

fn current(rows: &[KekRow]) -> Option<&KekRow> {
    rows.iter().find(|r| r.state == "current")
}

/// Loads the KEK (creating it on a fresh database), the next KEK of an unfinished rotation, and
/// the named secrets it wraps (`crypto::secrets`); installs the keyring in the store.
pub async fn load_keyring(store: &Store, source: &KekFile) -> Result<Arc<Keyring>, KeyringError> {
    let rows = store.keks().await?;
    finish_interrupted_swap(source, current(&rows))?;
    let key = match (read_key(&source.path)?, current(&rows)) {
        (Some(key), Some(row)) if fingerprint(&key) == row.fingerprint => (row.id, key),
        (Some(key), Some(row)) => {
            return Err(KeyringError::Kek(KekError::Mismatch {
                path: source.path.clone(),
                found: fingerprint(&key),
                expected: row.fingerprint.clone(),
            }));
        }
        (None, Some(row)) => {
            return Err(KeyringError::Kek(KekError::Missing {
                path: source.path.clone(),
                fingerprint: row.fingerprint.clone(),
            }));
        }
        (found, None) => {
            let key = match found {
                Some(key) => key,
                None if source.credential => {
                    return Err(KeyringError::Kek(KekError::Unreadable {
                        path: source.path.clone(),
                        reason: "the systemd credential is empty or missing".into(),
                    }));
                }
                None => {
                    let key = create_key(&source.path)?;
                    tracing::info!(path = %source.path.display(), fingerprint = %fingerprint(&key), "created the key-encryption key");
                    key
                }
            };
            (store.insert_kek(fingerprint(&key), "current").await?, key)
        }
    };
    let (kek_id, kek) = key;
    let secrets = load_secrets(store, kek_id, &kek).await?;
    let keyring = Keyring::new(kek_id, &kek, &secrets.index)?.with_secrets(&secrets.audit, &secrets.chat_token);
    // An unfinished rotation: data keys already moved to the next KEK need it.
    if let Some(next) = rows.iter().find(|r| r.state == "next") {
        let path = source.next_path();
        match read_key(&path)? {
            Some(key) if fingerprint(&key) == next.fingerprint => keyring.add_kek(next.id, &key, false)?,
            _ => {
                return Err(KeyringError::Kek(KekError::Missing { path, fingerprint: next.fingerprint.clone() }));
            }
        }
    }
    keyring.set_source(source.clone());
    let keyring = Arc::new(keyring);
    store.set_keyring(Arc::clone(&keyring));
    Ok(keyring)
}

/// For commands that do not need the keys but write audit entries (`parley user`, `parley
/// backup`): loads the keyring when this database already has a KEK and its key file is
/// readable, so those entries are keyed at once; otherwise (never creating a key) they wait
/// to be chained by the server. Says which.
pub async fn load_keyring_for_audit(store: &Store, source: &KekFile) -> bool {
    match store.keks().await {
        Ok(rows) if !rows.is_empty() => load_keyring(store, source).await.is_ok(),
        _ => false,
    }
}

/// The named secrets, unwrapped.
pub struct Secrets {
    pub index: [u8; 32],
    pub audit: [u8; 32],
    pub chat_token: [u8; 32],
}

fn to_key(name: &str, bytes: Vec<u8>) -> Result<[u8; 32], KeyringError> {
    bytes.try_into().map_err(|_| KeyringError::Kek(KekError::Crypto(CryptoError::Decrypt(format!("{name} length")))))
}

/// Loads every named secret wrapped under KEK `kek_id` (creating the missing ones, wrapping
/// legacy clear copies in place).
async fn load_secrets(store: &Store, kek_id: i64, kek: &[u8; 32]) -> Result<Secrets, KeyringError> {
    let ring = Keyring::new(kek_id, kek, &[0; 32])?;
    Ok(Secrets {
        index: load_one(store, &ring, kek_id, INDEX).await?,
        audit: load_one(store, &ring, kek_id, AUDIT).await?,
        chat_token: load_one(store, &ring, kek_id, CHAT_TOKEN).await?,
    })
}

async fn load_one(store: &Store, ring: &Keyring, kek_id: i64, name: &'static str) -> Result<[u8; 32], KeyringError> {
    if let Some(wrapped) = store.wrapped_secret(name, kek_id).await? {
        return to_key(name, ring.unwrap_secret(kek_id, name, &wrapped)?);
    }
    let clear = match LEGACY_CLEAR.contains(&name) {
        true => store.clear_secret(name).await?,
        false => None,
    };
    let migrating = clear.is_some();
    let bytes = clear.unwrap_or_else(rand::random);
    let wrapped = ring.wrap_secret(kek_id, name, &bytes)?;
    // A fresh audit key starts the keyed chain after the entries already there (legacy).
    let boundary = match name == AUDIT {
        true => Some(Arc::new(Keyring::new(kek_id, &[0; 32], &[0; 32])?.with_secrets(&bytes, &[0; 32]))),
        false => None,
    };
    // Another process may have created it first: what is stored wins.
    let stored = store.put_secret_once(name, kek_id, wrapped, migrating, boundary).await?;
    if migrating {
        // Until the log is checkpointed the file still holds the old page; SQLite's own
        // checkpoints get there later if this one cannot run now (the writer warns).
        store.writer.truncate_wal().await;
        tracing::info!(secret = name, "wrapped a secret kept in clear by an older version; the clear copy is deleted");
    }
    to_key(name, ring.unwrap_secret(kek_id, name, &stored)?)
}

/// Wraps every named secret under KEK `to` too (a rotation; resumable: ones already there are
/// left alone). The keyring must hold both KEKs.
pub async fn wrap_all_under(store: &Store, keyring: &Keyring, from: i64, to: i64) -> Result<(), KeyringError> {
    for name in NAMES {
        if store.wrapped_secret(name, to).await?.is_some() {
            continue;
        }
        let wrapped = store.wrapped_secret(name, from).await?.ok_or(StoreError::NoKeys)?;
        let secret = keyring.unwrap_secret(from, name, &wrapped)?;
        store.put_secret_once(name, to, keyring.wrap_secret(to, name, &secret)?, false, None).await?;
    }
    Ok(())
}
