//! The audit report over HTTP: filters by day, actor and action prefix, and the CSV download,
//! which needs the permission audit.export and is itself audited.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat_support::PASSWORD;
use crate::gdpr::Staff;
use crate::harness::TestApp;

/// The actions of a JSON audit answer, in order.
fn actions(list: &Value) -> Vec<String> {
    list.as_array().expect("entries").iter().map(|e| e["action"].as_str().expect("action").to_owned()).collect()
}

/// A raw GET as `staff`: status, content type and body text.
async fn get_text(app: &TestApp, staff: &Staff, path: &str) -> (StatusCode, String, String) {
    let response = app.client.get(app.staff(path)).header("cookie", &staff.cookie).send().await.expect("request");
    let status = response.status();
    let kind = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, response.text().await.expect("body"))
}

#[tokio::test]
async fn the_audit_report_filters_and_downloads_csv_with_audit_export_only() {
    let app = TestApp::spawn().await;
    let ada = Staff::new(&app, "ada", "administrator").await;
    // A failed sign-in and a created user, so there are auth. and user. entries by different actors.
    let refused = app
        .client
        .post(app.staff("/api/v1/session"))
        .json(&json!({ "username": "ada", "password": "not the password at all" }))
        .send()
        .await
        .expect("login");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let (status, created) =
        ada.call(&app, Method::POST, "/api/v1/users", Some(json!({ "username": "bob", "role": "operator" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    // Action prefix: only auth. entries, both the sign-in and the refused one.
    let auth = ada.get(&app, "/api/v1/audit?action=auth.").await;
    let list = actions(&auth);
    assert!(list.iter().all(|a| a.starts_with("auth.")), "{list:?}");
    assert!(list.contains(&"auth.login".to_owned()) && list.contains(&"auth.login_failed".to_owned()), "{list:?}");
    // Actor and action together: what ada did to users.
    let by_ada = ada.get(&app, "/api/v1/audit?actor=ADA&action=user.").await;
    assert_eq!(actions(&by_ada), ["user.create"], "{by_ada}");
    assert_eq!(by_ada[0]["target"], "user bob");
    // `_` in a prefix is a plain character, not a wildcard.
    assert!(actions(&ada.get(&app, "/api/v1/audit?action=auth_").await).is_empty());
    // Days (UTC): today holds everything so far, tomorrow nothing.
    let today = time::OffsetDateTime::now_utc().date();
    let tomorrow = today.next_day().expect("tomorrow");
    let all = actions(&ada.get(&app, "/api/v1/audit").await);
    let on_today = actions(&ada.get(&app, &format!("/api/v1/audit?from={today}&to={today}")).await);
    // The clock may pass midnight between the two reads; then today has fewer, never more.
    assert!(!on_today.is_empty() && on_today.len() <= all.len(), "{on_today:?} / {all:?}");
    assert!(actions(&ada.get(&app, &format!("/api/v1/audit?from={tomorrow}")).await).is_empty());
    assert_eq!(actions(&ada.get(&app, "/api/v1/audit?limit=2").await).len(), 2);
    // Bad filters are refused with a reason.
    for bad in ["from=23/11/2026", &format!("from={tomorrow}&to={today}"), "action=auth%20or", "format=xml"] {
        let (status, body) = ada.call(&app, Method::GET, &format!("/api/v1/audit?{bad}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["code"], "bad_query", "{bad}");
    }

    // CSV: a header row, then the filtered entries, each line ended by CRLF.
    let (status, kind, csv) = get_text(&app, &ada, "/api/v1/audit?format=csv&action=user.").await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(kind.starts_with("text/csv"), "{kind}");
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines[0], "id,time,actor,action,target,details");
    assert!(lines.len() >= 2, "{csv}");
    for line in &lines[1..] {
        let fields: Vec<&str> = line.split(',').collect();
        assert!(fields[3].starts_with("user."), "only user. entries: {line}");
    }
    assert!(lines.iter().any(|l| l.contains(",ada,user.create,user bob,role operator")), "{csv}");
    assert!(csv.ends_with("\r\n"));
    // The download itself is in the log, with its filter.
    let exports = ada.get(&app, "/api/v1/audit?action=audit.export").await;
    assert_eq!(exports[0]["actor"], "ada");
    assert_eq!(exports[0]["details"], "action user.");

    // A custom role with audit.view but not audit.export reads the report, never the CSV.
    let (status, role) = ada
        .put(
            &app,
            "/api/v1/roles/audit-reader",
            json!({ "description": "Reads the audit log", "permissions": ["audit.view"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    app.add_user("rita", "audit-reader", PASSWORD).await;
    let rita = Staff::login(&app, "rita").await;
    assert!(!actions(&rita.get(&app, "/api/v1/audit?action=auth.").await).is_empty());
    let (status, body) = rita.call(&app, Method::GET, "/api/v1/audit?format=csv", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap_or_default().contains("audit.export"), "{body}");
    let exports = actions(&ada.get(&app, "/api/v1/audit?action=audit.export&actor=rita").await);
    assert!(exports.is_empty(), "a refused download is not an export: {exports:?}");
    app.stop().await;
}
