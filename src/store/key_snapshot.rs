//! The key snapshot (docs/backups.md, "Data and key snapshots"): a backup's KEK-wrapped data
//! keys and secrets, taken out of the data snapshot and kept apart with short retention. A
//! restore puts the keys of the newest key snapshot into the restored database; a subject whose
//! key is not there was erased since, and goes. So once every key snapshot from before an
//! erasure has expired, an older data snapshot holds that person's ciphertexts with no key.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

use super::StoreError;
use super::erasure::{LedgerEntry, erase_subject_rows, merge_ledger, read_ledger};

/// The layout of the key snapshot's JSON.
pub const KEY_SNAPSHOT_FORMAT: u32 = 1;

/// One subject's wrapped data key.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct SubjectKey {
    pub id: i64,
    pub public_id: String,
    pub created_at: i64,
    pub kek_id: i64,
    /// Hex of the wrapped DEK.
    pub wrapped_dek: String,
}

/// A KEK record (fingerprint only, never the key).
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct KekRecord {
    pub id: i64,
    pub fingerprint: String,
    pub state: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

/// Everything a data snapshot lacks to be readable with the KEK.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeySnapshot {
    pub format: u32,
    pub subjects: Vec<SubjectKey>,
    pub keks: Vec<KekRecord>,
    /// `meta` entries `<name>.<kek id>`: secrets wrapped by a KEK (the blind-index key, …).
    pub secrets: Vec<(String, String)>,
    /// The erasure ledger at the time, so a restore on a new machine knows it too.
    pub ledger: Vec<LedgerEntry>,
}

/// Every `meta` entry named `<name>.<kek id>` is a KEK-wrapped secret (see `put_wrapped_secret`).
const SECRETS: &str = "FROM meta WHERE EXISTS (SELECT 1 FROM keks k WHERE meta.key LIKE '%.' || k.id)";

/// Takes the keys out of the snapshot database at `path` (a `VACUUM INTO` copy, not the live
/// file) and returns them: every wrapped DEK is blanked and the wrapped secrets deleted, with
/// `secure_delete` on. The caller copies the file once more (`VACUUM INTO`) so no free page
/// keeps the old bytes.
pub async fn split_keys(path: &Path) -> Result<KeySnapshot, StoreError> {
    let mut conn = open_scratch(path).await?;
    let mut tx = conn.begin().await?;
    let subjects: Vec<SubjectKey> = sqlx::query_as(
        "SELECT id, public_id, created_at, kek_id, lower(hex(wrapped_dek)) AS wrapped_dek FROM subjects ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let keks: Vec<KekRecord> =
        sqlx::query_as("SELECT id, fingerprint, state, created_at, retired_at FROM keks ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
    let secrets: Vec<(String, String)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT key, value {SECRETS} ORDER BY key")))
            .fetch_all(&mut *tx)
            .await?;
    let ledger = read_ledger(&mut *tx).await?;
    sqlx::query("UPDATE subjects SET wrapped_dek = X''").execute(&mut *tx).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE {SECRETS}"))).execute(&mut *tx).await?;
    tx.commit().await?;
    conn.close().await?;
    Ok(KeySnapshot { format: KEY_SNAPSHOT_FORMAT, subjects, keks, secrets, ledger })
}

/// `VACUUM INTO target`: a fresh copy of the database behind `conn` with no free pages.
pub async fn rewrite_into(conn: &mut SqliteConnection, target: &Path) -> Result<(), StoreError> {
    let target = target
        .to_str()
        .ok_or_else(|| StoreError::Commit(format!("the path {} is not valid UTF-8", target.display())))?;
    sqlx::query("VACUUM INTO ?1").bind(target).execute(&mut *conn).await?;
    Ok(())
}

/// Copies the database file `source` (not the live one) to `target` with `VACUUM INTO`.
pub async fn copy_without_free_pages(source: &Path, target: &Path) -> Result<(), StoreError> {
    let mut conn = open_scratch(source).await?;
    let copied = rewrite_into(&mut conn, target).await;
    conn.close().await?;
    copied
}

/// Opens a scratch copy for writing, with `secure_delete` on.
pub async fn open_scratch(path: &Path) -> Result<SqliteConnection, StoreError> {
    let mut conn = super::backups::open_file(path, false).await?;
    sqlx::query("PRAGMA secure_delete = ON").execute(&mut conn).await?;
    Ok(conn)
}

/// Puts `keys` into a restored database (inside an open transaction): KEK records and wrapped
/// secrets replace the restored ones, each subject gets its wrapped DEK, and every subject left
/// without one is deleted with all its rows. Subjects match by row id and public id; `legacy`
/// (a backup from before public ids, whose ids were just generated) matches by row id and
/// creation time and takes the public id from the key snapshot. Returns how many subjects were
/// left without a key (erased since the data snapshot) and deleted.
pub async fn apply_keys(conn: &mut SqliteConnection, keys: &KeySnapshot, legacy: bool) -> Result<u64, sqlx::Error> {
    for k in &keys.keks {
        sqlx::query(
            "INSERT INTO keks (id, fingerprint, state, created_at, retired_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET fingerprint = ?2, state = ?3, created_at = ?4, retired_at = ?5",
        )
        .bind(k.id)
        .bind(&k.fingerprint)
        .bind(&k.state)
        .bind(k.created_at)
        .bind(k.retired_at)
        .execute(&mut *conn)
        .await?;
    }
    for (key, value) in &keys.secrets {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2")
            .bind(key)
            .bind(value)
            .execute(&mut *conn)
            .await?;
    }
    // Keys of a data snapshot made before the split are no keys of record: the newest key
    // snapshot decides.
    sqlx::query("UPDATE subjects SET wrapped_dek = X''").execute(&mut *conn).await?;
    for s in &keys.subjects {
        let wrapped = hex::decode(&s.wrapped_dek).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let sql = if legacy {
            "UPDATE subjects SET kek_id = ?3, wrapped_dek = ?4, public_id = ?2 WHERE id = ?1 AND created_at = ?5"
        } else {
            "UPDATE subjects SET kek_id = ?3, wrapped_dek = ?4 WHERE id = ?1 AND public_id = ?2"
        };
        sqlx::query(sql)
            .bind(s.id)
            .bind(&s.public_id)
            .bind(s.kek_id)
            .bind(wrapped)
            .bind(s.created_at)
            .execute(&mut *conn)
            .await?;
    }
    let keyless: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM subjects WHERE length(wrapped_dek) = 0").fetch_all(&mut *conn).await?;
    for id in &keyless {
        erase_subject_rows(conn, *id).await?;
    }
    merge_ledger(conn, &keys.ledger).await?;
    Ok(keyless.len() as u64)
}
