//! `/gdpr/retention`: the retention settings with what a purge would delete now, and a purge
//! run by hand (DPO and administrators; audited as `retention.purge`).

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::gdpr::role_in;
use crate::app::AppState;
use crate::http::filters::{Authed, staff, staff_mutation, with_state};
use crate::http::rejection::reject;
use crate::service::retention;

const WHO: &[&str] = &["dpo", "administrator"];
const ONLY: &str = "the DPO and administrators manage retention";

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let preview = warp::path!("gdpr" / "retention")
        .and(warp::get())
        .and(staff(state.clone()))
        .and(with_state(state.clone()))
        .and_then(|authed: Authed, state: AppState| async move {
            role_in(&authed, WHO, ONLY)?;
            let preview = retention::preview(&state.store, &state.config.retention).await.map_err(reject)?;
            Ok::<_, Rejection>(warp::reply::json(&preview).into_response())
        });
    let purge = warp::path!("gdpr" / "retention" / "purge")
        .and(warp::post())
        .and(staff_mutation(state.clone()))
        .and(with_state(state))
        .and_then(|authed: Authed, state: AppState| async move {
            role_in(&authed, WHO, ONLY)?;
            let purged =
                retention::purge(&state.store, &state.metrics, &state.config.retention, &authed.session.username)
                    .await
                    .map_err(reject)?;
            Ok::<_, Rejection>(warp::reply::json(&serde_json::json!({ "purged": purged })).into_response())
        });
    preview.or(purge).unify().boxed()
}
