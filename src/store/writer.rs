//! The single writer task. Jobs queue on a bounded channel; the task takes every job waiting (up
//! to `commit_max_batch`), runs each inside a savepoint of one transaction, commits once, and
//! only then answers each caller — group commit with ack-after-commit.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use sqlx::sqlite::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

use super::StoreError;
use crate::telemetry::Metrics;

/// What a write job returns: a future borrowing the writer connection.
pub type WriteFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

/// Called once the batch's fate is known: `Ok` after a durable commit, `Err` if it failed.
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<
    dyn for<'c> FnOnce(&'c mut SqliteConnection) -> Pin<Box<dyn Future<Output = (bool, Deliver)> + Send + 'c>> + Send,
>;

enum Msg {
    Job(Job),
    /// `PRAGMA wal_checkpoint(TRUNCATE)` outside any transaction; answers whether the WAL was
    /// truncated (false: a reader still used it).
    Checkpoint(oneshot::Sender<Result<bool, String>>),
    Shutdown(oneshot::Sender<()>),
}

#[derive(Clone)]
pub(super) struct WriterHandle {
    tx: mpsc::Sender<Msg>,
    metrics: Metrics,
}

/// Attempts at truncating the WAL before giving up (readers finish within a busy timeout).
const CHECKPOINT_ATTEMPTS: u32 = 5;

const QUEUE: usize = 4096;

pub(super) fn spawn(conn: SqliteConnection, max_batch: usize, metrics: Metrics) -> WriterHandle {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(conn, rx, max_batch.max(1), metrics.clone()));
    WriterHandle { tx, metrics }
}

impl WriterHandle {
    pub(super) async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = job(conn).await;
                let ok = result.is_ok();
                let deliver: Deliver = Box::new(move |commit| {
                    let answer = match (result, commit) {
                        (Err(e), _) => Err(StoreError::Sql(e)),
                        (Ok(_), Err(msg)) => Err(StoreError::Commit(msg)),
                        (Ok(value), Ok(())) => Ok(value),
                    };
                    // The caller may have gone away; the write stands either way.
                    let _ = tx.send(answer);
                });
                (ok, deliver)
            })
        });
        self.tx.send(Msg::Job(job)).await.map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Checkpoints the WAL into the database file and truncates it to zero bytes, after the
    /// writes queued before; retries a few times while readers hold it. When it cannot, logs a
    /// warning, counts `parley_wal_truncate_failures_total` and returns false.
    pub(super) async fn truncate_wal(&self) -> bool {
        for attempt in 1..=CHECKPOINT_ATTEMPTS {
            let (tx, rx) = oneshot::channel();
            if self.tx.send(Msg::Checkpoint(tx)).await.is_err() {
                break;
            }
            match rx.await {
                Ok(Ok(true)) => return true,
                Ok(Ok(false)) => tracing::debug!(attempt, "WAL still in use by a reader; checkpoint again"),
                Ok(Err(err)) => tracing::warn!(error = %err, attempt, "WAL checkpoint failed"),
                Err(_) => break,
            }
            tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt))).await;
        }
        tracing::warn!(
            "the WAL could not be truncated after an erasure, a purge or wrapping a secret; deleted bytes stay in parley.db-wal until the next checkpoint"
        );
        self.metrics.wal_truncate_failed();
        false
    }

    /// Runs every job already queued, then stops the writer and closes its connection.
    pub(super) async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Msg>, max_batch: usize, metrics: Metrics) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    let mut stop: Option<oneshot::Sender<()>> = None;
    let mut checkpoint: Option<oneshot::Sender<Result<bool, String>>> = None;
    while stop.is_none() {
        match rx.recv().await {
            Some(Msg::Job(job)) => batch.push(job),
            Some(Msg::Checkpoint(reply)) => checkpoint = Some(reply),
            Some(Msg::Shutdown(done)) => stop = Some(done),
            None => break,
        }
        while batch.len() < max_batch && stop.is_none() && checkpoint.is_none() {
            match rx.try_recv() {
                Ok(Msg::Job(job)) => batch.push(job),
                Ok(Msg::Checkpoint(reply)) => checkpoint = Some(reply),
                Ok(Msg::Shutdown(done)) => stop = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            commit_batch(&mut conn, &mut batch, &metrics).await;
        }
        if let Some(reply) = checkpoint.take() {
            let _ = reply.send(checkpoint_truncate(&mut conn).await.map_err(|e| e.to_string()));
        }
    }
    // Jobs that raced with the shutdown request still get written.
    rx.close();
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Job(job) => batch.push(job),
            Msg::Checkpoint(reply) => {
                let _ = reply.send(Ok(false));
            }
            Msg::Shutdown(done) => {
                let _ = done.send(());
            }
        }
    }
    if !batch.is_empty() {
        commit_batch(&mut conn, &mut batch, &metrics).await;
    }
    if let Err(err) = sqlx::Connection::close(conn).await {
        tracing::warn!(error = %err, "closing the writer connection failed");
    }
    if let Some(done) = stop {
        let _ = done.send(());
    }
}

async fn commit_batch(conn: &mut SqliteConnection, batch: &mut Vec<Job>, metrics: &Metrics) {
    let started = Instant::now();
    let size = batch.len();
    let mut delivers: Vec<Deliver> = Vec::with_capacity(size);
    let mut succeeded = 0;
    let outcome = async {
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        for job in batch.drain(..) {
            sqlx::query("SAVEPOINT job").execute(&mut *conn).await?;
            let (ok, deliver) = job(conn).await;
            if ok {
                succeeded += 1;
            } else {
                sqlx::query("ROLLBACK TO job").execute(&mut *conn).await?;
            }
            sqlx::query("RELEASE job").execute(&mut *conn).await?;
            delivers.push(deliver);
        }
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        Ok::<(), sqlx::Error>(())
    }
    .await;
    let commit = match outcome {
        Ok(()) => Ok(()),
        Err(err) => {
            tracing::error!(error = %err, jobs = size, "database commit failed");
            if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                tracing::debug!(error = %rollback, "rollback after failed commit");
            }
            Err(err.to_string())
        }
    };
    // Jobs that never ran (the batch failed early) are dropped: their callers see WriterGone.
    batch.clear();
    metrics.record_commit(started.elapsed(), succeeded, commit.is_ok());
    for deliver in delivers {
        deliver(commit.clone());
    }
}

/// `PRAGMA wal_checkpoint(TRUNCATE)`: true when every frame was copied and the WAL truncated.
async fn checkpoint_truncate(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    let (busy, _log, _done): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut *conn).await?;
    Ok(busy == 0)
}
