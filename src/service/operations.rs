//! What `/metrics` reports beyond the in-process counters: backlogs read from the database.

use crate::store::{Store, StoreError};

/// Work waiting: chats in the queue, e-mails in the outbox not yet sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Backlog {
    pub queued_chats: i64,
    pub outbox_pending: i64,
}

pub async fn backlog(store: &Store) -> Result<Backlog, StoreError> {
    let (queued_chats, outbox_pending) = store.backlog().await?;
    Ok(Backlog { queued_chats, outbox_pending })
}
