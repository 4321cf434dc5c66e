//! Security headers added to every response, chosen by listener and path. Handlers may set
//! their own value for a header; these fill in what is missing.

use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};

use crate::app::AppState;
use crate::telemetry::Surface;

const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()";
const STAFF_CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn apply(surface: Surface, path: &str, query: &str, state: &AppState, headers: &mut HeaderMap) {
    let hsts = format!("max-age={}; includeSubDomains", state.config.tls.hsts_max_age_seconds);
    set(headers, header::STRICT_TRANSPORT_SECURITY, &hsts);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, HeaderName::from_static("permissions-policy"), PERMISSIONS_POLICY);
    set(headers, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    match surface {
        Surface::Staff => {
            set(headers, header::CONTENT_SECURITY_POLICY, STAFF_CSP);
            set(headers, header::X_FRAME_OPTIONS, "DENY");
            set(headers, HeaderName::from_static("cross-origin-resource-policy"), "same-origin");
        }
        Surface::Public if path == "/widget.js" => {
            // The loader runs on the organisation's own pages, so other origins may fetch it.
            set(headers, HeaderName::from_static("cross-origin-resource-policy"), "cross-origin");
            set(headers, header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'");
        }
        Surface::Public if path == "/widget" || path.starts_with("/widget/") => {
            // The widget app runs in an iframe on the configured sites and nowhere else.
            let csp = format!(
                "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {}",
                state.sites.frame_ancestors(site_param(query))
            );
            set(headers, header::CONTENT_SECURITY_POLICY, &csp);
            set(headers, HeaderName::from_static("cross-origin-resource-policy"), "same-origin");
        }
        Surface::Public => {
            set(headers, header::CONTENT_SECURITY_POLICY, STAFF_CSP);
            set(headers, header::X_FRAME_OPTIONS, "DENY");
            set(headers, HeaderName::from_static("cross-origin-resource-policy"), "same-origin");
        }
    }
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if headers.contains_key(&name) {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// The `site` query parameter (site keys need no decoding).
fn site_param(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| pair.strip_prefix("site="))
}
