//! The audit log: append-only (triggers refuse UPDATE and DELETE) and chained with HMAC-SHA256
//! under a key wrapped by the KEK, so an edit, an inserted or a removed entry is detected by
//! `verify_chain` and the chain cannot be recomputed from the database file alone; entries
//! written before the key existed (a recorded boundary) stay verifiable as a plain SHA-256
//! prefix. The head (`audit_head`) is anchored outside the database (`service::audit`), which
//! is how deleting the newest entries is detected. Entries hold ids and actions, never
//! personal data.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{Store, StoreError, WriteFuture};
use crate::crypto::Keyring;
use crate::util::now;

/// One thing that happened, by whom (a user name, `system` or `cli`).
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: String,
    pub action: &'static str,
    pub target: Option<String>,
    pub details: Option<String>,
    /// Data subjects (row ids) the entry is about: written into `target` as their public ids
    /// ("subject 3f…", "subjects 3f…,a1…") when the entry is appended, so an audit entry never
    /// names a row id a restore could hand to someone else.
    pub subjects: Vec<i64>,
}

impl AuditEntry {
    pub fn new(actor: impl Into<String>, action: &'static str) -> AuditEntry {
        AuditEntry { actor: actor.into(), action, target: None, details: None, subjects: Vec::new() }
    }

    pub fn target(mut self, target: impl Into<String>) -> AuditEntry {
        self.target = Some(target.into());
        self
    }

    pub fn details(mut self, details: impl Into<String>) -> AuditEntry {
        self.details = Some(details.into());
        self
    }

    /// The entry is about data subject `id`, if any (target "no subject" otherwise).
    pub fn about(self, id: Option<i64>) -> AuditEntry {
        match id {
            Some(id) => self.subject(id),
            None => self.target("no subject"),
        }
    }

    /// The entry is about the subject with public id `public` (one already erased).
    pub(crate) fn named(mut self, public: &str) -> AuditEntry {
        self.subjects.clear();
        self.target(format!("subject {public}"))
    }

    /// The entry is about data subject `id` (target "subject <public id>").
    pub fn subject(self, id: i64) -> AuditEntry {
        self.subjects([id])
    }

    /// The entry is about these data subjects (target "subjects <public id>,…", or "none").
    pub fn subjects(mut self, ids: impl IntoIterator<Item = i64>) -> AuditEntry {
        self.subjects = ids.into_iter().collect();
        if self.subjects.is_empty() {
            self.target = Some("none".to_owned());
        }
        self
    }
}

/// Length of a subject's public id in hex (128 bits).
pub const PUBLIC_ID_HEX: usize = 32;

/// Replaces the row ids in `entry.subjects` with the subjects' public ids in its target. A
/// subject that no longer exists is named `#<row id>` (it cannot be mistaken for a public id).
async fn resolve_subjects(conn: &mut sqlx::SqliteConnection, entry: &mut AuditEntry) -> Result<(), sqlx::Error> {
    if entry.subjects.is_empty() {
        return Ok(());
    }
    let mut names = Vec::with_capacity(entry.subjects.len());
    for id in std::mem::take(&mut entry.subjects) {
        let public = super::erasure::public_id_of(&mut *conn, id).await?;
        names.push(public.unwrap_or_else(|| format!("#{id}")));
    }
    let noun = if names.len() == 1 { "subject" } else { "subjects" };
    entry.target = Some(format!("{noun} {}", names.join(",")));
    Ok(())
}

/// The MAC input of an entry: the previous chain value, the time and each field
/// length-prefixed (so no two entries encode alike).
fn canonical(prev: &[u8], at: i64, actor: &str, action: &str, target: Option<&str>, details: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(prev.len() + 64);
    out.extend_from_slice(prev);
    out.extend_from_slice(&at.to_be_bytes());
    for field in [Some(actor), Some(action), target, details] {
        match field {
            Some(text) => {
                out.push(1);
                out.extend_from_slice(&(text.len() as u64).to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            None => out.push(0),
        }
    }
    out
}

/// Entries before the keyed chain began (written by versions before 0.18): plain SHA-256.
fn legacy_hash(input: &[u8]) -> Vec<u8> {
    Sha256::digest(input).to_vec()
}

/// Entries from the boundary on: HMAC-SHA256 under the audit-chain key (wrapped by the KEK),
/// so file access alone cannot recompute the chain.
fn keyed_hash(ring: &Keyring, input: &[u8]) -> Option<Vec<u8>> {
    let mut data = KEYED_DOMAIN.to_vec();
    data.extend_from_slice(input);
    ring.audit_mac(&data)
}

const KEYED_DOMAIN: &[u8] = b"parley audit chain v2\0";
/// `meta` key of the boundary record: `<first keyed id>.<hex tag>`.
const BOUNDARY_KEY: &str = "audit_keyed_from";
/// What chained entries that were written without the key carry at the end of `details`.
pub const CHAINED_LATER: &str = "[written without the audit key, chained later]";

fn boundary_tag(ring: &Keyring, id: i64) -> Option<String> {
    ring.audit_mac(format!("parley audit boundary v1\0{id}").as_bytes()).map(hex::encode)
}

/// Records that entries from the next id on are keyed (inside the transaction that creates the
/// audit-chain key); the tag makes the record unforgeable without the key.
pub(crate) async fn record_boundary(conn: &mut sqlx::SqliteConnection, ring: &Keyring) -> Result<(), sqlx::Error> {
    let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log").fetch_one(&mut *conn).await?;
    let tag = boundary_tag(ring, next).ok_or_else(|| sqlx::Error::Protocol("the audit key is not loaded".into()))?;
    sqlx::query("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING")
        .bind(BOUNDARY_KEY)
        .bind(format!("{next}.{tag}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

tokio::task_local! {
    /// The keyring of the store a writer job runs for. `Store::write` sets it, so
    /// `append_audit` keys the chain without every caller handing the key down.
    static CHAIN: Arc<Keyring>;
}

/// Runs a writer job with the store's keyring in scope for `append_audit`.
pub(crate) fn scoped<'c, T: 'c>(ring: Option<Arc<Keyring>>, job: WriteFuture<'c, T>) -> WriteFuture<'c, T> {
    match ring {
        Some(ring) => Box::pin(CHAIN.scope(ring, job)),
        None => job,
    }
}

/// Appends inside an open writer transaction. Without the audit key in scope (a command run
/// without the key file, the restore's own connection) the entry waits in `audit_pending`
/// until a process holding the key chains it.
pub(crate) async fn append_audit(conn: &mut sqlx::SqliteConnection, mut entry: AuditEntry) -> Result<(), sqlx::Error> {
    resolve_subjects(conn, &mut entry).await?;
    let ring = CHAIN.try_with(Arc::clone).ok().filter(|ring| ring.has_audit_key());
    let Some(ring) = ring else {
        sqlx::query("INSERT INTO audit_pending (at, actor, action, target, details) VALUES (?1, ?2, ?3, ?4, ?5)")
            .bind(now())
            .bind(entry.actor)
            .bind(entry.action)
            .bind(entry.target)
            .bind(entry.details)
            .execute(&mut *conn)
            .await?;
        return Ok(());
    };
    chain_pending(conn, &ring).await?;
    append_keyed(conn, &ring, now(), &entry.actor, entry.action, entry.target.as_deref(), entry.details.as_deref())
        .await
}

/// Moves entries written without the key into the chain, oldest first (their time kept,
/// `details` marked with `CHAINED_LATER`).
async fn chain_pending(conn: &mut sqlx::SqliteConnection, ring: &Keyring) -> Result<(), sqlx::Error> {
    type Pending = (i64, i64, String, String, Option<String>, Option<String>);
    let pending: Vec<Pending> =
        sqlx::query_as("SELECT id, at, actor, action, target, details FROM audit_pending ORDER BY id LIMIT 1000")
            .fetch_all(&mut *conn)
            .await?;
    for (id, at, actor, action, target, details) in pending {
        let details = match details {
            Some(d) => format!("{d} {CHAINED_LATER}"),
            None => CHAINED_LATER.to_owned(),
        };
        append_keyed(conn, ring, at, &actor, &action, target.as_deref(), Some(&details)).await?;
        sqlx::query("DELETE FROM audit_pending WHERE id = ?1").bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

async fn append_keyed(
    conn: &mut sqlx::SqliteConnection,
    ring: &Keyring,
    at: i64,
    actor: &str,
    action: &str,
    target: Option<&str>,
    details: Option<&str>,
) -> Result<(), sqlx::Error> {
    let prev: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetch_optional(&mut *conn).await?;
    let prev = prev.unwrap_or_else(|| vec![0; 32]);
    let hash = keyed_hash(ring, &canonical(&prev, at, actor, action, target, details))
        .ok_or_else(|| sqlx::Error::Protocol("the audit key is not loaded".into()))?;
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(details)
    .bind(prev)
    .bind(hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The head of the chain: how many entries (the newest id) and the newest chain value. Not
/// secret and no personal data: it goes into backup manifests, the log and the anchor file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditHead {
    pub entries: i64,
    /// Hex.
    pub mac: String,
}

/// What walking the chain found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainReport {
    /// Entries walked.
    pub entries: i64,
    /// Of these, entries before the keyed chain began (plain SHA-256).
    pub legacy: i64,
    /// The first entry that does not fit, if any.
    pub first_bad: Option<i64>,
    /// A problem with the boundary record (altered), if any.
    pub boundary_problem: Option<String>,
    /// Entries written without the key, not chained yet.
    pub pending: i64,
    pub head: Option<AuditHead>,
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

    /// Walks the whole chain; the id of the first entry that does not fit, if any (`Ok` holds
    /// the number of entries).
    pub async fn verify_audit(&self) -> Result<Result<i64, i64>, StoreError> {
        let report = self.verify_chain().await?;
        Ok(match (report.first_bad, &report.boundary_problem) {
            (Some(id), _) => Err(id),
            (None, Some(_)) => Err(1),
            (None, None) => Ok(report.entries),
        })
    }

    /// Walks the whole chain: entries before the recorded boundary as plain SHA-256 (legacy),
    /// the rest as HMAC-SHA256 under the audit key. Needs the keyring.
    pub async fn verify_chain(&self) -> Result<ChainReport, StoreError> {
        type Row = (i64, i64, String, String, Option<String>, Option<String>, Vec<u8>, Vec<u8>);
        let ring = self.keyring()?;
        let (boundary, boundary_problem) = self.boundary(&ring).await?;
        let mut report = ChainReport {
            entries: 0,
            legacy: 0,
            first_bad: None,
            boundary_problem,
            pending: sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending").fetch_one(self.reader()).await?,
            head: None,
        };
        let mut prev = vec![0u8; 32];
        let mut last_id = 0;
        loop {
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, at, actor, action, target, details, prev_hash, hash FROM audit_log
                 WHERE id > ?1 ORDER BY id LIMIT 2000",
            )
            .bind(last_id)
            .fetch_all(self.reader())
            .await?;
            if rows.is_empty() {
                break;
            }
            for (id, at, actor, action, target, details, prev_hash, hash) in rows {
                let input = canonical(&prev, at, &actor, &action, target.as_deref(), details.as_deref());
                let expected = match id < boundary {
                    true => Some(legacy_hash(&input)),
                    false => keyed_hash(&ring, &input),
                };
                if prev_hash != prev || expected.as_ref() != Some(&hash) || id != last_id + 1 {
                    report.first_bad = Some(id);
                    return Ok(report);
                }
                report.entries += 1;
                report.legacy += i64::from(id < boundary);
                report.head = Some(AuditHead { entries: id, mac: hex::encode(&hash) });
                prev = hash;
                last_id = id;
            }
        }
        Ok(report)
    }

    /// The first keyed entry's id and, if the record is altered, what is wrong with it. Without
    /// a valid record every entry must be keyed.
    async fn boundary(&self, ring: &Keyring) -> Result<(i64, Option<String>), StoreError> {
        let stored: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = ?1")
            .bind(BOUNDARY_KEY)
            .fetch_optional(self.reader())
            .await?;
        let Some(stored) = stored else { return Ok((1, None)) };
        let parsed = stored.split_once('.').and_then(|(id, tag)| Some((id.parse::<i64>().ok()?, tag)));
        match parsed {
            Some((id, tag)) if boundary_tag(ring, id).as_deref() == Some(tag) => Ok((id, None)),
            _ => Ok((1, Some("the record of where the keyed chain begins has been altered".into()))),
        }
    }

    /// The head of the chain (None while the log is empty).
    pub async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        let row: Option<(i64, Vec<u8>)> = sqlx::query_as("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(self.reader())
            .await?;
        Ok(row.map(|(entries, hash)| AuditHead { entries, mac: hex::encode(hash) }))
    }

    /// The chain value of entry `id`, hex (None when there is no such entry).
    pub async fn audit_mac_at(&self, id: i64) -> Result<Option<String>, StoreError> {
        let hash: Option<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM audit_log WHERE id = ?1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        Ok(hash.map(hex::encode))
    }

    /// Chains entries that were written without the key now (needs the keyring).
    pub async fn chain_pending_audit(&self) -> Result<(), StoreError> {
        let ring = self.keyring()?;
        self.write(move |conn| Box::pin(async move { chain_pending(conn, &ring).await })).await
    }

    /// Whether a `backup.restore` entry was written at or after `at` (an anchor older than a
    /// restore describes the replaced database).
    pub async fn restored_since(&self, at: i64) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM audit_log WHERE action = 'backup.restore' AND at >= ?1 LIMIT 1")
                .bind(at)
                .fetch_optional(self.reader())
                .await?;
        Ok(found.is_some())
    }
}
