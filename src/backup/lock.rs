//! Exclusive locks on files in the data directory: `serve.lock` (held by a running server;
//! a restore refuses to run while it is held) and `backup.lock` (one backup at a time, across
//! processes).

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use super::BackupError;

/// How long a lock held by someone else is retried before giving up. A child process forked
/// by this one (any `Command::spawn`) shares the lock until it runs its program, so a lock
/// just released can look taken for a moment.
const RETRY_FOR: Duration = Duration::from_secs(2);
const RETRY_EVERY: Duration = Duration::from_millis(50);

/// An exclusive lock on a file in the data directory, released when dropped.
#[derive(Debug)]
pub struct FileLock(#[allow(dead_code)] File);

impl FileLock {
    /// `Ok(None)` when another process (or another handle in this one) holds it.
    async fn try_take(path: &Path) -> Result<Option<FileLock>, BackupError> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| BackupError::io("cannot open the lock file", path, e))?;
        let deadline = tokio::time::Instant::now() + RETRY_FOR;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(FileLock(file))),
                Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(RETRY_EVERY).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => return Err(BackupError::io("cannot lock", path, e)),
            }
        }
    }

    /// Held by a running server for its lifetime (`<data_dir>/serve.lock`).
    pub async fn serve(data_dir: &Path) -> Result<FileLock, BackupError> {
        let lock = FileLock::try_take(&data_dir.join("serve.lock")).await?;
        lock.ok_or_else(|| BackupError::AlreadyServing(data_dir.into()))
    }

    /// Taken by a restore so the server cannot start meanwhile; `None` if a server holds it.
    pub async fn serve_if_free(data_dir: &Path) -> Result<Option<FileLock>, BackupError> {
        FileLock::try_take(&data_dir.join("serve.lock")).await
    }

    /// One backup at a time, across processes (`<data_dir>/backup.lock`).
    pub(super) async fn backup(data_dir: &Path) -> Result<FileLock, BackupError> {
        let path = data_dir.join("backup.lock");
        FileLock::try_take(&path).await?.ok_or(BackupError::Busy(path))
    }
}
