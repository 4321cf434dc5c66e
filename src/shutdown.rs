//! Shutdown signalling below the application: the watch flag every long-lived task selects on
//! (`wait_for_shutdown`) and the counter of tasks (websockets) that shutdown waits for.

use std::sync::Arc;

use tokio::sync::watch;

/// Counts running tasks so shutdown can wait for them to finish their goodbyes.
#[derive(Clone, Default)]
pub struct TaskCounter(Arc<(std::sync::atomic::AtomicUsize, tokio::sync::Notify)>);

/// Held by a running task; dropping it marks the task finished.
pub struct TaskGuard(TaskCounter);

impl TaskCounter {
    pub fn enter(&self) -> TaskGuard {
        self.0.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        TaskGuard(self.clone())
    }

    /// Resolves when no task is running.
    pub async fn idle(&self) {
        loop {
            let notified = self.0.1.notified();
            if self.0.0.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if self.0.0.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.0.0.1.notify_waiters();
        }
    }
}

/// Resolves once shutdown has been requested (or the sender is gone).
pub async fn wait_for_shutdown(rx: &mut watch::Receiver<bool>) {
    loop {
        let stopping = *rx.borrow_and_update();
        if stopping || rx.changed().await.is_err() {
            return;
        }
    }
}
