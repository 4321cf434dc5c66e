//! Staff sign-in, sessions, CSRF, disabling and the login rate limit.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, error_code};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn login_sets_a_host_cookie_and_me_works() {
    let app = TestApp::spawn().await;
    app.add_user("carol", "supervisor", PASSWORD).await;
    let response = app
        .client
        .post(app.staff("/api/v1/session"))
        .json(&json!({ "username": "Carol", "password": PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    for flag in ["__Host-parley=", "Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(flag), "{flag} in {set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["user"]["username"], "carol");
    assert_eq!(body["user"]["role"], "supervisor");
    let csrf = body["csrf_token"].as_str().expect("csrf").to_owned();
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();

    let me = app.client.get(app.staff("/api/v1/me")).header("cookie", &cookie).send().await.expect("me");
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["user"]["username"], "carol");
    assert_eq!(me["csrf_token"], csrf.as_str());

    // A forged cookie is refused.
    let forged = format!("__Host-parley={}", "A".repeat(43));
    let response = app.client.get(app.staff("/api/v1/me")).header("cookie", forged).send().await.expect("me");
    assert_eq!(error_code(response, StatusCode::UNAUTHORIZED).await, "unauthenticated");
    app.stop().await;
}

#[tokio::test]
async fn logout_needs_the_csrf_token_and_ends_the_session() {
    let app = TestApp::spawn().await;
    app.add_user("dave", "operator", PASSWORD).await;
    let (cookie, csrf) = app.login("dave", PASSWORD).await;

    let response =
        app.client.delete(app.staff("/api/v1/session")).header("cookie", &cookie).send().await.expect("send");
    assert_eq!(error_code(response, StatusCode::FORBIDDEN).await, "csrf_failed");
    let response = app
        .client
        .delete(app.staff("/api/v1/session"))
        .header("cookie", &cookie)
        .header("x-csrf-token", "wrong-token")
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(response, StatusCode::FORBIDDEN).await, "csrf_failed");
    assert_eq!(app.session_count().await, 1, "failed logouts leave the session");

    let response = app
        .client
        .delete(app.staff("/api/v1/session"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.headers()["set-cookie"].to_str().unwrap_or_default().contains("Max-Age=0"));
    let me = app.client.get(app.staff("/api/v1/me")).header("cookie", &cookie).send().await.expect("me");
    assert_eq!(error_code(me, StatusCode::UNAUTHORIZED).await, "unauthenticated");
    assert_eq!(app.session_count().await, 0);
    app.stop().await;
}

#[tokio::test]
async fn disabled_users_lose_sessions_and_cannot_sign_in() {
    let app = TestApp::spawn().await;
    app.add_user("erin", "operator", PASSWORD).await;
    let (cookie, _) = app.login("erin", PASSWORD).await;
    app.app.state().accounts.disable_user("erin").await.expect("disable");
    let me = app.client.get(app.staff("/api/v1/me")).header("cookie", &cookie).send().await.expect("me");
    assert_eq!(error_code(me, StatusCode::UNAUTHORIZED).await, "unauthenticated");
    let response = app
        .client
        .post(app.staff("/api/v1/session"))
        .json(&json!({ "username": "erin", "password": PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(error_code(response, StatusCode::UNAUTHORIZED).await, "invalid_credentials");
    app.stop().await;
}

#[tokio::test]
async fn idle_sessions_expire() {
    let app = TestApp::spawn().await;
    app.add_user("fran", "operator", PASSWORD).await;
    let (cookie, _) = app.login("fran", PASSWORD).await;
    // Pretend the session was last used longer ago than the idle timeout (30 minutes).
    app.execute("UPDATE staff_sessions SET last_seen_at = last_seen_at - 31 * 60", vec![]).await;
    let me = app.client.get(app.staff("/api/v1/me")).header("cookie", &cookie).send().await.expect("me");
    assert_eq!(error_code(me, StatusCode::UNAUTHORIZED).await, "unauthenticated");
    assert_eq!(app.session_count().await, 0, "the expired session is removed");
    app.stop().await;
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_ip() {
    let app = TestApp::spawn_with(|c| c.auth.login_attempts_per_minute = 3).await;
    for _ in 0..3 {
        let response = app
            .client
            .post(app.staff("/api/v1/session"))
            .json(&json!({ "username": "ghost", "password": "wrong password here" }))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app
        .client
        .post(app.staff("/api/v1/session"))
        .json(&json!({ "username": "ghost", "password": "wrong password here" }))
        .send()
        .await
        .expect("send");
    let retry_after: u64 = response.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(error_code(response, StatusCode::TOO_MANY_REQUESTS).await, "rate_limited");
    app.stop().await;
}

/// `server.staff_connections_per_second`: past the burst, new staff connections wait (counted in
/// the metrics) but are served; the public listener is not paced.
#[tokio::test]
async fn new_staff_connections_are_paced_after_a_burst() {
    let app = TestApp::spawn_with(|c| c.server.staff_connections_per_second = 2).await;
    let paced = |metrics: &str, listener: &str| -> u64 {
        let line = format!("parley_accepts_paced_total{{listener=\"{listener}\"}} ");
        metrics.lines().find_map(|l| l.strip_prefix(line.as_str())).expect("metric").trim().parse().expect("count")
    };
    // A burst of 4 × 2 connections, and then some: each a new client, so a new connection.
    for n in 0..12 {
        let client = crate::harness::client_trusting(&app.cert_path());
        let (staff, public) = (client.get(app.staff("/readyz")), client.get(app.public("/healthz")));
        assert_eq!(staff.send().await.expect("staff").status(), StatusCode::OK, "staff connection {n}");
        assert_eq!(public.send().await.expect("public").status(), StatusCode::OK, "public connection {n}");
    }
    let metrics = app.client.get(app.staff("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(paced(&metrics, "staff") >= 2, "{metrics}");
    assert_eq!(paced(&metrics, "public"), 0);
    app.stop().await;
}

#[tokio::test]
async fn dashboard_login_page_is_served() {
    let app = TestApp::spawn().await;
    let page = app.client.get(app.staff("/")).send().await.expect("dashboard");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("<form id=\"login-form\""), "sign-in form present");
    assert!(html.contains("/dashboard/app.js"));
    for (script, needle) in [
        ("/dashboard/app.js", "./session.js"),
        ("/dashboard/session.js", "/api/v1/session"),
        ("/admin/admin.js", "/dashboard/session.js"),
    ] {
        let js = app.client.get(app.staff(script)).send().await.expect("script");
        assert_eq!(js.status(), StatusCode::OK, "{script}");
        assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
        let text = js.text().await.expect("text");
        assert!(text.contains(needle), "{script} uses {needle}");
    }
    app.stop().await;
}
