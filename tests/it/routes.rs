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

/// An OpenAPI path with example values for its parameters: numbers for ids, UUIDs for the rest.
pub(crate) fn concrete(path: &str) -> String {
    path.split('/')
        .map(|part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if name.ends_with("id") || name == "subject" => "1".to_owned(),
            Some(_) => "0b4e2c7a-7c0e-4a43-9d6a-3a8d2f6f0d11".to_owned(),
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn openapi_operations() -> Vec<(Method, String)> {
    let doc: Value = serde_json::from_str(parley::http::api::OPENAPI).expect("OpenAPI document is JSON");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete = concrete(path);
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
    for url in [app.staff("/"), app.staff("/api/v1/nope"), app.public("/privacy"), app.public("/widget/?site=main")] {
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
    let widget = app.client.get(app.public("/widget/?site=main")).send().await.expect("widget");
    let csp = widget.headers()["content-security-policy"].to_str().unwrap_or_default().to_owned();
    assert!(
        csp.ends_with("frame-ancestors https://www.example.gov.uk"),
        "widget may be framed by the site only: {csp}"
    );
    for url in [app.public("/widget/"), app.public("/widget/?site=nope")] {
        let widget = app.client.get(&url).send().await.expect("widget");
        let csp = widget.headers()["content-security-policy"].to_str().unwrap_or_default().to_owned();
        assert!(csp.ends_with("frame-ancestors 'none'"), "{url}: {csp}");
    }
    let dashboard = app.client.get(app.staff("/")).send().await.expect("dashboard");
    let csp = dashboard.headers()["content-security-policy"].to_str().unwrap_or_default().to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    app.stop().await;
}

#[tokio::test]
async fn widget_config_tells_the_loader_which_origins_may_show_it() {
    let app = TestApp::spawn().await;
    let ok = app.client.get(app.public("/widget/config?site=main")).send().await.expect("config");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["access-control-allow-origin"], "*");
    let body: Value = ok.json().await.expect("json");
    assert_eq!(body["origins"], serde_json::json!(["https://www.example.gov.uk"]));
    assert_eq!(body["available"], false);
    let unknown = app.client.get(app.public("/widget/config?site=nope")).send().await.expect("config");
    assert_eq!(unknown.headers()["access-control-allow-origin"], "*", "the loader can read the refusal");
    assert_eq!(error_code(unknown, StatusCode::NOT_FOUND).await, "unknown_site");
    app.stop().await;
}

#[tokio::test]
async fn administrators_manage_sites() {
    let app = TestApp::spawn().await;
    app.add_user("root1", "administrator", "correct horse battery staple").await;
    app.add_user("op1", "operator", "correct horse battery staple").await;
    let (admin, admin_csrf) = app.login("root1", "correct horse battery staple").await;
    let (operator, operator_csrf) = app.login("op1", "correct horse battery staple").await;
    let put = |cookie: &str, csrf: &str, key: &str, body: Value| {
        app.client
            .put(app.staff(&format!("/api/v1/sites/{key}")))
            .header("cookie", cookie)
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
    };
    let body = serde_json::json!({ "name": "Libraries", "origins": ["https://Libraries.Example.gov.uk/", "https://libraries.example.gov.uk"] });
    let refused = put(&operator, &operator_csrf, "libraries", body.clone()).await.expect("put");
    assert_eq!(error_code(refused, StatusCode::FORBIDDEN).await, "forbidden");
    let saved = put(&admin, &admin_csrf, "libraries", body).await.expect("put");
    assert_eq!(saved.status(), StatusCode::OK);
    let saved: Value = saved.json().await.expect("json");
    assert_eq!(
        saved["origins"],
        serde_json::json!(["https://libraries.example.gov.uk"]),
        "normalised and de-duplicated"
    );
    let bad = put(
        &admin,
        &admin_csrf,
        "libraries",
        serde_json::json!({ "name": "Libraries", "origins": ["libraries.example.gov.uk/path"] }),
    )
    .await
    .expect("put");
    assert_eq!(error_code(bad, StatusCode::BAD_REQUEST).await, "invalid");
    let bad_key =
        put(&admin, &admin_csrf, "no%20spaces", serde_json::json!({ "name": "x", "origins": [] })).await.expect("put");
    assert_eq!(error_code(bad_key, StatusCode::BAD_REQUEST).await, "invalid");
    // Operators do not see the settings (settings.view); administrators do.
    let hidden = app.client.get(app.staff("/api/v1/sites")).header("cookie", &operator).send().await.expect("list");
    assert_eq!(error_code(hidden, StatusCode::FORBIDDEN).await, "forbidden");
    let list: Value = app
        .client
        .get(app.staff("/api/v1/sites"))
        .header("cookie", &admin)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let keys: Vec<&str> = list.as_array().expect("list").iter().filter_map(|s| s["key"].as_str()).collect();
    assert_eq!(keys, ["libraries", "main"]);
    let frame = app.client.get(app.public("/widget/?site=libraries")).send().await.expect("widget");
    assert!(
        frame.headers()["content-security-policy"]
            .to_str()
            .unwrap_or_default()
            .ends_with("frame-ancestors https://libraries.example.gov.uk")
    );
    let deleted = app
        .client
        .delete(app.staff("/api/v1/sites/libraries"))
        .header("cookie", &admin)
        .header("x-csrf-token", &admin_csrf)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app.client.get(app.public("/widget/config?site=libraries")).send().await.expect("config");
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
