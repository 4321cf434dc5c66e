//! Rectification of a data subject's details (`PATCH /api/v1/gdpr/subjects/{subject}`) and
//! their objection to profiling (`PUT /api/v1/gdpr/subjects/{subject}/objection`).

use http::StatusCode;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::gdpr::gdpr_error;
use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed_mutation, json_body, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::gdpr;
use crate::store::Rectification;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Objection {
    /// True: the person objects (tracking and profiling stop); false: the objection is lifted.
    objects: bool,
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let objection = warp::path!("gdpr" / "subjects" / i64 / "objection")
        .and(warp::put())
        .and(allowed_mutation(state.clone(), perm::GDPR_STORE))
        .and(json_body::<Objection>(state.config.server.max_body_bytes))
        .and(with_state(state.clone()))
        .and_then(|subject: i64, authed: Authed, body: Objection, state: AppState| async move {
            if !state.store.set_objection(subject, body.objects).await.map_err(reject)? {
                return Err(reject(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown_subject",
                    format!("no data subject {subject}"),
                )));
            }
            let action = if body.objects { "gdpr.objection" } else { "gdpr.objection_lifted" };
            let entry = crate::store::AuditEntry::new(authed.session.username.clone(), action).subject(subject);
            state.store.audit(entry).await.map_err(reject)?;
            let data = state.store.subject_data(subject).await.map_err(reject)?;
            Ok::<_, Rejection>(warp::reply::json(&serde_json::json!({ "subject": data })).into_response())
        });
    let rectify = warp::path!("gdpr" / "subjects" / i64)
        .and(warp::patch())
        .and(allowed_mutation(state.clone(), perm::GDPR_STORE))
        .and(json_body::<Body>(state.config.server.max_body_bytes))
        .and(with_state(state))
        .and_then(|subject: i64, authed: Authed, body: Body, state: AppState| async move {
            let change = Rectification { name: body.name, email: body.email, phone: body.phone };
            let details =
                gdpr::rectify(&state.store, subject, change, &authed.session.username).await.map_err(gdpr_error)?;
            let data = state.store.subject_data(subject).await.map_err(reject)?;
            let reply = serde_json::json!({ "subject": data, "audit": details });
            Ok::<_, Rejection>(warp::reply::json(&reply).into_response())
        });
    objection.or(rectify).unify().boxed()
}
