//! The `parley_vid` tracking cookie (public listener): set only after the visitor agrees where
//! the site asks (`tracking = "consent"`), never where it is `off`; withdrawn from the widget.
//! The visitor socket reads the cookie to recognise a returning visitor (docs/gdpr.md,
//! "Tracking and objection").

use http::header::{COOKIE, HeaderValue, SET_COOKIE};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::filters::{json_body, with_state};
use super::rejection::{ApiError, reject};
use crate::app::AppState;
use crate::service::sites::{Site, Tracking};
use crate::store::TrackingState;

pub const VISITOR_COOKIE: &str = "parley_vid";
/// One year: the lifetime the privacy notice states.
pub const VISITOR_COOKIE_SECONDS: u64 = 365 * 86_400;

/// `Set-Cookie` for the visitor id. `SameSite=None; Partitioned`: the widget runs in an iframe on
/// the organisation's site, and the cookie is kept per embedding site (CHIPS), never shared.
pub fn set_visitor_cookie(vid: &str) -> String {
    format!(
        "{VISITOR_COOKIE}={vid}; Path=/; Secure; HttpOnly; SameSite=None; Partitioned; Max-Age={VISITOR_COOKIE_SECONDS}"
    )
}

fn clear_visitor_cookie() -> String {
    format!("{VISITOR_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=None; Partitioned; Max-Age=0")
}

/// The visitor id from the request's cookies, when it is one we issue (a UUID).
pub fn visitor_id(headers: &HeaderMap) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|header| {
        header.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == VISITOR_COOKIE).then(|| uuid::Uuid::parse_str(value).ok()).flatten().map(|u| u.to_string())
        })
    })
}

/// The visitor id a chat of `site` may be linked with: none where the site does not track, where
/// the visitor never agreed (on a site that asks), or where they withdrew or objected.
pub async fn trackable(state: &AppState, site: &Site, vid: Option<&str>) -> Option<String> {
    let vid = vid?;
    let allowed = match (site.tracking, state.store.tracking_state(vid).await) {
        (Tracking::Off, _) => false,
        (_, Err(err)) => {
            tracing::error!(error = %err, "reading the tracking state failed");
            false
        }
        (Tracking::Consent, Ok(state)) => state == TrackingState::Consented,
        (Tracking::Always, Ok(state)) => state != TrackingState::Refused,
    };
    allowed.then(|| vid.to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentBody {
    site: String,
    /// The visitor ticked "remember this device".
    consent: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteQuery {
    site: String,
}

fn unknown_site(key: &str) -> Rejection {
    reject(ApiError::new(StatusCode::NOT_FOUND, "unknown_site", format!("no site with key `{key}`")))
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_cookie(mut response: Response, cookie: String) -> Response {
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    no_store(response)
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    // Same-origin only in practice: the widget iframe calls it (the cookie is HttpOnly).
    let consent = warp::path!("widget" / "tracking")
        .and(warp::post())
        .and(json_body::<ConsentBody>(state.config.server.max_body_bytes))
        .and(warp::header::headers_cloned())
        .and(with_state(state.clone()))
        .and_then(|body: ConsentBody, headers: HeaderMap, state: AppState| async move {
            let site = state.sites.get(&body.site).ok_or_else(|| unknown_site(&body.site))?;
            let version = match site.tracking {
                Tracking::Off => {
                    return Err(reject(ApiError::new(
                        StatusCode::CONFLICT,
                        "tracking_off",
                        "this site does not remember visitors",
                    )));
                }
                Tracking::Consent if !body.consent => {
                    return Err(reject(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "consent_required",
                        "the visitor must agree before this site remembers them",
                    )));
                }
                Tracking::Consent => Some(state.privacy.version.clone()),
                Tracking::Always => None,
            };
            let vid = visitor_id(&headers).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let remembered = state.store.allow_tracking(vid.clone(), version).await.map_err(reject)?;
            if !remembered {
                // The person objected to profiling: no cookie, whatever the widget asks.
                let reply = warp::reply::json(&serde_json::json!({ "remembered": false }));
                return Ok::<_, Rejection>(with_cookie(reply.into_response(), clear_visitor_cookie()));
            }
            tracing::info!(site = %site.key, "visitor agreed to be remembered");
            let reply = warp::reply::json(&serde_json::json!({ "remembered": true }));
            Ok(with_cookie(reply.into_response(), set_visitor_cookie(&vid)))
        });
    let status = warp::path!("widget" / "tracking")
        .and(warp::get())
        .and(warp::query::<SiteQuery>())
        .and(warp::header::headers_cloned())
        .and(with_state(state.clone()))
        .and_then(|query: SiteQuery, headers: HeaderMap, state: AppState| async move {
            let site = state.sites.get(&query.site).ok_or_else(|| unknown_site(&query.site))?;
            let vid = visitor_id(&headers);
            let remembered = trackable(&state, &site, vid.as_deref()).await.is_some();
            let reply = warp::reply::json(&serde_json::json!({
                "tracking": site.tracking,
                "remembered": remembered,
            }));
            Ok::<_, Rejection>(no_store(reply.into_response()))
        });
    let withdraw = warp::path!("widget" / "tracking")
        .and(warp::delete())
        .and(warp::header::headers_cloned())
        .and(with_state(state))
        .and_then(|headers: HeaderMap, state: AppState| async move {
            if let Some(vid) = visitor_id(&headers)
                && state.store.withdraw_tracking(vid).await.map_err(reject)?
            {
                tracing::info!("visitor withdrew consent to be remembered");
            }
            let response = warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response();
            Ok::<_, Rejection>(with_cookie(response, clear_visitor_cookie()))
        });
    consent.or(status).unify().or(withdraw).unify().boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_our_cookie_and_only_a_uuid() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; parley_vid=not-a-uuid"));
        assert_eq!(visitor_id(&headers), None);
        headers.append(COOKIE, HeaderValue::from_static("parley_vid=0B4E2C7A-7C0E-4A43-9D6A-3A8D2F6F0D11; b=2"));
        assert_eq!(visitor_id(&headers).as_deref(), Some("0b4e2c7a-7c0e-4a43-9d6a-3a8d2f6f0d11"));
        assert!(set_visitor_cookie("x").contains("Partitioned"));
        assert!(clear_visitor_cookie().contains("Max-Age=0"));
    }
}
