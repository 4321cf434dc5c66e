//! Canned responses: each operator's own, plus shared ones that supervisors and administrators
//! maintain. The dashboard inserts them when an operator types `/shortcut`.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, allowed_mutation, json_body, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::store::CannedRow;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCanned {
    shortcut: String,
    text: String,
    #[serde(default)]
    shared: bool,
}

#[derive(Serialize)]
struct Canned {
    id: i64,
    shortcut: String,
    text: String,
    shared: bool,
}

impl From<CannedRow> for Canned {
    fn from(row: CannedRow) -> Canned {
        Canned { id: row.id, shortcut: row.shortcut, text: row.body, shared: row.owner_id.is_none() }
    }
}

fn bad(message: &str) -> Rejection {
    warp::reject::custom(ApiError::new(StatusCode::BAD_REQUEST, "invalid", message))
}

/// Shared responses (for everyone) are for chat supervisors; personal ones for anyone who chats.
fn may_share(authed: &Authed) -> bool {
    authed.can(perm::CHATS_MANAGE)
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let list = warp::path("canned-responses")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::CHATS_VIEW))
        .and(with_state(state.clone()))
        .and_then(|authed: Authed, state: AppState| async move {
            let rows = state.store.canned_for(authed.session.user_id).await.map_err(reject)?;
            let list: Vec<Canned> = rows.into_iter().map(Canned::from).collect();
            Ok::<_, Rejection>(warp::reply::json(&list).into_response())
        });
    let create = warp::path("canned-responses")
        .and(warp::path::end())
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::CHATS_STORE))
        .and(json_body::<NewCanned>(state.config.server.max_body_bytes))
        .and(with_state(state.clone()))
        .and_then(create);
    let delete = warp::path!("canned-responses" / i64)
        .and(warp::delete())
        .and(allowed_mutation(state.clone(), perm::CHATS_STORE))
        .and(with_state(state.clone()))
        .and_then(|id: i64, authed: Authed, state: AppState| async move {
            let row = state.store.canned(id).await.map_err(reject)?;
            let allowed = match &row {
                Some(r) => r.owner_id == Some(authed.session.user_id) || (r.owner_id.is_none() && may_share(&authed)),
                None => false,
            };
            if row.is_none() {
                return Err(reject(ApiError::new(StatusCode::NOT_FOUND, "unknown_canned", "no such canned response")));
            }
            if !allowed {
                return Err(reject(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "you may delete your own canned responses only",
                )));
            }
            state.store.delete_canned(id).await.map_err(reject)?;
            Ok::<_, Rejection>(warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response())
        });
    list.or(create).unify().or(delete).unify().boxed()
}

async fn create(authed: Authed, body: NewCanned, state: AppState) -> Result<Response, Rejection> {
    let shortcut = body.shortcut.trim().trim_start_matches('/').to_lowercase();
    if shortcut.is_empty()
        || shortcut.len() > 32
        || !shortcut.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(bad("a shortcut has 1 to 32 letters, digits, - or _"));
    }
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > crate::service::chat::MAX_TEXT_CHARS {
        return Err(bad("the text has 1 to 4,000 characters"));
    }
    if body.shared && !may_share(&authed) {
        return Err(reject(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only supervisors and administrators add shared responses",
        )));
    }
    let owner = (!body.shared).then_some(authed.session.user_id);
    let id = state.store.add_canned(owner, shortcut.clone(), text.to_owned()).await.map_err(reject)?;
    let created = Canned { id, shortcut, text: text.to_owned(), shared: body.shared };
    Ok(warp::reply::with_status(warp::reply::json(&created), StatusCode::CREATED).into_response())
}
