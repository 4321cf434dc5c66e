//! Operations endpoints: `/healthz` (process up, both listeners), `/readyz` (database accepts a
//! durable write) and `/metrics` (Prometheus text; behind a bearer token when
//! `metrics.token_file` is set), the last two on the staff listener only.

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::filters::with_state;
use super::rejection::ApiError;
use crate::app::AppState;
use crate::auth::session::constant_time_eq;
use crate::telemetry::{Live, render_live};

pub fn healthz() -> BoxedFilter<(Response,)> {
    warp::path("healthz")
        .and(warp::path::end())
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({ "status": "ok" })).into_response())
        .boxed()
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let readyz = warp::path("readyz").and(warp::path::end()).and(warp::get()).and(with_state(state.clone())).then(
        |state: AppState| async move {
            if *state.shutdown.borrow() {
                return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "parley is stopping")
                    .into_response();
            }
            match state.store.check_writable().await {
                Ok(()) => warp::reply::json(&serde_json::json!({ "status": "ready" })).into_response(),
                Err(err) => {
                    tracing::error!(error = %err, "readiness check failed");
                    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "the database does not accept writes")
                        .into_response()
                }
            }
        },
    );
    let metrics = warp::path("metrics")
        .and(warp::path::end())
        .and(warp::get())
        .and(warp::header::optional::<String>("authorization"))
        .and(with_state(state))
        .then(|authorization: Option<String>, state: AppState| async move {
            let token = &state.config.metrics.token;
            if !token.is_empty() {
                let given = authorization.as_deref().and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
                if !constant_time_eq(given.trim().as_bytes(), token.expose().as_bytes()) {
                    return ApiError::metrics_token_required().into_response();
                }
            }
            let backlog = crate::service::operations::backlog(&state.store).await.unwrap_or_else(|err| {
                tracing::warn!(error = %err, "reading the queue and outbox for /metrics failed");
                Default::default()
            });
            let live = Live {
                queued_chats: backlog.queued_chats,
                outbox_pending: backlog.outbox_pending,
                certificate_not_after: state.tls.not_after(),
                now: time::OffsetDateTime::now_utc().unix_timestamp(),
            };
            let mut text = state.metrics.render();
            render_live(&mut text, &live);
            let mut response = text.into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
            response
        });
    healthz().or(readyz).unify().or(metrics).unify().boxed()
}
