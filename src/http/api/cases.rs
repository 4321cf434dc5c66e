//! `/gdpr/cases`: data-subject requests as cases with deadlines (DPO and administrators;
//! opening and changing a case is audited).

use http::StatusCode;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, allowed_mutation, json_body, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::cases::{self, CaseError, CaseUpdate, NewRequest};
use crate::store::access::view;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// `open` (the default) or `all`.
    status: Option<String>,
}

fn case_error(err: CaseError) -> Rejection {
    reject(match err {
        CaseError::Invalid(message) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", message),
        CaseError::UnknownCase(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_case", err.to_string()),
        CaseError::UnknownSubject => ApiError::new(StatusCode::BAD_REQUEST, "unknown_subject", err.to_string()),
        CaseError::Store(store) => ApiError::from(store),
    })
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let max_body = state.config.server.max_body_bytes;
    let list = warp::path!("gdpr" / "cases")
        .and(warp::get())
        .and(allowed(state.clone(), perm::GDPR_VIEW))
        .and(warp::query::<ListQuery>())
        .and(with_state(state.clone()))
        .and_then(|authed: Authed, query: ListQuery, state: AppState| async move {
            let only_open = match query.status.as_deref() {
                None | Some("open") => true,
                Some("all") => false,
                Some(_) => return Err(case_error(CaseError::Invalid("status is open or all".into()))),
            };
            let list = cases::list(&state.store, only_open).await.map_err(case_error)?;
            // Case notes may describe the person: the linked subjects go in the access log.
            let shown = list.iter().filter_map(|c| c.subject);
            state.store.record_views(&authed.session.username, view::CASES, shown).await.map_err(reject)?;
            Ok::<_, Rejection>(warp::reply::json(&serde_json::json!({ "cases": list })).into_response())
        });
    let create = warp::path!("gdpr" / "cases")
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::GDPR_STORE))
        .and(json_body::<NewRequest>(max_body))
        .and(with_state(state.clone()))
        .and_then(|authed: Authed, body: NewRequest, state: AppState| async move {
            let case = cases::create(&state.store, body, &authed.session.username).await.map_err(case_error)?;
            let reply = warp::reply::with_status(warp::reply::json(&case), StatusCode::CREATED);
            Ok::<_, Rejection>(reply.into_response())
        });
    let update = warp::path!("gdpr" / "cases" / i64)
        .and(warp::patch())
        .and(allowed_mutation(state.clone(), perm::GDPR_STORE))
        .and(json_body::<CaseUpdate>(max_body))
        .and(with_state(state))
        .and_then(|id: i64, authed: Authed, body: CaseUpdate, state: AppState| async move {
            let case = cases::update(&state.store, id, body, &authed.session.username).await.map_err(case_error)?;
            Ok::<_, Rejection>(warp::reply::json(&case).into_response())
        });
    list.or(create).unify().or(update).unify().boxed()
}
