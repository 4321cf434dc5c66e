//! `GET /gdpr/subjects/{id}/export?format=…` (the file, as an attachment) and
//! `POST /gdpr/subjects/{id}/export/email` (queued to the person's own address), for the DPO and
//! administrators.

use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, allowed_mutation, json_body, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::export::{self, ExportError, Format};
use crate::service::mail::MailError;

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    format: String,
    email: Option<String>,
}

fn export_error(err: ExportError) -> Rejection {
    let message = err.to_string();
    reject(match err {
        ExportError::Format(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_format", message),
        ExportError::Unknown(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_subject", message),
        ExportError::NoAddress(_) => ApiError::new(StatusCode::CONFLICT, "no_address", message),
        ExportError::NotTheirs => ApiError::new(StatusCode::BAD_REQUEST, "not_their_address", message),
        ExportError::Mail(MailError::Disabled) => ApiError::new(StatusCode::CONFLICT, "no_mail", message),
        ExportError::Mail(MailError::Address(m)) => ApiError::new(StatusCode::CONFLICT, "bad_address", m),
        ExportError::Mail(MailError::Store(store)) | ExportError::Store(store) => ApiError::from(store),
        ExportError::Mail(other @ (MailError::WindowClosed(_) | MailError::LimitReached(_))) => {
            ApiError::new(StatusCode::CONFLICT, other.code(), message)
        }
        ExportError::Render(..) => {
            tracing::error!(error = %message, "export");
            ApiError::internal()
        }
    })
}

fn format_of(raw: Option<&str>) -> Result<Format, Rejection> {
    let raw = raw.ok_or_else(|| {
        reject(ApiError::new(StatusCode::BAD_REQUEST, "invalid_format", "give format=json, csv, xlsx or pdf"))
    })?;
    Format::parse(raw).map_err(export_error)
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let download = warp::path!("gdpr" / "subjects" / i64 / "export")
        .and(warp::get())
        .and(allowed(state.clone(), perm::GDPR_EXPORT))
        .and(warp::query::<ExportQuery>())
        .and(with_state(state.clone()))
        .and_then(|subject: i64, authed: Authed, query: ExportQuery, state: AppState| async move {
            let format = format_of(query.format.as_deref())?;
            let file =
                export::export(&state.store, subject, format, &authed.session.username).await.map_err(export_error)?;
            let mut response = warp::reply::Response::new(file.bytes.into());
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(file.content_type));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // The name is parley-subject-<number>.<format>, safe in the header.
            if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.file_name)) {
                headers.insert(CONTENT_DISPOSITION, value);
            }
            Ok::<_, Rejection>(response)
        });
    let email = warp::path!("gdpr" / "subjects" / i64 / "export" / "email")
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::GDPR_EXPORT))
        .and(json_body::<EmailBody>(state.config.server.max_body_bytes))
        .and(with_state(state))
        .and_then(|subject: i64, authed: Authed, body: EmailBody, state: AppState| async move {
            let format = format_of(Some(&body.format))?;
            let queued = export::email(
                &state.store,
                &state.mailer,
                subject,
                format,
                body.email.as_deref(),
                &authed.session.username,
            )
            .await
            .map_err(export_error)?;
            let reply = serde_json::json!({ "subject": subject, "mail_id": queued.mail_id, "inline": queued.inline });
            Ok::<_, Rejection>(
                warp::reply::with_status(warp::reply::json(&reply), StatusCode::ACCEPTED).into_response(),
            )
        });
    download.or(email).unify().boxed()
}
