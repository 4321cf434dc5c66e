//! The one place errors become HTTP responses: `{"code": "...", "message": "..."}` with a
//! stable `code` for every status.

use std::convert::Infallible;

use http::StatusCode;
use serde::Serialize;
use warp::reject::Reject;
use warp::{Rejection, Reply};

use crate::service::accounts::AccountError;
use crate::store::StoreError;

/// An expected failure a handler reports.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl Reject for ApiError {}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None }
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first; the session is missing or has ended")
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on the server; it has been logged",
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn payload_too_large() -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than this server accepts (server.max_body_bytes)",
        )
    }

    /// The public listener's per-address connection cap (`server.public_connections_per_ip`).
    pub fn too_many_connections() -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            "this address has too many connections open; close some and try again",
        )
    }

    /// `/metrics` with `metrics.token_file` set, without the right bearer token.
    pub fn metrics_token_required() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "metrics_token_required",
            "send the token of metrics.token_file as `Authorization: Bearer <token>`",
        )
    }

    pub fn rate_limited(retry_after: u64) -> ApiError {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited",
            message: format!("too many attempts; try again in {retry_after} seconds"),
            retry_after: Some(retry_after),
        }
    }

    pub fn into_response(self) -> warp::reply::Response {
        let body = ErrorBody { code: self.code, message: &self.message };
        let mut response = warp::reply::with_status(warp::reply::json(&body), self.status).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = http::HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(http::header::RETRY_AFTER, value);
        }
        response.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", format!("{what} already exists"))
            }
            other => {
                tracing::error!(error = %other, "storage error");
                ApiError::internal()
            }
        }
    }
}

impl From<crate::service::chat::ChatError> for ApiError {
    fn from(err: crate::service::chat::ChatError) -> Self {
        match err {
            crate::service::chat::ChatError::Store(store) => ApiError::from(store),
            forbidden @ crate::service::chat::ChatError::Forbidden(_) => {
                ApiError::new(StatusCode::FORBIDDEN, forbidden.code(), forbidden.to_string())
            }
            other => ApiError::new(StatusCode::BAD_REQUEST, other.code(), other.to_string()),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        use AccountError as E;
        let status = StatusCode::BAD_REQUEST;
        match err {
            E::InvalidCredentials => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", err.to_string()),
            E::NoSession => ApiError::unauthenticated(),
            E::BadUsername(m) => ApiError::new(status, "bad_username", m),
            E::BadRole(m) => ApiError::new(status, "bad_role", m),
            E::WeakPassword(m) => ApiError::new(status, "weak_password", m),
            E::UnknownUser(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_user", err.to_string()),
            E::Conflict(what) => ApiError::new(StatusCode::CONFLICT, "conflict", format!("{what} already exists")),
            E::Store(store) => store.into(),
            E::Hash(crate::auth::password::HashError::Busy) => ApiError {
                retry_after: Some(2),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", err.to_string())
            },
            E::Hash(hash) => {
                tracing::error!(error = %hash, "password hashing failed");
                ApiError::internal()
            }
            E::RateLimited(seconds) => ApiError::rate_limited(seconds),
            E::Restricted(refusal) => ApiError::new(StatusCode::FORBIDDEN, refusal.code(), refusal.message()),
            E::Directory(directory) => directory_error(directory),
            E::TotpRequired => ApiError::new(StatusCode::UNAUTHORIZED, "totp_required", err.to_string()),
            E::TotpInvalid => ApiError::new(StatusCode::UNAUTHORIZED, "totp_invalid", err.to_string()),
            E::WrongPassword => ApiError::new(StatusCode::FORBIDDEN, "wrong_password", err.to_string()),
            E::PasswordReused(_) => ApiError::new(status, "password_reused", err.to_string()),
            E::DirectoryAccount => ApiError::new(StatusCode::CONFLICT, "directory_account", err.to_string()),
            E::TotpAlreadyEnabled => ApiError::new(StatusCode::CONFLICT, "totp_enabled", err.to_string()),
            E::TotpNotStarted => ApiError::new(StatusCode::CONFLICT, "totp_not_started", err.to_string()),
            E::UnknownSession => ApiError::new(StatusCode::NOT_FOUND, "unknown_session", err.to_string()),
            E::Crypto(crypto) => {
                tracing::error!(error = %crypto, "sealing a staff secret failed");
                ApiError::internal()
            }
            E::Internal(problem) => {
                tracing::error!(error = %problem, "account operation failed");
                ApiError::internal()
            }
        }
    }
}

impl From<crate::service::audit::AuditError> for ApiError {
    fn from(err: crate::service::audit::AuditError) -> Self {
        match err {
            crate::service::audit::AuditError::Store(store) => store.into(),
            other => {
                tracing::error!(error = %other, "audit anchor");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "audit_anchor_unreadable", other.to_string())
            }
        }
    }
}

/// Active Directory / LDAP sign-in failures other than a wrong name or password.
fn directory_error(err: crate::service::directory::DirectoryError) -> ApiError {
    use crate::service::directory::DirectoryError as D;
    match err {
        D::Unavailable => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "directory_unavailable", err.to_string()),
        D::Refused { .. } => ApiError::new(StatusCode::FORBIDDEN, "directory_refused", err.to_string()),
        D::Store(store) => store.into(),
        other => {
            tracing::error!(error = %other, "directory sign-in failed");
            ApiError::internal()
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

/// A rejection carrying anything that maps to an `ApiError` (store and account errors too).
pub fn reject(err: impl Into<ApiError>) -> Rejection {
    warp::reject::custom(err.into())
}

/// Maps every rejection (ours and warp's) to the JSON error shape.
pub async fn handle_rejection(rejection: Rejection) -> Result<warp::reply::Response, Infallible> {
    Ok(to_api_error(&rejection).into_response())
}

fn to_api_error(rejection: &Rejection) -> ApiError {
    use warp::reject;
    if let Some(err) = rejection.find::<ApiError>() {
        return ApiError {
            status: err.status,
            code: err.code,
            message: err.message.clone(),
            retry_after: err.retry_after,
        };
    }
    if rejection.is_not_found() {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such page or API route");
    }
    if let Some(err) = rejection.find::<warp::filters::body::BodyDeserializeError>() {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the request body is not valid JSON for this route: {err}"),
        );
    }
    if rejection.find::<reject::PayloadTooLarge>().is_some() {
        return ApiError::payload_too_large();
    }
    if rejection.find::<reject::LengthRequired>().is_some() {
        return ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "length_required",
            "send a Content-Length header with the body",
        );
    }
    if rejection.find::<reject::UnsupportedMediaType>().is_some() {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        );
    }
    if rejection.find::<reject::MethodNotAllowed>().is_some() {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not accept that HTTP method",
        );
    }
    if let Some(err) = rejection.find::<reject::MissingHeader>() {
        return ApiError::new(StatusCode::BAD_REQUEST, "missing_header", err.to_string());
    }
    if let Some(err) = rejection.find::<reject::InvalidHeader>() {
        return ApiError::new(StatusCode::BAD_REQUEST, "bad_header", err.to_string());
    }
    if let Some(err) = rejection.find::<reject::InvalidQuery>() {
        return ApiError::new(StatusCode::BAD_REQUEST, "bad_query", err.to_string());
    }
    tracing::error!(rejection = ?rejection, "unhandled rejection");
    ApiError::internal()
}
