//! The public listener's pages: the widget loader and iframe app, the privacy notice, the demo
//! host page (with `--demo` only) and the visitor websocket.

use http::HeaderMap;
use warp::filters::BoxedFilter;
use warp::path::Tail;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::assets::html;
use super::filters::with_state;
use super::rejection::ApiError;
use crate::app::AppState;
use crate::util::escape;

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let loader = warp::path("widget.js")
        .and(warp::path::end())
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(with_state(state.clone()))
        .and_then(|headers: HeaderMap, state: AppState| async move { asset(&state, "widget/loader.js", &headers) });
    // What the loader needs to decide whether it may start on the host page. Public data, so
    // any origin may read it (the loader runs on the organisation's pages).
    let widget_config = warp::path!("widget" / "config")
        .and(warp::get())
        .and(warp::query::<std::collections::HashMap<String, String>>())
        .and(with_state(state.clone()))
        .map(|query: std::collections::HashMap<String, String>, state: AppState| {
            let key = query.get("site").map(String::as_str).unwrap_or_default();
            let mut response = match state.sites.get(key) {
                Some(site) => {
                    let available = state.chat.hub().available_users();
                    let now = time::OffsetDateTime::now_utc();
                    let departments: Vec<_> = site
                        .departments
                        .iter()
                        .filter_map(|k| state.departments.get(k))
                        .map(|d| {
                            let view = state.departments.view(&d, &available, now);
                            serde_json::json!({
                                "key": view.key,
                                "name": view.name,
                                "name_cy": view.name_cy,
                                "open": view.open,
                                "available": view.available,
                                "opens_at": view.opens_at,
                            })
                        })
                        .collect();
                    let any = if departments.is_empty() {
                        !available.is_empty()
                    } else {
                        departments.iter().any(|d| d["available"] == serde_json::Value::Bool(true))
                    };
                    warp::reply::json(&serde_json::json!({
                        "site": site.key,
                        "name": site.name,
                        "origins": site.origins,
                        "fields": site.fields,
                        "departments": departments,
                        "theme": site.theme,
                        "lawful_basis": site.lawful_basis,
                        "require_consent": site.require_consent,
                        "ask_marketing": site.ask_marketing,
                        "available": any,
                    }))
                    .into_response()
                }
                None => ApiError::new(
                    http::StatusCode::NOT_FOUND,
                    "unknown_site",
                    format!("no site with key `{key}`; check data-site in the embed snippet"),
                )
                .into_response(),
            };
            let headers = response.headers_mut();
            headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, http::HeaderValue::from_static("*"));
            headers.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
            response
        });
    let widget = warp::path("widget")
        .and(warp::path::tail())
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(with_state(state.clone()))
        .and_then(|tail: Tail, headers: HeaderMap, state: AppState| async move {
            let file = match tail.as_str() {
                "" => "index.html",
                other => other,
            };
            asset(&state, &format!("widget/{file}"), &headers)
        });
    let common = warp::path("common")
        .and(warp::path::tail())
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(with_state(state.clone()))
        .and_then(|tail: Tail, headers: HeaderMap, state: AppState| async move {
            asset(&state, &format!("common/{}", tail.as_str()), &headers)
        });
    // The notice in force, or with `?version=` an earlier one as it was published.
    let privacy = warp::path("privacy")
        .and(warp::path::end())
        .and(warp::get())
        .and(warp::query::<std::collections::HashMap<String, String>>())
        .and(warp::header::optional::<String>("accept"))
        .and(with_state(state.clone()))
        .and_then(
            |query: std::collections::HashMap<String, String>, accept: Option<String>, state: AppState| async move {
                privacy_response(&state, query.get("version").map(String::as_str), accept.as_deref()).await
            },
        );
    let demo = warp::path("demo")
        .and(warp::path::end())
        .and(warp::get())
        .and(warp::host::optional())
        .and(with_state(state.clone()))
        .and_then(|host: Option<warp::host::Authority>, state: AppState| async move {
            if !state.config.demo {
                return Err(warp::reject::not_found());
            }
            Ok::<_, Rejection>(html(demo_page(&state, host.as_ref().map(|h| h.as_str()))))
        });
    let visitor_ws = warp::path("ws").and(warp::path("visitor")).and(warp::path::end()).and(crate::ws::visitor(state));
    loader
        .or(widget_config)
        .unify()
        .or(widget)
        .unify()
        .or(common)
        .unify()
        .or(privacy)
        .unify()
        .or(demo)
        .unify()
        .or(visitor_ws)
        .unify()
        .boxed()
}

pub(super) fn asset(state: &AppState, path: &str, headers: &HeaderMap) -> Result<Response, Rejection> {
    state.assets.respond(path, headers).ok_or_else(warp::reject::not_found)
}

async fn privacy_response(
    state: &AppState,
    version: Option<&str>,
    accept: Option<&str>,
) -> Result<Response, Rejection> {
    let notice = &state.privacy;
    let versions = crate::service::privacy::versions(&state.store).await.map_err(super::rejection::reject)?;
    let (version, published_at, body) = match version.filter(|v| *v != notice.version) {
        None => (notice.version.clone(), notice.published_at, notice.html.clone()),
        Some(wanted) => match crate::service::privacy::published(&state.store, wanted)
            .await
            .map_err(super::rejection::reject)?
        {
            Some((published_at, body)) => (wanted.to_owned(), published_at, body),
            None => {
                let message =
                    format!("no privacy notice has version `{wanted}`; the one in force is {}", notice.version);
                if accept.is_some_and(|a| a.contains("application/json")) {
                    return Ok(ApiError::new(http::StatusCode::NOT_FOUND, "unknown_version", message).into_response());
                }
                let page = format!("<h1>Privacy notice not found</h1><p>{}</p>", escape(&message));
                let mut response = html(privacy_page(state, &page, "", &versions));
                *response.status_mut() = http::StatusCode::NOT_FOUND;
                return Ok(response);
            }
        },
    };
    let footer = format!(
        "<p class=\"version\">Version {}, published {}.</p>",
        escape(&version),
        crate::util::rfc3339(published_at)
    );
    let footer = if version == notice.version {
        footer
    } else {
        format!(
            "{footer}<p><strong>This is an earlier version.</strong> <a href=\"/privacy\">The notice in force</a>.</p>"
        )
    };
    Ok(html(privacy_page(state, &body, &footer, &versions)))
}

/// A notice page: `body` (escaped HTML), `footer`, and links to every published version.
fn privacy_page(state: &AppState, body: &str, footer: &str, versions: &[(String, i64)]) -> String {
    let org = escape(&state.config.server.organisation);
    let links: String = versions
        .iter()
        .map(|(v, at)| {
            format!(
                "<li><a href=\"/privacy?version={0}\">{0}</a>, published {1}</li>",
                escape(v),
                crate::util::rfc3339(*at)
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Privacy notice – {org} web chat</title><link rel=\"stylesheet\" href=\"/widget/page.css\"></head>\
         <body><main>{body}{footer}<h2>Versions of this notice</h2><ul>{links}</ul></main></body></html>\n"
    )
}

fn demo_page(state: &AppState, host: Option<&str>) -> String {
    let host = escape(host.unwrap_or("127.0.0.1:8443"));
    let org = escape(&state.config.server.organisation);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{org} – demo site</title><link rel=\"stylesheet\" href=\"/widget/page.css\"></head>\
         <body><main><h1>{org}: demo web page</h1>\
         <p>This page stands in for your organisation's website. The chat launcher in the corner comes from the \
         snippet below, which you paste into your own pages:</p>\
         <pre><code>&lt;script src=\"https://{host}/widget.js\" data-site=\"demo\" async&gt;&lt;/script&gt;</code></pre>\
         <p><a href=\"/privacy\">Privacy notice</a></p></main>\
         <script src=\"/widget.js\" data-site=\"demo\" async></script></body></html>\n"
    )
}
