//! Filters shared by several routes: state, peer address, body limits, staff authentication
//! and CSRF checks.

use std::convert::Infallible;
use std::net::SocketAddr;

use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use warp::{Filter, Rejection};

use super::rejection::{ApiError, reject};
use super::serve::PeerAddr;
use crate::app::AppState;
use crate::auth::session::{self, constant_time_eq};
use crate::domain::{Permission, PermissionSet, Reach};
use crate::service::accounts::StaffSession;

pub fn with_state(state: AppState) -> impl Filter<Extract = (AppState,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// The client's socket address, set by the accept loop.
pub fn peer() -> impl Filter<Extract = (SocketAddr,), Error = Infallible> + Clone {
    warp::ext::optional::<PeerAddr>()
        .map(|peer: Option<PeerAddr>| peer.map(|p| p.0).unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0))))
}

/// A JSON body no larger than `max_body_bytes` (`server.max_body_bytes`).
pub fn json_body<T: DeserializeOwned + Send>(
    max_body_bytes: u64,
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::body::content_length_limit(max_body_bytes).and(warp::body::json())
}

/// A signed-in staff member and their cookie token.
#[derive(Debug, Clone)]
pub struct Authed {
    pub session: StaffSession,
    pub token: String,
    /// What the session's role may do (resolved on every request, so role edits apply at once).
    pub permissions: PermissionSet,
    /// The chats, offline requests and transcripts the role's team scope reaches (resolved on
    /// every request too).
    pub reach: Reach,
}

impl Authed {
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.has(permission)
    }

    /// 403 `forbidden` naming the missing permission.
    pub fn require(&self, permission: Permission) -> Result<(), Rejection> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(warp::reject::custom(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("your role ({}) does not have the permission {permission}", self.session.role),
            )))
        }
    }
}

/// A live session whose role holds `permission` (checked before the body is read).
pub fn allowed(state: AppState, permission: Permission) -> impl Filter<Extract = (Authed,), Error = Rejection> + Clone {
    staff(state).and_then(move |authed: Authed| async move { authed.require(permission).map(|()| authed) })
}

/// As `allowed`, for state-changing requests (CSRF token checked too).
pub fn allowed_mutation(
    state: AppState,
    permission: Permission,
) -> impl Filter<Extract = (Authed,), Error = Rejection> + Clone {
    staff_mutation(state).and_then(move |authed: Authed| async move { authed.require(permission).map(|()| authed) })
}

/// Requires a live staff session cookie.
pub fn staff(state: AppState) -> impl Filter<Extract = (Authed,), Error = Rejection> + Clone {
    let head = warp::header::headers_cloned().and(warp::path::full());
    head.and(with_state(state)).and_then(|headers: HeaderMap, path: warp::path::FullPath, state: AppState| async move {
        let token = cookie_token(&headers).ok_or_else(|| warp::reject::custom(ApiError::unauthenticated()))?;
        let session = state.accounts.authenticate(&token).await.map_err(reject)?;
        pending_step_gate(&session, path.as_str())?;
        let permissions = state.roles.permissions(&session.role);
        let reach = state.departments.reach(state.roles.scope(&session.role), session.user_id);
        Ok::<_, Rejection>(Authed { session, token, permissions, reach })
    })
}

/// While a password change or two-factor enrolment is due, only "who am I", sign-out and the
/// own-account routes answer; everything else is 403 with the step's code.
fn pending_step_gate(session: &StaffSession, path: &str) -> Result<(), Rejection> {
    let Some(code) = session.pending_step() else { return Ok(()) };
    let open = matches!(path, "/api/v1/me" | "/api/v1/session" | "/api/v1/account")
        || path.starts_with("/api/v1/account/password")
        || path.starts_with("/api/v1/account/totp");
    if open {
        return Ok(());
    }
    let message = match code {
        "password_change_required" => "change your password first (Account page, or POST /api/v1/account/password)",
        _ => "your role requires two-factor sign-in: enrol an authenticator app first (Account page)",
    };
    Err(warp::reject::custom(ApiError::new(StatusCode::FORBIDDEN, code, message)))
}

/// Requires a live session and, as every state-changing request must, its CSRF token in the
/// `X-CSRF-Token` header.
pub fn staff_mutation(state: AppState) -> impl Filter<Extract = (Authed,), Error = Rejection> + Clone {
    staff(state).and(warp::header::optional::<String>(session::CSRF_HEADER)).and_then(
        |authed: Authed, csrf: Option<String>| async move {
            match csrf {
                Some(token) if constant_time_eq(token.as_bytes(), authed.session.csrf_token.as_bytes()) => Ok(authed),
                _ => Err(warp::reject::custom(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf_failed",
                    "missing or wrong X-CSRF-Token header; reload the page and try again",
                ))),
            }
        },
    )
}

/// The session token from all `Cookie` headers (HTTP/2 may send several).
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| session::token_from_cookie_header(v).map(str::to_owned))
}
