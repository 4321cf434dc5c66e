//! What the Backups page, the API and `parley backup list` show: runs, files, and a warning
//! when administrators should act.

use serde::Serialize;

use super::retention::Listed;
use super::{BackupError, Backups};
use crate::store::backups::BackupRunRow;
use crate::util::{now, rfc3339};

/// One run as the API and the CLI show it.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub trigger: String,
    pub status: String,
    pub file: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
}

impl From<BackupRunRow> for RunView {
    fn from(row: BackupRunRow) -> RunView {
        RunView {
            id: row.id,
            started_at: rfc3339(row.started_at),
            finished_at: row.finished_at.map(rfc3339),
            trigger: row.trigger,
            status: row.status,
            file: row.file,
            size: row.size,
            sha256: row.sha256,
            error: row.error,
        }
    }
}

/// One file in the backup directory.
#[derive(Debug, Clone, Serialize)]
pub struct FileView {
    pub file: String,
    pub size: u64,
    pub created_at: String,
    pub parley_version: Option<String>,
    pub schema_version: Option<i64>,
    pub sha256: Option<String>,
    /// Why it cannot be restored as it is, if so (e.g. no manifest).
    pub problem: Option<String>,
}

impl From<Listed> for FileView {
    fn from(listed: Listed) -> FileView {
        let created_at = listed.manifest.as_ref().map(|m| m.created_at.clone()).unwrap_or_else(|| rfc3339(listed.time));
        FileView {
            file: listed.file,
            size: listed.size,
            created_at,
            parley_version: listed.manifest.as_ref().map(|m| m.parley_version.clone()),
            schema_version: listed.manifest.as_ref().map(|m| m.schema_version),
            sha256: listed.manifest.map(|m| m.sha256),
            problem: listed.problem,
        }
    }
}

/// The Backups page: settings, the last run, a warning for administrators, the files.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub configured: bool,
    pub dir: String,
    pub schedule: String,
    pub keep_last: u32,
    pub max_age_days: u32,
    pub last_run: Option<RunView>,
    pub last_success_at: Option<String>,
    pub warning: Option<String>,
    pub backups: Vec<FileView>,
}

impl Backups {
    /// Everything the Backups page shows.
    pub async fn status(&self) -> Result<Status, BackupError> {
        let last_run = self.store.backup_runs(1).await?.into_iter().next();
        let last_success = self.store.last_backup_success().await?;
        self.metrics.set_backup_last_success(last_success);
        let (backups, unreadable) = match self.list().await {
            Ok(list) => (list.into_iter().map(FileView::from).collect(), None),
            Err(err) => (Vec::new(), Some(format!("The backup directory cannot be read: {err}"))),
        };
        let warning = self.warning(last_run.as_ref(), last_success).await?.or(unreadable);
        Ok(Status {
            configured: !self.settings.recipients.is_empty(),
            dir: self.settings.dir.display().to_string(),
            schedule: self.settings.schedule_text.clone(),
            keep_last: self.settings.keep_last,
            max_age_days: self.settings.max_age_days,
            last_run: last_run.map(RunView::from),
            last_success_at: last_success.map(rfc3339),
            warning,
            backups,
        })
    }

    /// Why administrators should look at backups now, if they should.
    async fn warning(
        &self,
        last_run: Option<&BackupRunRow>,
        last_success: Option<i64>,
    ) -> Result<Option<String>, BackupError> {
        if let Some(run) = last_run.filter(|r| r.status == "failed") {
            let at = rfc3339(run.finished_at.unwrap_or(run.started_at));
            let error = run.error.as_deref().unwrap_or("no reason recorded");
            return Ok(Some(format!("The last backup, at {at}, failed: {error}")));
        }
        if let Some((at, action, details)) = self.store.unresolved_backup_failure().await? {
            let what = action.trim_start_matches("backup.").trim_end_matches(".failed");
            let details = details.unwrap_or_default();
            return Ok(Some(format!("A backup {what} failed at {}: {details}", rfc3339(at))));
        }
        if let (Some(period), Some(at)) = (self.settings.schedule.period_seconds(), last_success)
            && now() - at > 2 * period + 3600
        {
            return Ok(Some(format!("No backup has succeeded since {}; check the schedule and the log", rfc3339(at))));
        }
        Ok(None)
    }
}
