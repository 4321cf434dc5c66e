//! Key records and data subjects: KEK fingerprints, wrapped secrets, wrapped data keys, blind
//! indexes, and the `Sealer` that encrypts and decrypts personal fields for the other store
//! modules.

use std::sync::Arc;

use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

use super::{Store, StoreError};
use crate::crypto::{AeadKey, CryptoError, IndexKind, Keyring, field_aad, open_field, seal_field};
use crate::util::now;

#[derive(Debug, Clone, FromRow)]
pub struct KekRow {
    pub id: i64,
    pub fingerprint: String,
    pub state: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

/// Crypto failures inside writer jobs travel as `sqlx::Error` (the writer's error type).
pub(crate) fn crypto(err: CryptoError) -> sqlx::Error {
    sqlx::Error::Encode(Box::new(err))
}

/// Encrypts and decrypts the personal fields of one data subject.
#[derive(Clone)]
pub struct Sealer {
    dek: Arc<AeadKey>,
}

impl Sealer {
    pub fn seal(&self, table: &str, column: &str, row: &str, value: &str) -> Result<String, sqlx::Error> {
        seal_field(&self.dek, &field_aad(table, column, row), value).map_err(crypto)
    }

    pub fn seal_opt(
        &self,
        table: &str,
        column: &str,
        row: &str,
        value: Option<&str>,
    ) -> Result<Option<String>, sqlx::Error> {
        value.map(|v| self.seal(table, column, row, v)).transpose()
    }

    pub fn open(&self, table: &str, column: &str, row: &str, stored: &str) -> Result<String, sqlx::Error> {
        open_field(&self.dek, &field_aad(table, column, row), stored).map_err(crypto)
    }

    pub fn open_opt(
        &self,
        table: &str,
        column: &str,
        row: &str,
        stored: Option<&str>,
    ) -> Result<Option<String>, sqlx::Error> {
        stored.map(|v| self.open(table, column, row, v)).transpose()
    }
}

impl Store {
    pub fn set_keyring(&self, keyring: Arc<Keyring>) {
        if let Ok(mut keys) = self.keys.write() {
            *keys = Some(keyring);
        }
    }

    pub fn keyring(&self) -> Result<Arc<Keyring>, StoreError> {
        self.keys.read().ok().and_then(|k| k.clone()).ok_or(StoreError::NoKeys)
    }

    pub async fn keks(&self) -> Result<Vec<KekRow>, StoreError> {
        Ok(sqlx::query_as("SELECT id, fingerprint, state, created_at, retired_at FROM keks ORDER BY id")
            .fetch_all(self.reader())
            .await?)
    }

    pub async fn insert_kek(&self, fingerprint: String, state: &'static str) -> Result<i64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query_scalar("INSERT INTO keks (fingerprint, state, created_at) VALUES (?1, ?2, ?3) RETURNING id")
                    .bind(fingerprint)
                    .bind(state)
                    .bind(now())
                    .fetch_one(&mut *conn)
                    .await
            })
        })
        .await
    }

    /// A secret wrapped by KEK `kek_id` (kept in `meta` as `<name>.<kek id>`).
    pub async fn wrapped_secret(&self, name: &str, kek_id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let stored: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = ?1")
            .bind(format!("{name}.{kek_id}"))
            .fetch_optional(self.reader())
            .await?;
        stored
            .map(|hex_text| {
                hex::decode(hex_text).map_err(|e| StoreError::Commit(format!("meta {name} is damaged: {e}")))
            })
            .transpose()
    }

    pub async fn put_wrapped_secret(&self, name: &str, kek_id: i64, wrapped: Vec<u8>) -> Result<(), StoreError> {
        let key = format!("{name}.{kek_id}");
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2")
                    .bind(key)
                    .bind(hex::encode(wrapped))
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            })
        })
        .await
    }

    /// The sealer of a subject, for reads.
    pub async fn sealer(&self, subject: i64) -> Result<Sealer, StoreError> {
        let keyring = self.keyring()?;
        Ok(sealer_of(self.reader(), &keyring, subject).await?)
    }

    /// Sealers of several subjects (each unwrapped once), for lists.
    pub async fn sealers(&self, subjects: Vec<i64>) -> Result<std::collections::HashMap<i64, Sealer>, StoreError> {
        let mut out = std::collections::HashMap::new();
        for subject in subjects {
            if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(subject) {
                slot.insert(self.sealer(subject).await?);
            }
        }
        Ok(out)
    }
}

/// The sealer of a subject: its DEK from the cache or unwrapped from the database.
pub async fn sealer_of(exec: impl SqliteExecutor<'_>, keyring: &Keyring, subject: i64) -> Result<Sealer, sqlx::Error> {
    if let Some(dek) = keyring.cached_dek(subject) {
        return Ok(Sealer { dek });
    }
    let (kek_id, wrapped, fingerprint): (i64, Vec<u8>, String) = sqlx::query_as(
        "SELECT s.kek_id, s.wrapped_dek, k.fingerprint FROM subjects s JOIN keks k ON k.id = s.kek_id WHERE s.id = ?1",
    )
    .bind(subject)
    .fetch_one(exec)
    .await?;
    // A rotation in another process may have moved this key to a KEK we have not loaded yet.
    keyring.ensure_kek(kek_id, &fingerprint).map_err(crypto)?;
    Ok(Sealer { dek: keyring.unwrap_dek(subject, kek_id, &wrapped).map_err(crypto)? })
}

/// Creates a data subject with a fresh DEK (inside a writer transaction).
pub async fn new_subject(conn: &mut SqliteConnection, keyring: &Keyring) -> Result<(i64, Sealer), sqlx::Error> {
    // The next KEK while a rotation runs (so nothing new is left behind on the old one), else
    // the current one — read in this transaction, as another process may be rotating.
    let (kek_id, fingerprint): (i64, String) = sqlx::query_as(
        "SELECT id, fingerprint FROM keks WHERE state IN ('next', 'current')
         ORDER BY CASE state WHEN 'next' THEN 0 ELSE 1 END LIMIT 1",
    )
    .fetch_one(&mut *conn)
    .await?;
    keyring.ensure_kek(kek_id, &fingerprint).map_err(crypto)?;
    // A random 128-bit public id: never reused, even when a restore brings back an older row
    // id counter (the erasure ledger and audit entries name subjects by it).
    let public_id = hex::encode(rand::random::<[u8; 16]>());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO subjects (kek_id, wrapped_dek, created_at, public_id) VALUES (?1, X'', ?2, ?3) RETURNING id",
    )
    .bind(kek_id)
    .bind(now())
    .bind(public_id)
    .fetch_one(&mut *conn)
    .await?;
    let (wrapped, dek) = keyring.new_dek(id, kek_id).map_err(crypto)?;
    sqlx::query("UPDATE subjects SET kek_id = ?2, wrapped_dek = ?3 WHERE id = ?1")
        .bind(id)
        .bind(kek_id)
        .bind(wrapped)
        .execute(&mut *conn)
        .await?;
    Ok((id, Sealer { dek }))
}

/// The most recent subject with this blind-indexed value, if any.
pub async fn find_subject(
    conn: &mut SqliteConnection,
    keyring: &Keyring,
    kind: IndexKind,
    value: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT subject_id FROM subject_index WHERE kind = ?1 AND digest = ?2 ORDER BY subject_id DESC LIMIT 1",
    )
    .bind(kind.as_str())
    .bind(keyring.blind(kind, value))
    .fetch_optional(&mut *conn)
    .await
}

/// Records blind indexes of a subject's values (empty values are skipped).
pub async fn index_subject(
    conn: &mut SqliteConnection,
    keyring: &Keyring,
    subject: i64,
    values: &[(IndexKind, String)],
) -> Result<(), sqlx::Error> {
    for (kind, value) in values {
        if kind.normalise(value).is_empty() {
            continue;
        }
        sqlx::query("INSERT OR IGNORE INTO subject_index (kind, digest, subject_id) VALUES (?1, ?2, ?3)")
            .bind(kind.as_str())
            .bind(keyring.blind(*kind, value))
            .bind(subject)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The subject for a visitor: the one already known by any of the identifying values (visitor
/// key first, then e-mail), else a new one; the values are indexed for it.
pub async fn subject_for(
    conn: &mut SqliteConnection,
    keyring: &Keyring,
    values: &[(IndexKind, String)],
) -> Result<(i64, Sealer), sqlx::Error> {
    let mut known = None;
    for kind in [IndexKind::Visitor, IndexKind::Email] {
        for (k, v) in values.iter().filter(|(k, _)| *k == kind) {
            if known.is_none() {
                known = find_subject(conn, keyring, *k, v).await?;
            }
        }
    }
    let (id, sealer) = match known {
        Some(id) => (id, sealer_of(&mut *conn, keyring, id).await?),
        None => new_subject(conn, keyring).await?,
    };
    index_subject(conn, keyring, id, values).await?;
    Ok((id, sealer))
}

impl Store {
    /// (KEK id, data keys it wraps).
    pub async fn data_keys_per_kek(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT kek_id, COUNT(*) FROM subjects GROUP BY kek_id").fetch_all(self.reader()).await?)
    }

    /// Up to `limit` data keys not yet wrapped by KEK `kek_id`: (subject, KEK id, its
    /// fingerprint, wrapped key).
    pub async fn data_keys_not_on(
        &self,
        kek_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64, String, Vec<u8>)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.id, s.kek_id, k.fingerprint, s.wrapped_dek FROM subjects s JOIN keks k ON k.id = s.kek_id
             WHERE s.kek_id != ?1 ORDER BY s.id LIMIT ?2",
        )
        .bind(kek_id)
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    /// Stores re-wrapped data keys (each only if it is still wrapped by the KEK it was read
    /// under).
    pub async fn store_rewrapped(&self, kek_id: i64, keys: Vec<(i64, i64, Vec<u8>)>) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                for (subject, old, wrapped) in keys {
                    sqlx::query("UPDATE subjects SET kek_id = ?2, wrapped_dek = ?3 WHERE id = ?1 AND kek_id = ?4")
                        .bind(subject)
                        .bind(kek_id)
                        .bind(wrapped)
                        .bind(old)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Makes KEK `next` current and retires the old one, if every data key is on `next`;
    /// returns the number of data keys. Fails (changing nothing) when some are not.
    pub async fn finish_rotation(&self, next: i64, audit: super::AuditEntry) -> Result<i64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subjects WHERE kek_id != ?1")
                    .bind(next)
                    .fetch_one(&mut *conn)
                    .await?;
                if left > 0 {
                    return Err(sqlx::Error::Protocol(format!("{left} data keys are not re-wrapped yet; run again")));
                }
                let old: Vec<i64> = sqlx::query_scalar(
                    "UPDATE keks SET state = 'retired', retired_at = ?1 WHERE state = 'current' RETURNING id",
                )
                .bind(now())
                .fetch_all(&mut *conn)
                .await?;
                sqlx::query("UPDATE keks SET state = 'current' WHERE id = ?1").bind(next).execute(&mut *conn).await?;
                for id in old {
                    for name in crate::crypto::secrets::NAMES {
                        sqlx::query("DELETE FROM meta WHERE key = ?1")
                            .bind(format!("{name}.{id}"))
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                super::audit::append_audit(conn, audit).await?;
                sqlx::query_scalar("SELECT COUNT(*) FROM subjects").fetch_one(&mut *conn).await
            })
        })
        .await
    }
}
