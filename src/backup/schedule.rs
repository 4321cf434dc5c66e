//! `backup.schedule`: "" (off), "daily HH:MM" (UK time) or "every N hours" (1–168), and the
//! task that runs scheduled backups inside the server until it shuts down.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use super::retention::remove_leftovers;
use super::{Backups, FileLock, Trigger};
use crate::config::Config;
use crate::service::hours::{from_uk_local, uk_local};
use crate::shutdown::wait_for_shutdown;
use crate::store::Store;
use crate::telemetry::Metrics;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Off,
    /// Minutes after UK midnight.
    Daily {
        minute: u16,
    },
    Every {
        hours: u32,
    },
}

/// The scheduler looks again at least this often (the last-success metric is refreshed then,
/// which also picks up backups made with `parley backup create`).
const REFRESH: Duration = Duration::from_secs(600);
/// Least time between two scheduled attempts, whatever happened.
const PAUSE: Duration = Duration::from_secs(60);
/// A daily backup missed by more than this (the server was off) runs at start.
const DAILY_CATCH_UP: i64 = 26 * 3600;

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let problem = || {
            format!(
                "`{text}` is not a schedule: use \"\" (no scheduled backups), \"daily HH:MM\" (UK time, e.g. \
                 \"daily 02:30\") or \"every N hours\" (N from 1 to 168)"
            )
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            [] => Ok(Schedule::Off),
            ["daily", at] => {
                let (h, m) = at.split_once(':').ok_or_else(problem)?;
                let valid =
                    |s: &str, max: u16| (s.len() == 2).then(|| s.parse::<u16>().ok()).flatten().filter(|v| *v <= max);
                match (valid(h, 23), valid(m, 59)) {
                    (Some(h), Some(m)) => Ok(Schedule::Daily { minute: h * 60 + m }),
                    _ => Err(problem()),
                }
            }
            ["every", n, "hours" | "hour"] => match n.parse::<u32>() {
                Ok(hours @ 1..=168) => Ok(Schedule::Every { hours }),
                _ => Err(problem()),
            },
            _ => Err(problem()),
        }
    }

    /// Seconds between two scheduled backups, if any are scheduled.
    pub fn period_seconds(self) -> Option<i64> {
        match self {
            Schedule::Off => None,
            Schedule::Daily { .. } => Some(86_400),
            Schedule::Every { hours } => Some(i64::from(hours) * 3600),
        }
    }

    /// When the next scheduled backup is due, given the start of the newest run of any kind.
    pub fn next_run(self, now: OffsetDateTime, last_start: Option<i64>) -> Option<OffsetDateTime> {
        let since_last = last_start.map(|at| now.unix_timestamp() - at);
        match self {
            Schedule::Off => None,
            Schedule::Daily { .. } if since_last.is_some_and(|s| s > DAILY_CATCH_UP) => Some(now),
            Schedule::Daily { minute } => {
                let today = uk_local(now).date();
                let at = from_uk_local(today, minute);
                if at > now { Some(at) } else { today.next_day().map(|tomorrow| from_uk_local(tomorrow, minute)) }
            }
            Schedule::Every { hours } => {
                let period = i64::from(hours) * 3600;
                match since_last {
                    Some(since) if since < period => Some(now + time::Duration::seconds(period - since)),
                    _ => Some(now),
                }
            }
        }
    }
}

/// Runs scheduled backups (actor `system`) until shutdown; a backup under way is finished first.
pub async fn scheduler(store: Store, config: Config, metrics: Metrics, mut shutdown: watch::Receiver<bool>) {
    let backups = Backups::new(store, &config, metrics.clone());
    let schedule = backups.schedule();
    if schedule != Schedule::Off {
        tracing::info!(schedule = %config.backup.schedule, dir = %backups.dir().display(), "backups scheduled");
    }
    // This server holds serve.lock, so no restore runs; with backup.lock, no backup either.
    if let Ok(_lock) = FileLock::backup(backups.data_dir()).await {
        let data_dir = backups.data_dir().to_owned();
        let _ = tokio::task::spawn_blocking(move || remove_leftovers(&data_dir, None, true)).await;
    }
    let mut not_before = OffsetDateTime::now_utc();
    loop {
        let store = backups.store();
        metrics.set_backup_last_success(store.last_backup_success().await.ok().flatten());
        let last_start = store.last_backup_start().await.ok().flatten();
        let now = OffsetDateTime::now_utc();
        let due = schedule.next_run(now, last_start).map(|due| due.max(not_before));
        let wait = due.map_or(REFRESH, |due| Duration::try_from(due - now).unwrap_or_default().min(REFRESH));
        tokio::select! {
            _ = wait_for_shutdown(&mut shutdown) => return,
            _ = tokio::time::sleep(wait) => {}
        }
        if due.is_some_and(|due| due <= OffsetDateTime::now_utc()) {
            not_before = OffsetDateTime::now_utc() + PAUSE;
            // Failures are logged, audited and counted by `create`.
            let _ = backups.create(Trigger::Schedule, "system", None).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(Schedule::parse(""), Ok(Schedule::Off));
        assert_eq!(Schedule::parse("  "), Ok(Schedule::Off));
        assert_eq!(Schedule::parse("daily 02:30"), Ok(Schedule::Daily { minute: 150 }));
        assert_eq!(Schedule::parse("every 6 hours"), Ok(Schedule::Every { hours: 6 }));
        assert_eq!(Schedule::parse("every 1 hour"), Ok(Schedule::Every { hours: 1 }));
        for bad in ["daily", "daily 24:00", "daily 2:30", "daily 02:60", "every 0 hours", "every 169 hours", "weekly"] {
            let err = Schedule::parse(bad).expect_err(bad);
            assert!(err.contains("daily HH:MM") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn daily_runs_at_uk_time() {
        let daily = Schedule::Daily { minute: 150 };
        // Winter: 02:30 GMT is 02:30 UTC.
        let now = datetime!(2026-01-10 01:00 UTC);
        assert_eq!(daily.next_run(now, None), Some(datetime!(2026-01-10 02:30 UTC)));
        // Summer: 02:30 BST is 01:30 UTC; past it, the next is tomorrow.
        let now = datetime!(2026-07-10 01:45 UTC);
        assert_eq!(daily.next_run(now, Some(now.unix_timestamp() - 3600)), Some(datetime!(2026-07-11 01:30 UTC)));
        // Missed by more than a day: now.
        assert_eq!(daily.next_run(now, Some(now.unix_timestamp() - 30 * 3600)), Some(now));
    }

    #[test]
    fn every_counts_from_the_last_run() {
        let every = Schedule::Every { hours: 6 };
        let now = datetime!(2026-01-10 12:00 UTC);
        assert_eq!(every.next_run(now, None), Some(now));
        let two_hours_ago = now.unix_timestamp() - 2 * 3600;
        assert_eq!(every.next_run(now, Some(two_hours_ago)), Some(datetime!(2026-01-10 16:00 UTC)));
        assert_eq!(every.next_run(now, Some(now.unix_timestamp() - 7 * 3600)), Some(now));
        assert_eq!(Schedule::Off.next_run(now, None), None);
    }
}
