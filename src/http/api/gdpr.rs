//! Data requests (search, export and erasure of a data subject's data) and the audit log.

mod export;

use http::StatusCode;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, allowed_mutation, json_body, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::gdpr::{self, By, GdprError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchBody {
    by: By,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<i64>,
}

fn gdpr_error(err: GdprError) -> Rejection {
    reject(match err {
        GdprError::Invalid(message) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", message),
        GdprError::Unknown(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_subject", err.to_string()),
        GdprError::Store(store) => ApiError::from(store),
    })
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let max_body = state.config.server.max_body_bytes;
    let search = warp::path!("gdpr" / "search")
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::GDPR_VIEW))
        .and(json_body::<SearchBody>(max_body))
        .and(with_state(state.clone()))
        .and_then(|authed: Authed, body: SearchBody, state: AppState| async move {
            let found = gdpr::search(
                &state.store,
                body.by,
                &body.value,
                &authed.session.username,
                state.config.privacy.visitor_ip,
            )
            .await
            .map_err(gdpr_error)?;
            Ok::<_, Rejection>(warp::reply::json(&serde_json::json!({ "subjects": found })).into_response())
        });
    let erase = warp::path!("gdpr" / "subjects" / i64 / "erase")
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::GDPR_DELETE))
        .and(json_body::<EraseBody>(max_body))
        .and(with_state(state.clone()))
        .and_then(|subject: i64, authed: Authed, body: EraseBody, state: AppState| async move {
            let erased =
                gdpr::erase(&state.store, subject, &body.reason, &authed.session.username).await.map_err(gdpr_error)?;
            let reply = serde_json::json!({
                "subject": subject,
                "erased": erased,
                "erased_at": crate::util::rfc3339(crate::util::now()),
            });
            Ok::<_, Rejection>(warp::reply::json(&reply).into_response())
        });
    let audit = warp::path("audit")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::AUDIT_VIEW))
        .and(warp::query::<AuditQuery>())
        .and(with_state(state.clone()))
        .and_then(|_: Authed, query: AuditQuery, state: AppState| async move {
            let rows = state.store.audit_entries(query.limit.unwrap_or(100).clamp(1, 1000)).await.map_err(reject)?;
            let list: Vec<_> = rows
                .into_iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "at": crate::util::rfc3339(r.at), "actor": r.actor,
                        "action": r.action, "target": r.target, "details": r.details,
                    })
                })
                .collect();
            Ok::<_, Rejection>(warp::reply::json(&list).into_response())
        });
    let exports = export::routes(state.clone());
    let verify =
        warp::path!("audit" / "verify").and(warp::get()).and(allowed(state.clone(), perm::AUDIT_VIEW)).and(with_state(state)).and_then(
            |_: Authed, state: AppState| async move {
                let reply = match state.store.verify_audit().await.map_err(reject)? {
                    Ok(entries) => serde_json::json!({ "ok": true, "entries": entries, "first_bad": null }),
                    Err(id) => serde_json::json!({ "ok": false, "entries": null, "first_bad": id }),
                };
                Ok::<_, Rejection>(warp::reply::json(&reply).into_response())
            },
        );
    search.or(erase).unify().or(exports).unify().or(audit).unify().or(verify).unify().boxed()
}
