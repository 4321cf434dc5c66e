//! The state of the encryption keys for the administration page (never key bytes).

use http::StatusCode;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::crypto::KekFile;
use crate::http::filters::{Authed, staff, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::keys::{KeyError, status};

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    warp::path("keys")
        .and(warp::path::end())
        .and(warp::get())
        .and(staff(state.clone()))
        .and(with_state(state))
        .and_then(|authed: Authed, state: AppState| async move {
            if !matches!(authed.session.role.as_str(), "administrator" | "dpo" | "auditor") {
                return Err(reject(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "only administrators, the DPO and auditors may see the keys",
                )));
            }
            let source = KekFile::from_config(&state.config);
            let keys = status(&state.store, &source).await.map_err(|e| match e {
                KeyError::Store(store) => reject(store),
                other => {
                    tracing::error!(error = %other, "reading the key state failed");
                    reject(ApiError::internal())
                }
            })?;
            Ok::<_, Rejection>(warp::reply::json(&keys).into_response())
        })
        .boxed()
}
