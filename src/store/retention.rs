//! Retention purges: closed chats (with their messages and notes), offline messages and sent or
//! failed e-mails older than a cut-off, deleted in batches inside writer transactions. A data
//! subject left with no rows at all loses their key and blind indexes (not the erasure ledger:
//! that is for erasure requests).

use std::collections::BTreeSet;

// Every dynamic statement below is built from this file's constants only.
use sqlx::AssertSqlSafe;

use super::{AuditEntry, Store, StoreError};

/// Rows older than these Unix times expire; `None` keeps the category forever.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cutoffs {
    pub chats: Option<i64>,
    pub offline: Option<i64>,
    pub mail: Option<i64>,
}

/// Rows that expired (preview) or were deleted (purge), by category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Purged {
    pub chats: u64,
    pub offline_requests: u64,
    pub mails: u64,
    /// Data subjects with nothing left, whose keys were (or, in a preview, would be) destroyed.
    pub subjects: u64,
}

/// Closed chats by when they closed; offline messages by when they were done, open ones by
/// when they arrived; e-mails that are no longer pending by when they were queued.
const CHATS: &str = "FROM conversations WHERE status = 'closed' AND COALESCE(closed_at, created_at) < ?1";
const OFFLINE: &str = "FROM offline_requests WHERE CASE status WHEN 'done' THEN COALESCE(done_at, created_at) \
                       ELSE created_at END < ?1";
const MAIL: &str = "FROM mail_outbox WHERE status IN ('sent', 'failed') AND created_at < ?1";

const BATCH: i64 = 500;

async fn count(pool: &sqlx::SqlitePool, from: &str, cutoff: Option<i64>) -> Result<u64, StoreError> {
    let Some(cutoff) = cutoff else { return Ok(0) };
    let n: i64 =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) {from}"))).bind(cutoff).fetch_one(pool).await?;
    Ok(n as u64)
}

/// Deletes up to `BATCH` expired rows of one category; their subjects go into `touched`.
async fn delete_batch(
    conn: &mut sqlx::SqliteConnection,
    table: &str,
    from: &str,
    cutoff: i64,
    touched: &mut BTreeSet<i64>,
) -> Result<u64, sqlx::Error> {
    let rows: Vec<(i64, Option<i64>)> =
        sqlx::query_as(AssertSqlSafe(format!("SELECT id, subject_id {from} ORDER BY id LIMIT ?2")))
            .bind(cutoff)
            .bind(BATCH)
            .fetch_all(&mut *conn)
            .await?;
    for (id, subject) in &rows {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE id = ?1"))).bind(id).execute(&mut *conn).await?;
        touched.extend(subject);
    }
    Ok(rows.len() as u64)
}

/// Deletes the key and indexes of each subject that has no rows left; returns their ids.
async fn drop_empty_subjects(
    conn: &mut sqlx::SqliteConnection,
    touched: BTreeSet<i64>,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut dropped = Vec::new();
    for subject in touched {
        let left: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM conversations WHERE subject_id = ?1)
                  + (SELECT COUNT(*) FROM offline_requests WHERE subject_id = ?1)
                  + (SELECT COUNT(*) FROM mail_outbox WHERE subject_id = ?1)",
        )
        .bind(subject)
        .fetch_one(&mut *conn)
        .await?;
        if left == 0 {
            sqlx::query("DELETE FROM subject_index WHERE subject_id = ?1").bind(subject).execute(&mut *conn).await?;
            sqlx::query("DELETE FROM subjects WHERE id = ?1").bind(subject).execute(&mut *conn).await?;
            dropped.push(subject);
        }
    }
    Ok(dropped)
}

/// Subjects a purge would leave with nothing (the rule of `drop_empty_subjects`): some row of
/// theirs expires and none of their rows stays. A category kept forever expires nothing.
async fn count_emptied_subjects(pool: &sqlx::SqlitePool, cutoffs: Cutoffs) -> Result<u64, StoreError> {
    let (chats, offline, mail) = (CHATS, OFFLINE.replace("?1", "?2"), MAIL.replace("?1", "?3"));
    let sql = format!(
        "SELECT COUNT(*) FROM subjects s
         WHERE s.id IN (SELECT subject_id {chats} UNION SELECT subject_id {offline} UNION SELECT subject_id {mail})
           AND NOT EXISTS (SELECT 1 FROM conversations k WHERE k.subject_id = s.id AND k.id NOT IN (SELECT id {chats}))
           AND NOT EXISTS (SELECT 1 FROM offline_requests k WHERE k.subject_id = s.id AND k.id NOT IN (SELECT id {offline}))
           AND NOT EXISTS (SELECT 1 FROM mail_outbox k WHERE k.subject_id = s.id AND k.id NOT IN (SELECT id {mail}))"
    );
    let never = |cutoff: Option<i64>| cutoff.unwrap_or(i64::MIN);
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(never(cutoffs.chats))
        .bind(never(cutoffs.offline))
        .bind(never(cutoffs.mail))
        .fetch_one(pool)
        .await?;
    Ok(n as u64)
}

impl Store {
    /// How many rows a purge with these cut-offs would delete now, and how many subjects it
    /// would leave with nothing (so their keys would go).
    pub async fn retention_preview(&self, cutoffs: Cutoffs) -> Result<Purged, StoreError> {
        Ok(Purged {
            chats: count(self.reader(), CHATS, cutoffs.chats).await?,
            offline_requests: count(self.reader(), OFFLINE, cutoffs.offline).await?,
            mails: count(self.reader(), MAIL, cutoffs.mail).await?,
            subjects: count_emptied_subjects(self.reader(), cutoffs).await?,
        })
    }

    /// Deletes every expired row, one writer transaction per batch, then records `audit` with
    /// the counts as details and truncates the WAL (so the deleted bytes leave the data directory).
    pub async fn retention_purge(&self, cutoffs: Cutoffs, audit: AuditEntry) -> Result<Purged, StoreError> {
        let mut total = Purged::default();
        loop {
            let (batch, dropped) = self
                .write(move |conn| {
                    Box::pin(async move {
                        let mut touched = BTreeSet::new();
                        let mut batch = Purged::default();
                        if let Some(cut) = cutoffs.chats {
                            batch.chats = delete_batch(conn, "conversations", CHATS, cut, &mut touched).await?;
                        }
                        if let Some(cut) = cutoffs.offline {
                            batch.offline_requests =
                                delete_batch(conn, "offline_requests", OFFLINE, cut, &mut touched).await?;
                        }
                        if let Some(cut) = cutoffs.mail {
                            batch.mails = delete_batch(conn, "mail_outbox", MAIL, cut, &mut touched).await?;
                        }
                        let dropped = drop_empty_subjects(conn, touched).await?;
                        batch.subjects = dropped.len() as u64;
                        Ok((batch, dropped))
                    })
                })
                .await?;
            if let Ok(keyring) = self.keyring() {
                for subject in dropped {
                    keyring.forget(subject);
                }
            }
            total.chats += batch.chats;
            total.offline_requests += batch.offline_requests;
            total.mails += batch.mails;
            total.subjects += batch.subjects;
            if batch.chats + batch.offline_requests + batch.mails == 0 {
                break;
            }
        }
        let details = format!(
            "chats {}, offline_requests {}, mails {}, subjects {}",
            total.chats, total.offline_requests, total.mails, total.subjects
        );
        self.audit(audit.details(details)).await?;
        if total.chats + total.offline_requests + total.mails > 0 {
            self.truncate_wal().await;
        }
        Ok(total)
    }
}
