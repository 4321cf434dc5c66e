//! Operations endpoints: `/healthz` (process up, both listeners), `/readyz` (database accepts a
//! durable write) and `/metrics` (Prometheus text), the last two on the staff listener only.

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::filters::with_state;
use super::rejection::ApiError;
use crate::app::AppState;

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
    let metrics =
        warp::path("metrics").and(warp::path::end()).and(warp::get()).and(with_state(state)).map(|state: AppState| {
            let mut response = state.metrics.render().into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
            response
        });
    healthz().or(readyz).unify().or(metrics).unify().boxed()
}
