//! Data-subject requests: one search across every category by e-mail, phone, name, visitor id
//! or conversation id (through the blind indexes, never by decrypting everything), and erasure
//! (rows deleted, data key destroyed, ledger and audit written). Every search is audited — with
//! what was searched by, never the value.

use serde::Deserialize;

use crate::config::IpRetention;
use crate::crypto::IndexKind;
use crate::store::{AuditEntry, Erased, Store, StoreError, SubjectData};

#[derive(Debug, thiserror::Error)]
pub enum GdprError {
    #[error("{0}")]
    Invalid(String),
    #[error("no data subject {0}")]
    Unknown(i64),
    #[error("you asked for this erasure; another DPO must approve it (privacy.erasure_second_approver)")]
    SecondApproverNeeded,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a search is by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Email,
    Phone,
    Name,
    Visitor,
    Conversation,
    Ip,
}

impl By {
    fn as_str(self) -> &'static str {
        match self {
            By::Email => "email",
            By::Phone => "phone",
            By::Name => "name",
            By::Visitor => "visitor",
            By::Conversation => "conversation",
            By::Ip => "ip",
        }
    }
}

/// Every data subject matching the search, with all their data by category. `ip_kept` is how
/// addresses are stored (`privacy.visitor_ip`), so a full address finds its truncated form.
pub async fn search(
    store: &Store,
    by: By,
    value: &str,
    actor: &str,
    ip_kept: IpRetention,
) -> Result<Vec<SubjectData>, GdprError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 500 {
        return Err(GdprError::Invalid("search for 1 to 500 characters".into()));
    }
    let subjects = match by {
        By::Email => store.subjects_by_index(IndexKind::Email, value).await?,
        By::Phone => store.subjects_by_index(IndexKind::Phone, value).await?,
        By::Name => store.subjects_by_index(IndexKind::Name, value).await?,
        By::Visitor => store.subjects_by_index(IndexKind::Visitor, value).await?,
        By::Ip => {
            let kept = match value.parse::<std::net::IpAddr>() {
                Ok(ip) => ip_kept.keep(ip).unwrap_or_default(),
                Err(_) => value.to_owned(),
            };
            store.subjects_by_index(IndexKind::Ip, &kept).await?
        }
        By::Conversation => {
            let id = uuid::Uuid::parse_str(value)
                .map_err(|_| GdprError::Invalid("a conversation id looks like 6b0e0c8e-…".into()))?;
            store.subject_of_conversation(&id.hyphenated().to_string()).await?.into_iter().collect()
        }
    };
    let mut found = Vec::new();
    for subject in &subjects {
        if let Some(data) = store.subject_data(*subject).await? {
            found.push(data);
        }
    }
    store
        .audit(
            AuditEntry::new(actor, "gdpr.search")
                .subjects(found.iter().map(|d| d.subject))
                .details(format!("by {}", by.as_str())),
        )
        .await?;
    Ok(found)
}

/// The outcome of an erasure asked for where a second approver is required.
#[derive(Debug, Clone)]
pub enum Approval {
    /// Erased now (the second person approved, or no second approver is required).
    Erased(Erased),
    /// Recorded; waits for a different staff member with the erasure permission.
    Requested,
}

/// Audits an erasure attempt that was refused (`gdpr.erase_refused`, with why in words that hold
/// no personal data): no permission, the same person approving twice, or no such subject.
pub async fn refused(store: &Store, actor: &str, subject: i64, why: &str) -> Result<(), GdprError> {
    let entry = AuditEntry::new(actor, "gdpr.erase_refused").subject(subject).details(why.to_owned());
    Ok(store.audit(entry).await?)
}

/// Erasure under `privacy.erasure_second_approver`: the first request is recorded and audited;
/// the same call by a different person erases (both names go in the audit entry). A refusal
/// (the same person again, an unknown subject) is audited too.
pub async fn erase_with_approval(
    store: &Store,
    subject: i64,
    reason: &str,
    actor: &str,
    second_approver: bool,
) -> Result<Approval, GdprError> {
    let outcome = approve_or_erase(store, subject, reason, actor, second_approver).await;
    let why = match &outcome {
        Err(GdprError::SecondApproverNeeded) => "the second approver must be a different person",
        Err(GdprError::Unknown(_)) => "no such data subject",
        _ => return outcome,
    };
    refused(store, actor, subject, why).await?;
    outcome
}

async fn approve_or_erase(
    store: &Store,
    subject: i64,
    reason: &str,
    actor: &str,
    second_approver: bool,
) -> Result<Approval, GdprError> {
    if !second_approver {
        return erase(store, subject, reason, actor).await.map(Approval::Erased);
    }
    let reason = check_reason(reason)?;
    match store.erasure_request(subject).await? {
        None => {
            let audit = AuditEntry::new(actor, "gdpr.erase_requested").subject(subject).details(reason.to_owned());
            if !store.request_erasure(subject, actor.to_owned(), reason.to_owned(), audit).await? {
                return Err(GdprError::Unknown(subject));
            }
            Ok(Approval::Requested)
        }
        Some((requested_by, _)) if requested_by == actor => Err(GdprError::SecondApproverNeeded),
        Some((requested_by, first_reason)) => {
            let details = format!("requested by {requested_by}: {first_reason}; approved by {actor}: {reason}");
            let audit = AuditEntry::new(actor, "gdpr.erase").subject(subject).details(details);
            let erased = store.erase_subject(subject, audit).await?.ok_or(GdprError::Unknown(subject))?;
            tracing::info!(subject, "data subject erased after a second approval");
            Ok(Approval::Erased(erased))
        }
    }
}

fn check_reason(reason: &str) -> Result<&str, GdprError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(GdprError::Invalid("give a reason of 1 to 500 characters; it is kept in the audit log".into()));
    }
    Ok(reason)
}

/// Erases a data subject: every row in every category, their data key, recorded in the erasure
/// ledger (re-applied after any backup restore) and the audit log.
pub async fn erase(store: &Store, subject: i64, reason: &str, actor: &str) -> Result<Erased, GdprError> {
    let reason = check_reason(reason)?;
    let audit = AuditEntry::new(actor, "gdpr.erase").subject(subject).details(reason.to_owned());
    let erased = store.erase_subject(subject, audit).await?.ok_or(GdprError::Unknown(subject))?;
    tracing::info!(subject, actor, "data subject erased");
    Ok(erased)
}

/// Corrects a data subject's name, e-mail address and/or phone number everywhere they are
/// stored; the audit log keeps fingerprints of the old and new values, never the values.
pub async fn rectify(
    store: &Store,
    subject: i64,
    change: crate::store::Rectification,
    actor: &str,
) -> Result<String, GdprError> {
    let mut change = change;
    let trim = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    change.name = trim(change.name);
    change.email = trim(change.email);
    change.phone = trim(change.phone);
    if change.name.is_none() && change.email.is_none() && change.phone.is_none() {
        return Err(GdprError::Invalid("give at least one of name, email or phone".into()));
    }
    if change.name.as_ref().is_some_and(|n| n.chars().count() > crate::service::chat::MAX_NAME_CHARS) {
        return Err(GdprError::Invalid("a name has at most 100 characters".into()));
    }
    if let Some(email) = &change.email {
        crate::domain::Email::parse(email).map_err(GdprError::Invalid)?;
    }
    if let Some(phone) = &change.phone {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if !(7..=15).contains(&digits) || !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
            return Err(GdprError::Invalid("a phone number has 7 to 15 digits (and only + - ( ) and spaces)".into()));
        }
    }
    store.rectify_subject(subject, change, actor.to_owned()).await?.ok_or(GdprError::Unknown(subject))
}
