//! Which listener serves what: nothing staff-facing may answer on the public listener.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::harness::{TestApp, error_code};

/// Every staff route outside the API (the API's routes come from the OpenAPI document).
const STAFF_PAGES: [&str; 10] = [
    "/docs/protocol",
    "/",
    "/dashboard/",
    "/dashboard/app.js",
    "/admin",
    "/admin/admin.js",
    "/ws/staff",
    "/readyz",
    "/metrics",
    "/api/v1/openapi.json",
];

fn openapi_operations() -> Vec<(Method, String)> {
    let doc: Value = serde_json::from_str(parley::http::api::OPENAPI).expect("OpenAPI document is JSON");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        // Path parameters get example values: numbers for ids, UUIDs for everything else.
        let concrete = path
            .split('/')
            .map(|part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if name.ends_with("id") => "1".to_owned(),
                Some(_) => "0b4e2c7a-7c0e-4a43-9d6a-3a8d2f6f0d11".to_owned(),
                None => part.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().expect("path item").keys() {
            ops.push((method.to_uppercase().parse().expect("method"), concrete.clone()));
        }
    }
    assert!(ops.len() >= 4, "the document lists the API: {ops:?}");
    ops
}

#[tokio::test]
async fn staff_routes_are_404_on_the_public_listener() {
    let app = TestApp::spawn().await;
    let mut walked = 0;
    let api = openapi_operations();
    let pages = STAFF_PAGES.iter().map(|p| (Method::GET, (*p).to_owned()));
    for (method, path) in pages.chain(api) {
        // Proof the route is real: the staff listener does not answer 404 for it.
        let on_staff = app.client.request(method.clone(), app.staff(&path)).send().await.expect("staff request");
        assert_ne!(on_staff.status(), StatusCode::NOT_FOUND, "{method} {path} exists on the staff listener");
        let on_public = app.client.request(method.clone(), app.public(&path)).send().await.expect("public request");
        assert_eq!(error_code(on_public, StatusCode::NOT_FOUND).await, "not_found", "{method} {path} on public");
        walked += 1;
    }
    assert!(walked >= 13);
    app.stop().await;
}

#[tokio::test]
async fn public_routes_answer_on_the_public_listener() {
    let app = TestApp::spawn().await;
    for (path, content_type) in [
        ("/widget.js", "text/javascript"),
        ("/widget/", "text/html"),
        ("/widget/widget.js", "text/javascript"),
        ("/privacy", "text/html"),
        ("/healthz", "application/json"),
    ] {
        let response = app.client.get(app.public(path)).send().await.expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let ct = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
        assert!(ct.starts_with(content_type), "{path}: {ct}");
    }
    // The demo page exists only in demo mode.
    let demo = app.client.get(app.public("/demo")).send().await.expect("demo");
    assert_eq!(demo.status(), StatusCode::NOT_FOUND);
    // Public pages are not served on the staff listener either.
    let widget_on_staff = app.client.get(app.staff("/widget.js")).send().await.expect("request");
    assert_eq!(widget_on_staff.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn demo_page_embeds_the_widget() {
    let app = TestApp::spawn_with(|c| c.demo = true).await;
    let page = app.client.get(app.public("/demo")).send().await.expect("demo");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("text");
    assert!(html.contains("<script src=\"/widget.js\" data-site=\"demo\" async></script>"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn every_openapi_operation_is_routed() {
    let app = TestApp::spawn().await;
    for (method, path) in openapi_operations() {
        let response = app.client.request(method.clone(), app.staff(&path)).send().await.expect("request");
        let status = response.status();
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is in the OpenAPI document but answered {status}"
        );
    }
    let doc = app.client.get(app.staff("/api/v1/openapi.json")).send().await.expect("doc");
    assert_eq!(doc.status(), StatusCode::OK);
    let served: Value = doc.json().await.expect("json");
    assert_eq!(served["openapi"], "3.1.0");
    app.stop().await;
}

#[tokio::test]
async fn security_headers_on_both_listeners() {
    let app = TestApp::spawn().await;
    for url in [app.staff("/"), app.staff("/api/v1/nope"), app.public("/privacy"), app.public("/widget/")] {
        let response = app.client.get(&url).send().await.expect("request");
        let h = response.headers();
        let hsts = h.get("strict-transport-security").map(|v| v.to_str().unwrap_or_default().to_owned());
        assert_eq!(hsts.as_deref(), Some("max-age=31536000; includeSubDomains"), "{url}");
        assert_eq!(h.get("x-content-type-options").map(|v| v.as_bytes()), Some(&b"nosniff"[..]), "{url}");
        assert!(h.contains_key("referrer-policy"), "{url}");
        assert!(h.contains_key("permissions-policy"), "{url}");
        let csp = h["content-security-policy"].to_str().unwrap_or_default();
        assert!(csp.starts_with("default-src 'self'"), "{url}: {csp}");
    }
    let widget = app.client.get(app.public("/widget/")).send().await.expect("widget");
    let csp = widget.headers()["content-security-policy"].to_str().unwrap_or_default().to_owned();
    assert!(csp.contains("frame-ancestors https://www.example.gov.uk"), "widget may be framed by the site only: {csp}");
    let dashboard = app.client.get(app.staff("/")).send().await.expect("dashboard");
    let csp = dashboard.headers()["content-security-policy"].to_str().unwrap_or_default().to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    app.stop().await;
}
