//! Sign-in (password, then a TOTP or recovery code for enrolled accounts), sign-out and
//! "who am I".

use std::net::SocketAddr;

use http::StatusCode;
use http::header::{CACHE_CONTROL, HeaderValue, SET_COOKIE};
use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::auth::session::{clear_cookie, set_cookie};
use crate::http::filters::{Authed, json_body, peer, staff, staff_mutation, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::accounts::{AccountError, LoginAttempt, StaffSession};
use crate::util::rfc3339;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
    /// Six-digit code from the authenticator app, or a one-time recovery code.
    #[serde(default)]
    totp_code: Option<String>,
}

#[derive(Serialize)]
struct UserView<'a> {
    username: &'a str,
    display_name: &'a str,
    role: &'a str,
    source: &'a str,
    must_change_password: bool,
    totp_enrolment_required: bool,
    totp_enabled: bool,
}

#[derive(Serialize)]
struct SessionView<'a> {
    csrf_token: &'a str,
    /// What must happen before anything else: `password_change_required`,
    /// `totp_enrolment_required`, or null.
    pending: Option<&'static str>,
    expires_at: String,
    user: UserView<'a>,
    /// What the user's role may do, as `module.action` names (the pages show what fits).
    permissions: Vec<String>,
}

impl<'a> SessionView<'a> {
    fn of(session: &'a StaffSession, permissions: crate::domain::PermissionSet) -> SessionView<'a> {
        SessionView {
            permissions: permissions.names(),
            csrf_token: &session.csrf_token,
            pending: session.pending_step(),
            expires_at: rfc3339(session.expires_at),
            user: UserView {
                username: &session.username,
                display_name: &session.display_name,
                role: &session.role,
                source: &session.source,
                must_change_password: session.must_change_password,
                totp_enrolment_required: session.totp_enrolment_required,
                totp_enabled: session.totp_enabled,
            },
        }
    }
}

/// Routes under `/api/v1`.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let login = warp::path("session")
        .and(warp::path::end())
        .and(warp::post())
        .and(json_body::<LoginBody>(state.config.server.max_body_bytes))
        .and(peer())
        .and(warp::header::optional::<String>("user-agent"))
        .and(with_state(state.clone()))
        .and_then(login);
    let logout = warp::path("session")
        .and(warp::path::end())
        .and(warp::delete())
        .and(staff_mutation(state.clone()))
        .and(with_state(state.clone()))
        .and_then(logout);
    let me = warp::path("me").and(warp::path::end()).and(warp::get()).and(staff(state)).map(|authed: Authed| {
        no_store(warp::reply::json(&SessionView::of(&authed.session, authed.permissions)).into_response())
    });
    login.or(logout).unify().or(me).unify().boxed()
}

const MAX_FIELD: usize = 1024;

async fn login(
    body: LoginBody,
    peer: SocketAddr,
    user_agent: Option<String>,
    state: AppState,
) -> Result<Response, Rejection> {
    if let Err(retry_after) = state.login_limiter.check(&peer.ip()) {
        return Err(warp::reject::custom(ApiError::rate_limited(retry_after)));
    }
    let code_len = body.totp_code.as_deref().map_or(0, str::len);
    if body.username.len() > MAX_FIELD || body.password.len() > MAX_FIELD || code_len > 64 {
        return Err(warp::reject::custom(ApiError::new(
            StatusCode::BAD_REQUEST,
            "too_long",
            format!("user name and password may have at most {MAX_FIELD} bytes, a code at most 64"),
        )));
    }
    let attempt = LoginAttempt {
        username: &body.username,
        password: &body.password,
        second_factor: body.totp_code.as_deref(),
        source_ip: peer.ip(),
        user_agent: user_agent.as_deref().unwrap_or_default(),
    };
    match state.accounts.login(attempt).await {
        Ok(outcome) => {
            tracing::info!(user_id = outcome.session.user_id, "staff login");
            let mut response =
                warp::reply::json(&SessionView::of(&outcome.session, state.roles.permissions(&outcome.session.role)))
                    .into_response();
            if let Ok(cookie) = HeaderValue::from_str(&set_cookie(&outcome.token, outcome.max_age_seconds)) {
                response.headers_mut().insert(SET_COOKIE, cookie);
            }
            Ok(no_store(response))
        }
        Err(err) => {
            if !matches!(err, AccountError::TotpRequired) {
                state.metrics.login_failed();
            }
            Err(reject(err))
        }
    }
}

async fn logout(authed: Authed, state: AppState) -> Result<Response, Rejection> {
    state.accounts.logout(&authed.session, &authed.token).await.map_err(reject)?;
    // Signing out ends the live-chat connections of this user too.
    state.chat.hub().revoke_user(authed.session.user_id);
    tracing::info!(user_id = authed.session.user_id, "staff logout");
    let mut response = warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&clear_cookie()) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    Ok(response)
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
