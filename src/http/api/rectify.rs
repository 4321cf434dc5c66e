//! Rectification of a data subject's details (`PATCH /api/v1/gdpr/subjects/{subject}`).

use http::StatusCode;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed_mutation, json_body, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::gdpr::{self, GdprError};
use crate::store::Rectification;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    warp::path!("gdpr" / "subjects" / i64)
        .and(warp::patch())
        .and(allowed_mutation(state.clone(), perm::GDPR_STORE))
        .and(json_body::<Body>(state.config.server.max_body_bytes))
        .and(with_state(state))
        .and_then(|subject: i64, authed: Authed, body: Body, state: AppState| async move {
            let change = Rectification { name: body.name, email: body.email, phone: body.phone };
            let details =
                gdpr::rectify(&state.store, subject, change, &authed.session.username).await.map_err(|e| {
                    reject(match e {
                        GdprError::Invalid(message) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", message),
                        GdprError::Unknown(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_subject", e.to_string()),
                        GdprError::Store(store) => ApiError::from(store),
                    })
                })?;
            let data = state.store.subject_data(subject).await.map_err(reject)?;
            let reply = serde_json::json!({ "subject": data, "audit": details });
            Ok::<_, Rejection>(warp::reply::json(&reply).into_response())
        })
        .boxed()
}
