//! Access-log reports for the DPO: who has accessed a person's data, and the scope of a possible
//! breach (for the 72-hour notification to the ICO), as JSON or CSV.

use http::StatusCode;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::store::AuditEntry;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeQuery {
    /// First day included (YYYY-MM-DD, UTC).
    from: String,
    /// Last day included.
    to: String,
    /// Only what this staff account did.
    user: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

fn bad(message: impl Into<String>) -> Rejection {
    reject(ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message))
}

fn day(raw: &str, field: &str, plus_days: i64) -> Result<i64, Rejection> {
    crate::service::hours::parse_date(raw)
        .map(|d| d.midnight().assume_utc().unix_timestamp() + plus_days * 86_400)
        .ok_or_else(|| bad(format!("{field} must be a date like 2026-11-23")))
}

/// A CSV field, quoted when needed (RFC 4180).
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let access = warp::path!("gdpr" / "subjects" / i64 / "access")
        .and(warp::get())
        .and(allowed(state.clone(), perm::AUDIT_VIEW))
        .and(with_state(state.clone()))
        .and_then(|subject: i64, authed: Authed, state: AppState| async move {
            let rows = state.store.access_to_subject(subject).await.map_err(reject)?;
            state
                .store
                .audit(AuditEntry::new(authed.session.username.clone(), "gdpr.access_report").subject(subject))
                .await
                .map_err(reject)?;
            let list: Vec<_> = rows
                .into_iter()
                .map(|r| {
                    serde_json::json!({ "at": crate::util::rfc3339(r.at), "actor": r.actor, "action": r.action, "details": r.details })
                })
                .collect();
            Ok::<_, Rejection>(warp::reply::json(&list).into_response())
        });
    let scope = warp::path!("gdpr" / "breach-scope")
        .and(warp::get())
        .and(allowed(state.clone(), perm::AUDIT_VIEW))
        .and(warp::query::<ScopeQuery>())
        .and(with_state(state))
        .and_then(|authed: Authed, query: ScopeQuery, state: AppState| async move {
            let from = day(&query.from, "from", 0)?;
            let until = day(&query.to, "to", 1)?;
            if until <= from {
                return Err(bad("to must not be before from"));
            }
            let csv = match query.format.as_deref() {
                None | Some("json") => false,
                Some("csv") => true,
                Some(_) => return Err(bad("format is json or csv")),
            };
            let user = query.user.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(str::to_lowercase);
            let affected = state.store.breach_scope(from, until, user.as_deref()).await.map_err(reject)?;
            let details = format!(
                "{} to {}{}",
                query.from,
                query.to,
                user.as_deref().map(|u| format!(", user {u}")).unwrap_or_default()
            );
            state
                .store
                .audit(
                    AuditEntry::new(authed.session.username.clone(), "gdpr.breach_scope")
                        .target(format!("{} subjects", affected.len()))
                        .details(details),
                )
                .await
                .map_err(reject)?;
            if !csv {
                return Ok::<_, Rejection>(
                    warp::reply::json(&serde_json::json!({ "subjects": affected })).into_response(),
                );
            }
            let mut body = String::from("subject,categories,reasons\r\n");
            for a in &affected {
                body.push_str(&format!(
                    "{},{},{}\r\n",
                    a.subject,
                    csv_field(&a.categories.join(" ")),
                    csv_field(&a.reasons.join("; "))
                ));
            }
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/csv; charset=utf-8"));
            headers.insert(
                http::header::CONTENT_DISPOSITION,
                http::HeaderValue::from_static("attachment; filename=\"breach-scope.csv\""),
            );
            Ok(response)
        });
    access.or(scope).unify().boxed()
}
