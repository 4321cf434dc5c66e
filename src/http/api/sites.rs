//! Sites that may embed the widget: list for all staff, changes for administrators.

use http::StatusCode;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, allowed_mutation, json_body, with_state};
use crate::http::rejection::ApiError;
use crate::service::sites::{SiteError, SiteInput};

fn site_error(err: SiteError) -> Rejection {
    warp::reject::custom(match err {
        SiteError::Invalid(message) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", message),
        SiteError::Unknown(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_site", err.to_string()),
        SiteError::Store(store) => ApiError::from(store),
    })
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let list = warp::path("sites")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::SETTINGS_VIEW))
        .and(with_state(state.clone()))
        .map(|_: Authed, state: AppState| warp::reply::json(&state.sites.list()).into_response());
    let put = warp::path!("sites" / String)
        .and(warp::put())
        .and(allowed_mutation(state.clone(), perm::SETTINGS_MANAGE))
        .and(json_body::<SiteInput>(state.config.server.max_body_bytes))
        .and(with_state(state.clone()))
        .and_then(|key: String, authed: Authed, body: SiteInput, state: AppState| async move {
            let site = state.sites.save(&key, body).await.map_err(site_error)?;
            tracing::info!(user_id = authed.session.user_id, site = %site.key, "site saved");
            super::audit_change(&state, &authed, "settings.site_saved", format!("site {}", site.key)).await?;
            Ok::<_, Rejection>(warp::reply::json(&site).into_response())
        });
    let delete = warp::path!("sites" / String)
        .and(warp::delete())
        .and(allowed_mutation(state.clone(), perm::SETTINGS_MANAGE))
        .and(with_state(state))
        .and_then(|key: String, authed: Authed, state: AppState| async move {
            state.sites.delete(&key).await.map_err(site_error)?;
            tracing::info!(user_id = authed.session.user_id, site = %key, "site deleted");
            super::audit_change(&state, &authed, "settings.site_deleted", format!("site {key}")).await?;
            Ok::<_, Rejection>(warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response())
        });
    list.or(put).unify().or(delete).unify().boxed()
}
