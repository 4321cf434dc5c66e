//! Offline requests (messages visitors left while nobody could chat): list, assign, reply by
//! e-mail, mark done.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::chats::{MAX_PAGE, bad_status};
use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, allowed_mutation, json_body, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::chat::{MAX_TEXT_CHARS, check_text};
use crate::service::mail::MailError;
use crate::store::OfflineRow;
use crate::store::access::view;
use crate::util::rfc3339;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    /// `me`: only those assigned to the caller.
    assigned: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// A user name, or null for nobody.
    user: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    text: String,
}

#[derive(Serialize)]
struct OfflineRequest {
    id: i64,
    site: String,
    name: String,
    email: String,
    text: String,
    status: String,
    received_at: String,
    done_at: Option<String>,
    replied_at: Option<String>,
    assigned_to: Option<String>,
    assigned_name: Option<String>,
    department: Option<serde_json::Value>,
}

impl From<OfflineRow> for OfflineRequest {
    fn from(r: OfflineRow) -> OfflineRequest {
        OfflineRequest {
            id: r.id,
            site: r.site,
            name: r.name,
            email: r.email,
            text: r.body,
            status: r.status,
            received_at: rfc3339(r.created_at),
            done_at: r.done_at.map(rfc3339),
            replied_at: r.replied_at.map(rfc3339),
            assigned_to: r.assigned_to,
            assigned_name: r.assigned_name,
            department: r.department.map(|key| serde_json::json!({ "key": key, "name": r.department_name })),
        }
    }
}

fn unknown_request() -> Rejection {
    reject(ApiError::new(StatusCode::NOT_FOUND, "unknown_request", "no open offline request with that id"))
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let list = warp::path("offline-requests")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::OFFLINE_VIEW))
        .and(warp::query::<ListQuery>())
        .and(with_state(state.clone()))
        .and_then(list_offline);
    let done = warp::path!("offline-requests" / i64 / "done")
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::OFFLINE_STORE))
        .and(with_state(state.clone()))
        .and_then(finish_offline);
    let assign = warp::path!("offline-requests" / i64 / "assign")
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::OFFLINE_STORE))
        .and(json_body::<AssignBody>(state.config.server.max_body_bytes))
        .and(with_state(state.clone()))
        .and_then(assign_offline);
    let reply = warp::path!("offline-requests" / i64 / "reply")
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::OFFLINE_STORE))
        .and(json_body::<ReplyBody>(state.config.server.max_body_bytes))
        .and(with_state(state))
        .and_then(reply_offline);
    list.or(done).unify().or(assign).unify().or(reply).unify().boxed()
}

async fn list_offline(authed: Authed, query: ListQuery, state: AppState) -> Result<Response, Rejection> {
    let status = match query.status.as_deref().unwrap_or("open") {
        s @ ("open" | "done") => s.to_owned(),
        _ => return Err(bad_status("open, done")),
    };
    let assignee = match query.assigned.as_deref() {
        None => None,
        Some("me") => Some(authed.session.user_id),
        Some(_) => {
            return Err(reject(ApiError::new(StatusCode::BAD_REQUEST, "bad_query", "assigned may only be `me`")));
        }
    };
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let rows = state.store.offline_requests_in(&status, assignee, authed.reach.json(), limit).await.map_err(reject)?;
    let shown = rows.iter().filter_map(|r| r.subject_id);
    state.store.record_views(&authed.session.username, view::OFFLINE_REQUESTS, shown).await.map_err(reject)?;
    let list: Vec<OfflineRequest> = rows.into_iter().map(OfflineRequest::from).collect();
    Ok(warp::reply::json(&list).into_response())
}

/// The request, or 404 `unknown_request` when there is none or it lies outside the caller's
/// team scope.
async fn reachable(state: &AppState, authed: &Authed, id: i64) -> Result<OfflineRow, Rejection> {
    let request = state.store.offline_request(id).await.map_err(reject)?.ok_or_else(unknown_request)?;
    if authed.reach.allows(request.department_id) { Ok(request) } else { Err(unknown_request()) }
}

async fn finish_offline(id: i64, authed: Authed, state: AppState) -> Result<Response, Rejection> {
    reachable(&state, &authed, id).await?;
    if !state.store.finish_offline(id, authed.session.user_id).await.map_err(reject)? {
        return Err(unknown_request());
    }
    tracing::info!(user_id = authed.session.user_id, offline_request = id, "offline request done");
    Ok(warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response())
}

async fn assign_offline(id: i64, authed: Authed, body: AssignBody, state: AppState) -> Result<Response, Rejection> {
    reachable(&state, &authed, id).await?;
    let user = match body.user.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(name) => {
            let user = state.store.user_by_name(&name.to_lowercase()).await.map_err(reject)?;
            match user {
                Some(u) if !u.disabled => Some(u.id),
                _ => {
                    return Err(reject(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid",
                        format!("no active staff user `{name}`"),
                    )));
                }
            }
        }
    };
    if !state.store.assign_offline(id, user).await.map_err(reject)? {
        return Err(unknown_request());
    }
    tracing::info!(user_id = authed.session.user_id, offline_request = id, assignee = ?user, "offline request assigned");
    let row = state.store.offline_request(id).await.map_err(reject)?.ok_or_else(unknown_request)?;
    let shown = row.subject_id;
    state.store.record_views(&authed.session.username, view::OFFLINE_REQUEST, shown).await.map_err(reject)?;
    Ok(warp::reply::json(&OfflineRequest::from(row)).into_response())
}

async fn reply_offline(id: i64, authed: Authed, body: ReplyBody, state: AppState) -> Result<Response, Rejection> {
    let text = check_text("text", &body.text, MAX_TEXT_CHARS)
        .map_err(|e| reject(ApiError::new(StatusCode::BAD_REQUEST, e.code(), e.to_string())))?;
    let request = reachable(&state, &authed, id).await?;
    if request.status != "open" {
        return Err(unknown_request());
    }
    let mail = state
        .mailer
        .queue_offline_reply(&request, authed.session.user_id, &authed.session.display_name, &text)
        .await
        .map_err(|e| match e {
            MailError::Disabled => reject(ApiError::new(StatusCode::CONFLICT, "no_mail", e.to_string())),
            MailError::Address(message) => reject(ApiError::new(StatusCode::CONFLICT, "bad_address", message)),
            MailError::Store(store) => reject(store),
            other @ (MailError::WindowClosed(_) | MailError::LimitReached(_)) => {
                reject(ApiError::new(StatusCode::CONFLICT, other.code(), other.to_string()))
            }
        })?
        .ok_or_else(unknown_request)?;
    tracing::info!(user_id = authed.session.user_id, offline_request = id, mail = mail, "offline request answered");
    let reply = warp::reply::json(&serde_json::json!({ "mail": mail, "status": "queued" }));
    Ok(warp::reply::with_status(reply, StatusCode::ACCEPTED).into_response())
}
