//! Stored conversations and offline requests for the dashboard.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::Reach;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::store::access::view;
use crate::store::{ConversationFilter, ConversationRow};
use crate::util::rfc3339;

pub(super) const MAX_PAGE: i64 = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConversationQuery {
    status: Option<String>,
    /// First day included, YYYY-MM-DD (UTC).
    from: Option<String>,
    /// Last day included, YYYY-MM-DD (UTC).
    to: Option<String>,
    operator: Option<String>,
    rating: Option<i64>,
    site: Option<String>,
    /// Department key.
    department: Option<String>,
    /// Text in the site, department, operator or who closed it.
    q: Option<String>,
    limit: Option<i64>,
}

fn bad_query(message: String) -> Rejection {
    warp::reject::custom(ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message))
}

/// Unix seconds at 00:00 UTC of a YYYY-MM-DD day, plus `days`.
fn day_start(raw: &str, field: &str, days: i64) -> Result<i64, Rejection> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw, format)
        .map(|d| d.midnight().assume_utc().unix_timestamp() + days * 86_400)
        .map_err(|_| bad_query(format!("{field} must be a date like 2026-11-23")))
}

impl ConversationQuery {
    fn filter(self, reach: &Reach) -> Result<ConversationFilter, Rejection> {
        if let Some(s) = &self.status
            && !matches!(s.as_str(), "queued" | "active" | "closed")
        {
            return Err(bad_status("queued, active, closed"));
        }
        if let Some(r) = self.rating
            && !(1..=5).contains(&r)
        {
            return Err(bad_query("rating must be 1 to 5".into()));
        }
        let text = self.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
        if text.as_ref().is_some_and(|q| q.chars().count() > 100) {
            return Err(bad_query("q has at most 100 characters".into()));
        }
        Ok(ConversationFilter {
            text,
            from: self.from.as_deref().map(|d| day_start(d, "from", 0)).transpose()?,
            until: self.to.as_deref().map(|d| day_start(d, "to", 1)).transpose()?,
            status: self.status,
            operator: self.operator.map(|o| o.trim().to_lowercase()),
            rating: self.rating,
            site: self.site,
            department: self.department.filter(|d| !d.is_empty()),
            departments: reach.json(),
            limit: self.limit.unwrap_or(50).clamp(1, MAX_PAGE),
        })
    }
}

#[derive(Serialize)]
struct Conversation {
    conversation: String,
    site: String,
    name: String,
    status: String,
    operator: Option<String>,
    messages: i64,
    rating: Option<i64>,
    started_at: String,
    closed_at: Option<String>,
    department: Option<String>,
}

#[derive(Serialize)]
struct TranscriptLine {
    seq: i64,
    author: String,
    name: String,
    text: String,
    at: String,
}

pub(super) fn bad_status(allowed: &str) -> Rejection {
    warp::reject::custom(ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_query",
        format!("status must be one of: {allowed}"),
    ))
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let list = warp::path("conversations")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::STORED_CHATS_VIEW))
        .and(warp::query::<ConversationQuery>())
        .and(with_state(state.clone()))
        .and_then(list_conversations);
    let transcript = warp::path!("conversations" / String / "messages")
        .and(warp::get())
        .and(allowed(state.clone(), perm::STORED_CHATS_VIEW))
        .and(with_state(state.clone()))
        .and_then(transcript);
    let notes = warp::path!("conversations" / String / "notes")
        .and(warp::get())
        .and(allowed(state.clone(), perm::STORED_CHATS_VIEW))
        .and(with_state(state.clone()))
        .and_then(notes);
    let mail = warp::path("mail-outbox")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::SETTINGS_VIEW))
        .and(with_state(state.clone()))
        .and_then(list_mail);
    list.or(transcript).unify().or(notes).unify().or(mail).unify().boxed()
}

async fn list_conversations(authed: Authed, query: ConversationQuery, state: AppState) -> Result<Response, Rejection> {
    let filter = query.filter(&authed.reach)?;
    let rows = state.store.conversation_summaries(&filter).await.map_err(reject)?;
    let shown = rows.iter().filter_map(|r| r.subject_id);
    state.store.record_views(&authed.session.username, view::CONVERSATIONS, shown).await.map_err(reject)?;
    let list: Vec<Conversation> = rows
        .into_iter()
        .map(|r| Conversation {
            conversation: r.public_id,
            site: r.site,
            name: r.visitor_name,
            status: r.status,
            operator: r.operator_name,
            messages: r.messages,
            rating: r.rating,
            started_at: rfc3339(r.created_at),
            closed_at: r.closed_at.map(rfc3339),
            department: r.department,
        })
        .collect();
    Ok(warp::reply::json(&list).into_response())
}

/// The conversation named by a path segment, or 404 `unknown_conversation` (also for one
/// outside the caller's team scope, which must not learn that it exists).
async fn conversation_at(state: &AppState, authed: &Authed, public_id: &str) -> Result<ConversationRow, Rejection> {
    let not_found = || reject(ApiError::new(StatusCode::NOT_FOUND, "unknown_conversation", "no such conversation"));
    let Ok(id) = uuid::Uuid::parse_str(public_id) else { return Err(not_found()) };
    let conversation = state
        .store
        .conversation_by_public_id(&id.hyphenated().to_string())
        .await
        .map_err(reject)?
        .ok_or_else(not_found)?;
    if !authed.reach.allows(conversation.department_id) {
        return Err(not_found());
    }
    Ok(conversation)
}

/// Records a staff member's view of a conversation in the access log (the audit log).
async fn record_view(
    state: &AppState,
    authed: &Authed,
    what: &'static str,
    conversation: &ConversationRow,
) -> Result<(), Rejection> {
    let entry = crate::store::AuditEntry::new(authed.session.username.clone(), what)
        .about(conversation.subject_id)
        .details(format!("conversation {}", conversation.public_id));
    state.store.audit(entry).await.map_err(reject)
}

async fn transcript(public_id: String, authed: Authed, state: AppState) -> Result<Response, Rejection> {
    let conversation = conversation_at(&state, &authed, &public_id).await?;
    record_view(&state, &authed, "view.transcript", &conversation).await?;
    let store = &state.store;
    let rows = store.messages_after(conversation.id, 0, i64::MAX).await.map_err(reject)?;
    let lines: Vec<TranscriptLine> = rows
        .into_iter()
        .map(|m| TranscriptLine {
            seq: m.seq,
            author: m.author,
            name: m.author_name,
            text: m.body,
            at: rfc3339(m.created_at),
        })
        .collect();
    Ok(warp::reply::json(&lines).into_response())
}

async fn notes(public_id: String, authed: Authed, state: AppState) -> Result<Response, Rejection> {
    let conversation = conversation_at(&state, &authed, &public_id).await?;
    record_view(&state, &authed, "view.notes", &conversation).await?;
    let notes = state.store.notes(conversation.id).await.map_err(reject)?;
    let list: Vec<_> = notes
        .iter()
        .map(|n| serde_json::json!({ "name": n.author_name, "text": n.body, "at": rfc3339(n.created_at) }))
        .collect();
    Ok(warp::reply::json(&list).into_response())
}

#[derive(Serialize)]
struct MailStatus {
    id: i64,
    kind: String,
    to: String,
    subject: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    queued_at: String,
    sent_at: Option<String>,
}

/// Stands in for a recipient (or an error, which may quote one) the caller may not see.
const REDACTED: &str = "(hidden)";

/// The outbox: delivery status for anyone with settings.view; recipients and errors (which
/// may quote an address) only for those who run the mail setup (settings.manage), recorded
/// in the access log. An auditor sees the status of every mail and no address.
async fn list_mail(authed: Authed, state: AppState) -> Result<Response, Rejection> {
    let rows = state.store.recent_mail(MAX_PAGE).await.map_err(reject)?;
    let personal = authed.can(perm::SETTINGS_MANAGE);
    if personal {
        let shown = rows.iter().filter_map(|m| m.subject_id);
        state.store.record_views(&authed.session.username, view::MAIL_OUTBOX, shown).await.map_err(reject)?;
    }
    let hide = |value: String| if personal { value } else { REDACTED.to_owned() };
    let list: Vec<MailStatus> = rows
        .into_iter()
        .map(|m| MailStatus {
            id: m.id,
            kind: m.kind,
            to: hide(m.to_addr),
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error.map(hide),
            queued_at: rfc3339(m.created_at),
            sent_at: m.sent_at.map(rfc3339),
        })
        .collect();
    Ok(warp::reply::json(&list).into_response())
}
