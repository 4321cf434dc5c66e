//! systemd integration with the pure-Rust `sd-notify` crate: READY=1, STOPPING=1 and watchdog
//! pings. Outside systemd (no NOTIFY_SOCKET) every call is a no-op.

use std::time::Duration;

use sd_notify::NotifyState;

pub fn ready() {
    notify(&[NotifyState::Ready, NotifyState::Status("serving")]);
}

pub fn stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

pub fn reloading() {
    notify(&[NotifyState::Reloading]);
}

pub fn reloaded() {
    notify(&[NotifyState::Ready]);
}

fn notify(states: &[NotifyState<'_>]) {
    if let Err(err) = sd_notify::notify(states) {
        tracing::debug!(error = %err, "sd_notify failed");
    }
}

/// When `WATCHDOG_USEC` is set, pings at half the interval until the task is dropped.
pub fn spawn_watchdog() -> Option<tokio::task::JoinHandle<()>> {
    let interval = sd_notify::watchdog_enabled()?;
    let every = (interval / 2).max(Duration::from_millis(100));
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            notify(&[NotifyState::Watchdog]);
        }
    }))
}
