//! Transcript e-mails a visitor asks for: allowed while the chat is open and for a window after
//! it ends, up to a number per conversation. The check, the count, the queued mail and the
//! audit entry (target the conversation, never the address) share one transaction, so
//! concurrent requests cannot pass the limit together.

use super::audit::{AuditEntry, append_audit};
use super::mail::{NewMail, insert_mail};
use super::{Store, StoreError};
use crate::util::now;

/// The audit action of a queued transcript e-mail (stable).
pub const QUEUED: &str = "chat.transcript_email";
/// The audit action of a refused one (stable); `details` says why.
pub const REFUSED: &str = "chat.transcript_email.refused";

/// Limits from `[chat]`.
#[derive(Debug, Clone, Copy)]
pub struct TranscriptRules {
    /// Seconds after the chat ended (0: only while it is open).
    pub window_secs: i64,
    /// Transcript e-mails per conversation at most.
    pub max: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptOutcome {
    /// Queued (or queued before, for a resent request): the mail's id.
    Queued(i64),
    WindowClosed,
    LimitReached,
}

impl Store {
    /// Queues `mail` (the transcript of conversation `conversation_id`) if the rules allow.
    pub async fn queue_transcript_mail(
        &self,
        conversation_id: i64,
        public_id: &str,
        rules: TranscriptRules,
        mail: NewMail,
    ) -> Result<TranscriptOutcome, StoreError> {
        let keyring = self.keyring()?;
        let target = format!("conversation {public_id}");
        self.write(move |conn| {
            Box::pin(async move {
                if let Some(id) = super::mail::queued_before(&mut *conn, &mail).await? {
                    return Ok(TranscriptOutcome::Queued(id));
                }
                let (status, closed_at, sent): (String, Option<i64>, i64) =
                    sqlx::query_as("SELECT status, closed_at, transcript_emails FROM conversations WHERE id = ?1")
                        .bind(conversation_id)
                        .fetch_one(&mut *conn)
                        .await?;
                let ended = status == "closed";
                let refused = if ended && closed_at.is_none_or(|at| now() >= at + rules.window_secs) {
                    Some(("window closed", TranscriptOutcome::WindowClosed))
                } else if sent >= rules.max {
                    Some(("limit reached", TranscriptOutcome::LimitReached))
                } else {
                    None
                };
                if let Some((reason, outcome)) = refused {
                    append_audit(conn, AuditEntry::new("visitor", REFUSED).target(target).details(reason)).await?;
                    return Ok(outcome);
                }
                let id = insert_mail(conn, &keyring, mail).await?;
                sqlx::query("UPDATE conversations SET transcript_emails = transcript_emails + 1 WHERE id = ?1")
                    .bind(conversation_id)
                    .execute(&mut *conn)
                    .await?;
                let details = format!("mail {id}, {} of {}", sent + 1, rules.max);
                append_audit(conn, AuditEntry::new("visitor", QUEUED).target(target).details(details)).await?;
                Ok(TranscriptOutcome::Queued(id))
            })
        })
        .await
    }
}
