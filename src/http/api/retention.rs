//! `/gdpr/retention`: the retention settings with what a purge would delete now, and a purge
//! run by hand (DPO and administrators; audited as `retention.purge`).

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, allowed_mutation, with_state};
use crate::http::rejection::reject;
use crate::service::retention;

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let preview = warp::path!("gdpr" / "retention")
        .and(warp::get())
        .and(allowed(state.clone(), perm::GDPR_VIEW))
        .and(with_state(state.clone()))
        .and_then(|_: Authed, state: AppState| async move {
            let preview = retention::preview(&state.store, &state.config.retention).await.map_err(reject)?;
            Ok::<_, Rejection>(warp::reply::json(&preview).into_response())
        });
    let purge = warp::path!("gdpr" / "retention" / "purge")
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::GDPR_MANAGE))
        .and(with_state(state))
        .and_then(|authed: Authed, state: AppState| async move {
            let purged =
                retention::purge(&state.store, &state.metrics, &state.config.retention, &authed.session.username)
                    .await
                    .map_err(reject)?;
            Ok::<_, Rejection>(warp::reply::json(&serde_json::json!({ "purged": purged })).into_response())
        });
    preview.or(purge).unify().boxed()
}
