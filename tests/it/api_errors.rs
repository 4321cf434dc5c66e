//! Bad input gets a JSON error with a stable code and changes nothing stored.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{TestApp, error_code};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn bad_requests_get_json_errors_and_store_nothing() {
    let app = TestApp::spawn_with(|c| c.server.max_body_bytes = 1024).await;
    app.add_user("alice", "operator", PASSWORD).await;
    let (cookie, _csrf) = app.login("alice", PASSWORD).await;
    let users_before = app.user_count().await;
    let sessions_before = app.session_count().await;

    let oversized = json!({ "username": "alice", "password": "x".repeat(4096) });
    let response = app.client.post(app.staff("/api/v1/session")).json(&oversized).send().await.expect("send");
    assert_eq!(error_code(response, StatusCode::PAYLOAD_TOO_LARGE).await, "payload_too_large");

    let response = app
        .client
        .post(app.staff("/api/v1/session"))
        .header("content-type", "application/json")
        .body("{\"username\": \"alice\", \"password\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(response, StatusCode::BAD_REQUEST).await, "bad_json");

    let response = app
        .client
        .post(app.staff("/api/v1/session"))
        .json(&json!({ "username": "alice", "password": PASSWORD, "admin": true }))
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(response, StatusCode::BAD_REQUEST).await, "bad_json", "unknown fields are refused");

    let response = app.client.get(app.staff("/api/v1/no-such-route")).send().await.expect("send");
    assert_eq!(error_code(response, StatusCode::NOT_FOUND).await, "not_found");

    let response = app.client.put(app.staff("/api/v1/me")).header("cookie", &cookie).send().await.expect("send");
    assert_eq!(error_code(response, StatusCode::METHOD_NOT_ALLOWED).await, "method_not_allowed");

    let response = app.client.get(app.staff("/api/v1/session")).send().await.expect("send");
    assert_eq!(error_code(response, StatusCode::METHOD_NOT_ALLOWED).await, "method_not_allowed");

    assert_eq!(app.user_count().await, users_before, "no user was added or removed");
    assert_eq!(app.session_count().await, sessions_before, "no session was added or removed");
    let me = app.client.get(app.staff("/api/v1/me")).header("cookie", &cookie).send().await.expect("me");
    assert_eq!(me.status(), StatusCode::OK, "the existing session survived the bad requests");
    app.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    // Real argon2 cost here, so that skipping the hash for unknown users would show.
    let app = TestApp::spawn_with(|c| {
        c.auth.argon2_memory_kib = 8192;
        c.auth.argon2_iterations = 3;
    })
    .await;
    app.add_user("bob", "operator", PASSWORD).await;
    let attempt = |name: &'static str, password: &'static str| {
        let client = app.client.clone();
        let url = app.staff("/api/v1/session");
        async move {
            let started = Instant::now();
            let response =
                client.post(url).json(&json!({ "username": name, "password": password })).send().await.expect("send");
            let elapsed = started.elapsed();
            let status = response.status();
            let body: serde_json::Value = response.json().await.expect("json");
            (status, body, elapsed)
        }
    };
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..5 {
        let (status_w, body_w, time_w) = attempt("bob", "not the password at all").await;
        let (status_u, body_u, time_u) = attempt("nobody-here", "not the password at all").await;
        assert_eq!(status_w, StatusCode::UNAUTHORIZED);
        assert_eq!(status_u, StatusCode::UNAUTHORIZED);
        assert_eq!(body_w, body_u, "same body for wrong password and unknown user");
        assert_eq!(body_w["code"], "invalid_credentials");
        wrong.push(time_w);
        unknown.push(time_u);
    }
    wrong.sort();
    unknown.sort();
    let (median_wrong, median_unknown) = (wrong[2], unknown[2]);
    // Both paths run one argon2 verification; without the dummy hash the unknown-user path
    // would be more than ten times faster. The margin is wide because machines are noisy.
    assert!(
        median_unknown * 3 >= median_wrong && median_unknown >= Duration::from_millis(1),
        "unknown user {median_unknown:?} vs wrong password {median_wrong:?}"
    );
    assert_eq!(app.session_count().await, 0, "failed logins create no session");
    app.stop().await;
}
