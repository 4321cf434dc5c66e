//! The audit log: append-only (triggers refuse UPDATE and DELETE) and hash-chained, so an edit
//! or a removed entry is detected by `verify_audit`. Entries hold ids and actions, never
//! personal data.

use sha2::{Digest, Sha256};

use super::{Store, StoreError};
use crate::util::now;

/// One thing that happened, by whom (a user name, `system` or `cli`).
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: String,
    pub action: &'static str,
    pub target: Option<String>,
    pub details: Option<String>,
}

impl AuditEntry {
    pub fn new(actor: impl Into<String>, action: &'static str) -> AuditEntry {
        AuditEntry { actor: actor.into(), action, target: None, details: None }
    }

    pub fn target(mut self, target: impl Into<String>) -> AuditEntry {
        self.target = Some(target.into());
        self
    }

    pub fn details(mut self, details: impl Into<String>) -> AuditEntry {
        self.details = Some(details.into());
        self
    }
}

/// SHA-256 over the previous hash and the entry's fields, each length-prefixed.
fn chain_hash(prev: &[u8], at: i64, actor: &str, action: &str, target: Option<&str>, details: Option<&str>) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(at.to_be_bytes());
    for field in [Some(actor), Some(action), target, details] {
        match field {
            Some(text) => {
                hasher.update([1]);
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
            None => hasher.update([0]),
        }
    }
    hasher.finalize().to_vec()
}

/// Appends inside an open writer transaction.
pub(crate) async fn append_audit(conn: &mut sqlx::SqliteConnection, entry: AuditEntry) -> Result<(), sqlx::Error> {
    let prev: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetch_optional(&mut *conn).await?;
    let prev = prev.unwrap_or_else(|| vec![0; 32]);
    let at = now();
    let hash = chain_hash(&prev, at, &entry.actor, entry.action, entry.target.as_deref(), entry.details.as_deref());
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(at)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.target)
    .bind(entry.details)
    .bind(prev)
    .bind(hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Which entries the audit report lists: each `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// From this time on (Unix seconds, inclusive).
    pub from: Option<i64>,
    /// Before this time (Unix seconds, exclusive).
    pub until: Option<i64>,
    /// Exactly this actor (a user name, `system` or `cli`).
    pub actor: Option<String>,
    /// Actions starting with this, e.g. `auth.` or `user.create`.
    pub action_prefix: Option<String>,
}

/// A stored entry, for listing.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub details: Option<String>,
}

impl Store {
    /// Records an audit entry (committed before this returns).
    pub async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.write(move |conn| Box::pin(append_audit(conn, entry))).await
    }

    /// The newest entries first, at most `limit`.
    pub async fn audit_entries(&self, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        Ok(sqlx::query_as("SELECT id, at, actor, action, target, details FROM audit_log ORDER BY id DESC LIMIT ?1")
            .bind(limit)
            .fetch_all(self.reader())
            .await?)
    }

    /// The newest entries first that match `filter`, at most `limit`.
    pub async fn audit_search(&self, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        // A prefix compared with substr, so `_` and `%` in it are plain characters.
        Ok(sqlx::query_as(
            "SELECT id, at, actor, action, target, details FROM audit_log \
             WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2) AND (?3 IS NULL OR actor = ?3) \
               AND (?4 IS NULL OR substr(action, 1, length(?4)) = ?4) \
             ORDER BY id DESC LIMIT ?5",
        )
        .bind(filter.from)
        .bind(filter.until)
        .bind(filter.actor.as_deref())
        .bind(filter.action_prefix.as_deref())
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    /// Walks the whole chain; the id of the first entry that does not fit, if any.
    pub async fn verify_audit(&self) -> Result<Result<i64, i64>, StoreError> {
        type Row = (i64, i64, String, String, Option<String>, Option<String>, Vec<u8>, Vec<u8>);
        let rows: Vec<Row> =
            sqlx::query_as("SELECT id, at, actor, action, target, details, prev_hash, hash FROM audit_log ORDER BY id")
                .fetch_all(self.reader())
                .await?;
        let mut prev = vec![0u8; 32];
        let mut last_id = 0;
        for (id, at, actor, action, target, details, prev_hash, hash) in rows {
            let expected = chain_hash(&prev, at, &actor, &action, target.as_deref(), details.as_deref());
            if prev_hash != prev || hash != expected || id != last_id + 1 {
                return Ok(Err(id));
            }
            prev = hash;
            last_id = id;
        }
        Ok(Ok(last_id))
    }
}
