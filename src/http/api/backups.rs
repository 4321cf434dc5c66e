//! Backups, for administrators only: the list with the last run and any warning, "back up
//! now", and download of an encrypted file (useless without the offline identity).

use bytes::Bytes;
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use tokio::io::AsyncReadExt;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::backup::{BackupError, Backups, Trigger};
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, allowed_mutation, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::store::AuditEntry;

const CHUNK: usize = 64 * 1024;

fn backup_error(err: BackupError) -> Rejection {
    use BackupError as E;
    warp::reject::custom(match err {
        E::NoRecipients | E::BadRecipient(_) => {
            ApiError::new(StatusCode::CONFLICT, "backups_not_configured", err.to_string())
        }
        E::Busy(_) => ApiError::new(StatusCode::CONFLICT, "backup_running", err.to_string()),
        E::BadName(_) => ApiError::new(StatusCode::BAD_REQUEST, "bad_name", err.to_string()),
        E::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, "unknown_backup", err.to_string()),
        E::Store(store) => ApiError::from(store),
        other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "backup_failed", other.to_string()),
    })
}

fn backups(state: &AppState) -> Backups {
    Backups::new(state.store.clone(), &state.config, state.metrics.clone())
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let list = warp::path("backups")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::BACKUPS_VIEW))
        .and(with_state(state.clone()))
        .and_then(|_: Authed, state: AppState| async move {
            let status = backups(&state).status().await.map_err(backup_error)?;
            Ok::<_, Rejection>(warp::reply::json(&status).into_response())
        });
    let create = warp::path("backups")
        .and(warp::path::end())
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::BACKUPS_MANAGE))
        .and(with_state(state.clone()))
        .and_then(|authed: Authed, state: AppState| async move {
            let backups = backups(&state);
            let actor = authed.session.username.clone();
            // Its own task: a client that goes away does not cut a backup short.
            let run = tokio::spawn(async move { backups.create(Trigger::Manual, &actor, None).await })
                .await
                .map_err(|_| reject(ApiError::internal()))?
                .map_err(backup_error)?;
            tracing::info!(user_id = authed.session.user_id, run = run.id, "backup made from the Backups page");
            Ok::<_, Rejection>(warp::reply::with_status(warp::reply::json(&run), StatusCode::CREATED).into_response())
        });
    let download = warp::path!("backups" / String / "download")
        .and(warp::get())
        .and(allowed(state.clone(), perm::BACKUPS_EXPORT))
        .and(with_state(state))
        .and_then(|name: String, authed: Authed, state: AppState| async move {
            let (path, size) = backups(&state).file(&name).map_err(backup_error)?;
            let file = tokio::fs::File::open(&path).await.map_err(|e| {
                tracing::error!(path = %path.display(), error = %e, "cannot open a backup for download");
                reject(ApiError::internal())
            })?;
            let entry = AuditEntry::new(authed.session.username.clone(), "backup.download").target(&name);
            state.store.audit(entry).await.map_err(reject)?;
            Ok::<_, Rejection>(download_response(file, &name, size))
        });
    list.or(create).unify().or(download).unify().boxed()
}

/// The file as an attachment, streamed in chunks.
fn download_response(file: tokio::fs::File, name: &str, size: u64) -> Response {
    let chunks = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(err) => Some((Err(err), None)),
        }
    });
    let mut response = warp::reply::stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
    // The name was checked to be parley-YYYYMMDD-HHMMSS.db.age, so it is safe in the header.
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    response
}
