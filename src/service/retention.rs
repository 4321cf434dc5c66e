//! Retention: per-category limits from `[retention]`, a preview of what would go, a purge that
//! is audited (`retention.purge`, counts only) and counted in metrics, and the daily job.

use std::time::Duration;

use time::{OffsetDateTime, Time};
use tokio::sync::watch;

use crate::config::RetentionConfig;
use crate::service::hours::uk_local;
use crate::shutdown::wait_for_shutdown;
use crate::store::{AuditEntry, Cutoffs, Purged, Store, StoreError};
use crate::telemetry::Metrics;

const DAY: i64 = 86_400;
/// The daily purge runs at the first check after this UK time.
const DAILY_AT: Time = time::macros::time!(03:15);
/// How often the job checks the clock (bounds the lateness of a run).
const CHECK: Duration = Duration::from_secs(15 * 60);

/// The settings and what a purge would delete now.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Preview {
    pub chats_days: u32,
    pub offline_days: u32,
    pub mail_days: u32,
    pub would_delete: Purged,
}

/// Cut-offs `days` before `now`; 0 days keeps forever.
pub fn cutoffs(config: &RetentionConfig, now: i64) -> Cutoffs {
    let before = |days: u32| (days > 0).then(|| now - i64::from(days) * DAY);
    Cutoffs { chats: before(config.chats_days), offline: before(config.offline_days), mail: before(config.mail_days) }
}

pub async fn preview(store: &Store, config: &RetentionConfig) -> Result<Preview, StoreError> {
    let would_delete = store.retention_preview(cutoffs(config, crate::util::now())).await?;
    Ok(Preview {
        chats_days: config.chats_days,
        offline_days: config.offline_days,
        mail_days: config.mail_days,
        would_delete,
    })
}

/// Deletes everything past its retention period now; `actor` is a user name, `system` or `cli`.
pub async fn purge(
    store: &Store,
    metrics: &Metrics,
    config: &RetentionConfig,
    actor: &str,
) -> Result<Purged, StoreError> {
    let audit = AuditEntry::new(actor, "retention.purge").target("retention");
    let purged = store.retention_purge(cutoffs(config, crate::util::now()), audit).await?;
    metrics.retention_purged(purged.chats, purged.offline_requests, purged.mails);
    tracing::info!(
        actor,
        chats = purged.chats,
        offline_requests = purged.offline_requests,
        mails = purged.mails,
        subjects = purged.subjects,
        "retention purge finished"
    );
    Ok(purged)
}

/// The daily purge: the clock is checked every 15 minutes (the first time 15 minutes after
/// start) and the purge runs once per UK calendar day, at the first check after 03:15 UK time —
/// so a server started later in the day purges at its first check.
pub async fn scheduler(store: Store, config: RetentionConfig, metrics: Metrics, mut shutdown: watch::Receiver<bool>) {
    let config = &config;
    if config.chats_days == 0 && config.offline_days == 0 && config.mail_days == 0 {
        return;
    }
    let mut last_day = None;
    loop {
        tokio::select! {
            _ = wait_for_shutdown(&mut shutdown) => return,
            _ = tokio::time::sleep(CHECK) => {}
        }
        let local = uk_local(OffsetDateTime::now_utc());
        if local.time() >= DAILY_AT && last_day != Some(local.date()) {
            last_day = Some(local.date());
            if let Err(err) = purge(&store, &metrics, config, "system").await {
                tracing::error!(error = %err, "retention purge failed");
            }
        }
    }
}
