//! Figures for `/metrics` that live in the database: the waiting queue and the mail outbox.

use super::{Store, StoreError};

impl Store {
    /// (chats waiting in the queue, e-mails not yet sent), in one statement.
    pub async fn backlog(&self) -> Result<(i64, i64), StoreError> {
        let counts: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM conversations WHERE status = 'queued'),
                    (SELECT COUNT(*) FROM mail_outbox WHERE status = 'pending')",
        )
        .fetch_one(self.reader())
        .await?;
        Ok(counts)
    }
}
