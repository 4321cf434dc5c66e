//! Named 32-byte secrets kept in `meta`, each wrapped by the KEK as `<name>.<kek id>`: the
//! blind-index key, the audit-chain key and the chat-token key. Each is created on first use;
//! a copy an older version kept in clear (the chat-token key) is wrapped in place and its clear
//! row deleted in the same transaction; `keys rotate` wraps every one under the next KEK
//! (`wrap_all_under`). So the database file alone yields none of them.

use super::{CryptoError, KekError, Keyring};
use crate::store::{Store, StoreError};

pub const INDEX: &str = "index_key";
pub const AUDIT: &str = "audit_key";
pub const CHAT_TOKEN: &str = "chat_token_key";
/// Every named secret, in the order they are loaded.
pub const NAMES: [&str; 3] = [INDEX, AUDIT, CHAT_TOKEN];
/// Secrets that versions before 0.18 stored in clear under their bare name.
const LEGACY_CLEAR: [&str; 1] = [CHAT_TOKEN];

/// The named secrets, unwrapped.
pub struct Loaded {
    pub index: [u8; 32],
    pub audit: [u8; 32],
    pub chat_token: [u8; 32],
}

fn to_key(name: &str, bytes: Vec<u8>) -> Result<[u8; 32], KekError> {
    bytes.try_into().map_err(|_| KekError::Crypto(CryptoError::Decrypt(format!("{name} length"))))
}

/// Loads every named secret wrapped under KEK `kek_id` (creating the missing ones, wrapping
/// legacy clear copies in place).
pub async fn load(store: &Store, kek_id: i64, kek: &[u8; 32]) -> Result<Loaded, KekError> {
    let ring = Keyring::new(kek_id, kek, &[0; 32])?;
    Ok(Loaded {
        index: load_one(store, &ring, kek_id, INDEX).await?,
        audit: load_one(store, &ring, kek_id, AUDIT).await?,
        chat_token: load_one(store, &ring, kek_id, CHAT_TOKEN).await?,
    })
}

async fn load_one(store: &Store, ring: &Keyring, kek_id: i64, name: &'static str) -> Result<[u8; 32], KekError> {
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
        true => Some(std::sync::Arc::new(Keyring::new(kek_id, &[0; 32], &[0; 32])?.with_secrets(&bytes, &[0; 32]))),
        false => None,
    };
    // Another process may have created it first: what is stored wins.
    let stored = store.put_secret_once(name, kek_id, wrapped, migrating, boundary).await?;
    if migrating {
        // Until the log is checkpointed the file still holds the old page; SQLite's own
        // checkpoints get there later if this one cannot run now.
        if let Err(err) = store.checkpoint_truncate().await {
            tracing::warn!(error = %err, "could not checkpoint after wrapping a secret");
        }
        tracing::info!(secret = name, "wrapped a secret kept in clear by an older version; the clear copy is deleted");
    }
    to_key(name, ring.unwrap_secret(kek_id, name, &stored)?)
}

/// Wraps every named secret under KEK `to` too (a rotation; resumable: ones already there are
/// left alone). The keyring must hold both KEKs.
pub async fn wrap_all_under(store: &Store, keyring: &Keyring, from: i64, to: i64) -> Result<(), KekError> {
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
