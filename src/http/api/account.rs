//! The signed-in user's own account (password, two-factor sign-in, sessions) and the
//! unlock and "end all sessions" for another user (users.manage).

use http::StatusCode;
use http::header::{CACHE_CONTROL, HeaderValue};
use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed_mutation, json_body, staff, staff_mutation, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::accounts::AccountError;
use crate::util::rfc3339;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmPasswordBody {
    password: String,
}

#[derive(Serialize)]
struct AccountView {
    username: String,
    display_name: String,
    role: String,
    source: String,
    must_change_password: bool,
    totp_enabled: bool,
    totp_enrolment_required: bool,
    recovery_codes_left: i64,
}

#[derive(Serialize)]
struct EnrolmentView {
    secret: String,
    otpauth_uri: String,
    qr_svg: String,
}

#[derive(Serialize)]
struct SessionView {
    id: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    source_ip: String,
    user_agent: String,
    current: bool,
}

const MAX_FIELD: usize = 1024;

/// Routes under `/api/v1`.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let limit = state.config.server.max_body_bytes;
    let account = warp::path("account");
    let show = account
        .and(warp::path::end())
        .and(warp::get())
        .and(staff(state.clone()))
        .and(with_state(state.clone()))
        .and_then(show);
    let password = account
        .and(warp::path("password"))
        .and(warp::path::end())
        .and(warp::post())
        .and(staff_mutation(state.clone()))
        .and(json_body::<PasswordBody>(limit))
        .and(with_state(state.clone()))
        .and_then(change_password);
    let totp = account.and(warp::path("totp"));
    let enrol = totp
        .and(warp::path::end())
        .and(warp::post())
        .and(staff_mutation(state.clone()))
        .and(with_state(state.clone()))
        .and_then(enrol);
    let confirm = totp
        .and(warp::path("confirm"))
        .and(warp::path::end())
        .and(warp::post())
        .and(staff_mutation(state.clone()))
        .and(json_body::<CodeBody>(limit))
        .and(with_state(state.clone()))
        .and_then(confirm);
    let disable = totp
        .and(warp::path::end())
        .and(warp::delete())
        .and(staff_mutation(state.clone()))
        .and(json_body::<ConfirmPasswordBody>(limit))
        .and(with_state(state.clone()))
        .and_then(disable);
    let sessions = account.and(warp::path("sessions"));
    let list = sessions
        .and(warp::path::end())
        .and(warp::get())
        .and(staff(state.clone()))
        .and(with_state(state.clone()))
        .and_then(list_sessions);
    let revoke = sessions
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::delete())
        .and(staff_mutation(state.clone()))
        .and(with_state(state.clone()))
        .and_then(revoke_session);
    let users = warp::path("users").and(warp::path::param::<String>());
    let revoke_all = users
        .and(warp::path("sessions"))
        .and(warp::path::end())
        .and(warp::delete())
        .and(allowed_mutation(state.clone(), perm::USERS_MANAGE))
        .and(with_state(state.clone()))
        .and_then(revoke_user_sessions);
    let unlock = users
        .and(warp::path("unlock"))
        .and(warp::path::end())
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::USERS_MANAGE))
        .and(with_state(state))
        .and_then(unlock);
    show.or(password)
        .unify()
        .or(enrol)
        .unify()
        .or(confirm)
        .unify()
        .or(disable)
        .unify()
        .or(list)
        .unify()
        .or(revoke)
        .unify()
        .or(revoke_all)
        .unify()
        .or(unlock)
        .unify()
        .boxed()
}

async fn show(authed: Authed, state: AppState) -> Result<Response, Rejection> {
    let me = &authed.session;
    let recovery_codes_left = state.accounts.recovery_codes_left(me).await.map_err(reject)?;
    let view = AccountView {
        username: me.username.clone(),
        display_name: me.display_name.clone(),
        role: me.role.clone(),
        source: me.source.clone(),
        must_change_password: me.must_change_password,
        totp_enabled: me.totp_enabled,
        totp_enrolment_required: me.totp_enrolment_required,
        recovery_codes_left,
    };
    Ok(no_store(warp::reply::json(&view).into_response()))
}

async fn change_password(authed: Authed, body: PasswordBody, state: AppState) -> Result<Response, Rejection> {
    if body.current_password.len() > MAX_FIELD || body.new_password.len() > MAX_FIELD {
        return Err(too_long());
    }
    state
        .accounts
        .change_password(&authed.session, &authed.token, &body.current_password, &body.new_password)
        .await
        .map_err(reject)?;
    Ok(no_content())
}

async fn enrol(authed: Authed, state: AppState) -> Result<Response, Rejection> {
    let enrolment = state.accounts.start_totp(&authed.session).await.map_err(reject)?;
    let view = EnrolmentView { secret: enrolment.secret, otpauth_uri: enrolment.uri, qr_svg: enrolment.qr_svg };
    Ok(no_store(warp::reply::json(&view).into_response()))
}

async fn confirm(authed: Authed, body: CodeBody, state: AppState) -> Result<Response, Rejection> {
    if body.code.len() > 64 {
        return Err(too_long());
    }
    // A wrong code here is a bad request, not a failed sign-in (401 would end the page).
    let codes = state.accounts.confirm_totp(&authed.session, &body.code).await.map_err(|err| match err {
        AccountError::TotpInvalid => {
            warp::reject::custom(ApiError::new(StatusCode::BAD_REQUEST, "totp_invalid", err.to_string()))
        }
        other => reject(other),
    })?;
    Ok(no_store(warp::reply::json(&serde_json::json!({ "recovery_codes": codes })).into_response()))
}

async fn disable(authed: Authed, body: ConfirmPasswordBody, state: AppState) -> Result<Response, Rejection> {
    if body.password.len() > MAX_FIELD {
        return Err(too_long());
    }
    state.accounts.disable_totp(&authed.session, &body.password).await.map_err(reject)?;
    Ok(no_content())
}

async fn list_sessions(authed: Authed, state: AppState) -> Result<Response, Rejection> {
    let sessions = state.accounts.sessions(&authed.session).await.map_err(reject)?;
    let views: Vec<SessionView> = sessions
        .into_iter()
        .map(|s| SessionView {
            id: s.id,
            created_at: rfc3339(s.created_at),
            last_seen_at: rfc3339(s.last_seen_at),
            expires_at: rfc3339(s.expires_at),
            source_ip: s.source_ip,
            user_agent: s.user_agent,
            current: s.current,
        })
        .collect();
    Ok(no_store(warp::reply::json(&serde_json::json!({ "sessions": views })).into_response()))
}

async fn revoke_session(id: String, authed: Authed, state: AppState) -> Result<Response, Rejection> {
    state.accounts.revoke_own_session(&authed.session, &id).await.map_err(reject)?;
    // The hub knows users, not sessions: close this user's live-chat sockets; the dashboards
    // of the sessions still signed in reconnect by themselves.
    state.chat.hub().revoke_user(authed.session.user_id);
    Ok(no_content())
}

async fn revoke_user_sessions(username: String, authed: Authed, state: AppState) -> Result<Response, Rejection> {
    let (user_id, ended) =
        state.accounts.revoke_user_sessions(&authed.session.username, &username).await.map_err(reject)?;
    state.chat.hub().revoke_user(user_id);
    Ok(no_store(warp::reply::json(&serde_json::json!({ "ended": ended })).into_response()))
}

async fn unlock(username: String, authed: Authed, state: AppState) -> Result<Response, Rejection> {
    state.accounts.unlock(&authed.session.username, &username).await.map_err(reject)?;
    Ok(no_content())
}

fn too_long() -> Rejection {
    warp::reject::custom(ApiError::new(
        StatusCode::BAD_REQUEST,
        "too_long",
        format!("passwords may have at most {MAX_FIELD} bytes, codes at most 64"),
    ))
}

fn no_content() -> Response {
    warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response()
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
