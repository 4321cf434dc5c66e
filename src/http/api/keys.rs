//! The state of the encryption keys for the administration page (never key bytes).

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::crypto::KekFile;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::keys::{KeyError, status};

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    warp::path("keys")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::KEYS_VIEW))
        .and(with_state(state))
        .and_then(|_: Authed, state: AppState| async move {
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
