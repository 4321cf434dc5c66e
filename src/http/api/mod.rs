//! `/api/v1`: JSON API of the staff listener, described by `/api/v1/openapi.json`.

mod account;
mod backups;
mod breach;
mod canned;
mod cases;
mod chats;
mod departments;
mod gdpr;
mod keys;
mod offline;
mod rectify;
mod retention;
mod session;
mod sites;
mod users;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::app::AppState;

/// Records a settings change in the audit log (who, what, which item).
pub(super) async fn audit_change(
    state: &AppState,
    authed: &crate::http::filters::Authed,
    action: &'static str,
    target: String,
) -> Result<(), warp::Rejection> {
    let entry = crate::store::AuditEntry::new(authed.session.username.clone(), action).target(target);
    state.store.audit(entry).await.map_err(crate::http::rejection::reject)
}

/// The OpenAPI document; `tests/it` checks it against the routes.
pub const OPENAPI: &str = include_str!("openapi.json");

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let v1 = warp::path("api").and(warp::path("v1"));
    let openapi = v1.and(warp::path("openapi.json")).and(warp::path::end()).and(warp::get()).map(|| {
        let mut response = OPENAPI.into_response();
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    });
    let routes = session::routes(state.clone())
        .or(account::routes(state.clone()))
        .unify()
        .or(chats::routes(state.clone()))
        .unify()
        .or(sites::routes(state.clone()))
        .unify()
        .or(canned::routes(state.clone()))
        .unify()
        .or(departments::routes(state.clone()))
        .unify()
        .or(offline::routes(state.clone()))
        .unify()
        .or(backups::routes(state.clone()))
        .unify()
        .or(keys::routes(state.clone()))
        .unify()
        .or(retention::routes(state.clone()))
        .unify()
        .or(cases::routes(state.clone()))
        .unify()
        .or(rectify::routes(state.clone()))
        .unify()
        .or(breach::routes(state.clone()))
        .unify()
        .or(users::routes(state.clone()))
        .unify()
        .or(gdpr::routes(state))
        .unify();
    v1.and(routes).or(openapi).unify().boxed()
}
