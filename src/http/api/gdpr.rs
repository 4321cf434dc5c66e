//! Data requests (search, export and erasure of a data subject's data) and the audit log.

mod export;

use http::StatusCode;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, allowed_mutation, json_body, staff_mutation, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::gdpr::{self, By, GdprError};
use crate::store::{AuditEntry, AuditFilter, AuditRow};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchBody {
    by: By,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// First day included (YYYY-MM-DD, a UTC day).
    from: Option<String>,
    /// Last day included.
    to: Option<String>,
    /// Only what this actor did (a user name, `system` or `cli`).
    actor: Option<String>,
    /// Only actions starting with this, e.g. `auth.`.
    action: Option<String>,
    limit: Option<i64>,
    /// `json` (default) or `csv` (needs audit.export; the download is itself audited).
    format: Option<String>,
}

/// Most entries in one JSON page and in one CSV download.
const MAX_JSON: i64 = 1000;
const MAX_CSV: i64 = 50_000;

fn bad_query(message: impl Into<String>) -> Rejection {
    reject(ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message))
}

/// A query value with the surrounding spaces removed; empty counts as not given.
fn given(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Unix seconds of the UTC midnight starting `raw` (YYYY-MM-DD) plus `plus_days` days.
fn day_start(raw: &str, field: &str, plus_days: i64) -> Result<i64, Rejection> {
    crate::service::hours::parse_date(raw)
        .map(|d| d.midnight().assume_utc().unix_timestamp() + plus_days * 86_400)
        .ok_or_else(|| bad_query(format!("{field} must be a date like 2026-11-23")))
}

/// The filter of an audit query, validated.
fn audit_filter(query: &AuditQuery) -> Result<AuditFilter, Rejection> {
    let from = given(&query.from).map(|d| day_start(d, "from", 0)).transpose()?;
    let until = given(&query.to).map(|d| day_start(d, "to", 1)).transpose()?;
    if let (Some(from), Some(until)) = (from, until)
        && until <= from
    {
        return Err(bad_query("to must not be before from"));
    }
    let actor = given(&query.actor).map(str::to_lowercase);
    if actor.as_ref().is_some_and(|a| a.chars().count() > 100) {
        return Err(bad_query("actor has at most 100 characters"));
    }
    let action = given(&query.action).map(str::to_lowercase);
    if action
        .as_ref()
        .is_some_and(|a| a.len() > 64 || !a.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)))
    {
        return Err(bad_query("action is the start of an action name, like auth. or user.create (a-z, 0-9, . _ -)"));
    }
    Ok(AuditFilter { from, until, actor, action_prefix: action })
}

/// A CSV field (RFC 4180: quoted when it holds a comma, quote or line break); a value a
/// spreadsheet would take for a formula gets a leading apostrophe.
fn csv_field(value: &str) -> String {
    let value =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

/// The audit report as CSV: a header row, then one line per entry (CRLF line ends).
fn audit_csv(rows: &[AuditRow]) -> String {
    let mut body = String::from("id,time,actor,action,target,details\r\n");
    for r in rows {
        let fields = [
            r.id.to_string(),
            crate::util::rfc3339(r.at),
            csv_field(&r.actor),
            csv_field(&r.action),
            csv_field(r.target.as_deref().unwrap_or_default()),
            csv_field(r.details.as_deref().unwrap_or_default()),
        ];
        body.push_str(&fields.join(","));
        body.push_str("\r\n");
    }
    body
}

/// GET /api/v1/audit: the entries matching the query, as JSON or (audited) CSV.
async fn audit_report(authed: Authed, query: AuditQuery, state: AppState) -> Result<Response, Rejection> {
    let csv = match given(&query.format) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(bad_query("format is json or csv")),
    };
    if csv {
        authed.require(perm::AUDIT_EXPORT)?;
    }
    let filter = audit_filter(&query)?;
    let max = if csv { MAX_CSV } else { MAX_JSON };
    let limit = query.limit.unwrap_or(if csv { MAX_CSV } else { 100 }).clamp(1, max);
    let rows = state.store.audit_search(&filter, limit).await.map_err(reject)?;
    if !csv {
        let list: Vec<_> = rows
            .into_iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "at": crate::util::rfc3339(r.at), "actor": r.actor,
                    "action": r.action, "target": r.target, "details": r.details,
                })
            })
            .collect();
        return Ok(warp::reply::json(&list).into_response());
    }
    let mut described = Vec::new();
    for (name, value) in [("from", &query.from), ("to", &query.to), ("actor", &query.actor), ("action", &query.action)]
    {
        if let Some(value) = given(value) {
            described.push(format!("{name} {value}"));
        }
    }
    let details = if described.is_empty() { "all entries".to_owned() } else { described.join(", ") };
    let entry = AuditEntry::new(authed.session.username.clone(), "audit.export")
        .target(format!("{} entries", rows.len()))
        .details(details);
    state.store.audit(entry).await.map_err(reject)?;
    let mut response = audit_csv(&rows).into_response();
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(
        http::header::CONTENT_DISPOSITION,
        http::HeaderValue::from_static("attachment; filename=\"audit-report.csv\""),
    );
    headers.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(super) fn gdpr_error(err: GdprError) -> Rejection {
    reject(match err {
        GdprError::Invalid(message) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", message),
        GdprError::Unknown(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_subject", err.to_string()),
        GdprError::SecondApproverNeeded => {
            ApiError::new(StatusCode::CONFLICT, "second_approver_needed", err.to_string())
        }
        GdprError::Store(store) => ApiError::from(store),
    })
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let max_body = state.config.server.max_body_bytes;
    let search = warp::path!("gdpr" / "search")
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::GDPR_VIEW))
        .and(json_body::<SearchBody>(max_body))
        .and(with_state(state.clone()))
        .and_then(|authed: Authed, body: SearchBody, state: AppState| async move {
            let found = gdpr::search(
                &state.store,
                body.by,
                &body.value,
                &authed.session.username,
                state.config.privacy.visitor_ip,
            )
            .await
            .map_err(gdpr_error)?;
            Ok::<_, Rejection>(warp::reply::json(&serde_json::json!({ "subjects": found })).into_response())
        });
    let erase = warp::path!("gdpr" / "subjects" / i64 / "erase")
        .and(warp::post())
        .and(staff_mutation(state.clone()))
        .and(with_state(state.clone()))
        .and_then(|subject: i64, authed: Authed, state: AppState| async move {
            // A refused attempt is audited, so the permission is checked here rather than by
            // `allowed_mutation`, and before the body is read: a role without it gets 403
            // whatever it sent.
            if let Err(denied) = authed.require(perm::GDPR_DELETE) {
                gdpr::refused(&state.store, &authed.session.username, subject, "permission denied")
                    .await
                    .map_err(gdpr_error)?;
                return Err(denied);
            }
            Ok::<_, Rejection>((subject, authed))
        })
        .untuple_one()
        .and(json_body::<EraseBody>(max_body))
        .and(with_state(state.clone()))
        .and_then(|subject: i64, authed: Authed, body: EraseBody, state: AppState| async move {
            let second = state.config.privacy.erasure_second_approver;
            let outcome =
                gdpr::erase_with_approval(&state.store, subject, &body.reason, &authed.session.username, second)
                    .await
                    .map_err(gdpr_error)?;
            Ok::<_, Rejection>(match outcome {
                gdpr::Approval::Erased(erased) => {
                    let reply = serde_json::json!({
                        "subject": subject,
                        "erased": erased,
                        "erased_at": crate::util::rfc3339(crate::util::now()),
                    });
                    warp::reply::json(&reply).into_response()
                }
                gdpr::Approval::Requested => {
                    let reply =
                        serde_json::json!({ "subject": subject, "erased": null, "awaiting_second_approver": true });
                    warp::reply::with_status(warp::reply::json(&reply), StatusCode::ACCEPTED).into_response()
                }
            })
        });
    let audit = warp::path("audit")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::AUDIT_VIEW))
        .and(warp::query::<AuditQuery>())
        .and(with_state(state.clone()))
        .and_then(audit_report);
    let exports = export::routes(state.clone());
    let verify = warp::path!("audit" / "verify")
        .and(warp::get())
        .and(allowed(state.clone(), perm::AUDIT_VIEW))
        .and(with_state(state))
        .and_then(|_: Authed, state: AppState| async move {
            let data_dir = &state.config.server.data_dir;
            let v = crate::service::audit::verify_with_anchor_file(&state.store, data_dir).await.map_err(reject)?;
            let ok = v.ok();
            let reply = serde_json::json!({
                "ok": ok,
                "entries": ok.then_some(v.chain.entries),
                "first_bad": v.chain.first_bad,
                "legacy": v.chain.legacy,
                "pending": v.chain.pending,
                "boundary_problem": v.chain.boundary_problem,
                "anchors": v.anchors,
            });
            Ok::<_, Rejection>(warp::reply::json(&reply).into_response())
        });
    search.or(erase).unify().or(exports).unify().or(audit).unify().or(verify).unify().boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_csv_quotes_fields_and_guards_formulas() {
        let row = |action: &str, target: Option<&str>, details: Option<&str>| AuditRow {
            id: 7,
            at: 0,
            actor: "ada".into(),
            action: action.into(),
            target: target.map(Into::into),
            details: details.map(Into::into),
        };
        let csv = audit_csv(&[
            row("user.update", Some("user bob"), Some("role x, disabled")),
            row("x", Some("=1+1"), Some("say \"hi\"\nbye")),
        ]);
        assert_eq!(
            csv,
            "id,time,actor,action,target,details\r\n\
             7,1970-01-01T00:00:00Z,ada,user.update,user bob,\"role x, disabled\"\r\n\
             7,1970-01-01T00:00:00Z,ada,x,'=1+1,\"say \"\"hi\"\"\nbye\"\r\n"
        );
        assert_eq!(csv_field("-2"), "'-2");
        assert_eq!(csv_field("@cmd"), "'@cmd");
    }
}
