//! The access log of personal-data views: which data subjects (ids only) one response showed to
//! which staff account, and when. One statement per response, whatever the number of subjects.

use super::{Store, StoreError};
use crate::util::now;

/// What a staff member was shown (the `view` column): stable names the reports print.
pub mod view {
    pub const CONVERSATIONS: &str = "list.conversations";
    pub const OFFLINE_REQUESTS: &str = "list.offline_requests";
    pub const OFFLINE_REQUEST: &str = "view.offline_request";
    pub const MAIL_OUTBOX: &str = "list.mail_outbox";
    pub const CASES: &str = "list.cases";
    pub const QUEUE: &str = "ws.queue";
    pub const ASSIGNED: &str = "ws.assigned";
}

/// Most (staff, subject) pairs written by one statement (a bound JSON text, not one bind each).
const MAX_PAIRS: usize = 20_000;

fn json_list<T: serde::Serialize>(list: &[T]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

impl Store {
    /// Records that `actor` was shown the data of `subjects` by `view` (duplicates and an empty
    /// list cost nothing).
    pub async fn record_views(
        &self,
        actor: &str,
        view: &'static str,
        subjects: impl IntoIterator<Item = i64>,
    ) -> Result<(), StoreError> {
        self.record_pairs(view, subjects.into_iter().map(|s| (actor.to_owned(), s)).collect()).await
    }

    /// As `record_views`, for one frame shown to several staff members: (user name, subject).
    pub async fn record_pairs(&self, view: &'static str, mut pairs: Vec<(String, i64)>) -> Result<(), StoreError> {
        pairs.sort_unstable();
        pairs.dedup();
        pairs.truncate(MAX_PAIRS);
        if pairs.is_empty() {
            return Ok(());
        }
        let json = json_list(&pairs);
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO access_log (at, actor, view, subject_id)
                     SELECT ?1, json_extract(value, '$[0]'), ?2, json_extract(value, '$[1]') FROM json_each(?3)",
                )
                .bind(now())
                .bind(view)
                .bind(&json)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Every access-log row naming the subject: (id, at, actor, view), oldest first.
    pub async fn views_of_subject(&self, subject: i64) -> Result<Vec<(i64, i64, String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT id, at, actor, view FROM access_log WHERE subject_id = ?1 ORDER BY at, id")
            .bind(subject)
            .fetch_all(self.reader())
            .await?)
    }

    /// (actor, view, subject) of the views in `[from, until)`, optionally by one account only.
    pub async fn views_between(
        &self,
        from: i64,
        until: i64,
        user: Option<&str>,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT actor, view, subject_id FROM access_log
             WHERE at >= ?1 AND at < ?2 AND (?3 IS NULL OR actor = ?3)",
        )
        .bind(from)
        .bind(until)
        .bind(user)
        .fetch_all(self.reader())
        .await?)
    }
}
