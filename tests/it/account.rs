//! Local accounts: forced and expired password changes, password history, lockout with back-off
//! and unlock, the per-account sign-in limit, TOTP enrolment and sign-in, and session lists.

use parley::auth::totp;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, error_code, session_cookie};
use crate::websocket::{close_code, connect};

const PASSWORD: &str = "correct horse battery staple";

/// A signed-in staff member's cookie and CSRF token.
struct Staff<'a> {
    app: &'a TestApp,
    cookie: String,
    csrf: String,
}

impl Staff<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self
            .app
            .client
            .request(method, self.app.staff(path))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }
}

async fn try_login(app: &TestApp, name: &str, password: &str, code: Option<&str>) -> Response {
    let mut body = json!({ "username": name, "password": password });
    if let Some(code) = code {
        body["totp_code"] = json!(code);
    }
    app.client.post(app.staff("/api/v1/session")).json(&body).send().await.expect("login request")
}

async fn sign_in<'a>(app: &'a TestApp, name: &str, password: &str, code: Option<&str>) -> Staff<'a> {
    let response = try_login(app, name, password, code).await;
    assert_eq!(response.status(), StatusCode::OK, "login as {name}");
    let cookie = session_cookie(&response).expect("cookie");
    let body: Value = response.json().await.expect("json");
    Staff { app, cookie, csrf: body["csrf_token"].as_str().expect("csrf").to_owned() }
}

async fn audit_actions(app: &TestApp) -> Vec<(String, Option<String>, Option<String>)> {
    let rows = app.app.state().store.audit_entries(1000).await.expect("audit");
    rows.into_iter().map(|r| (r.action, r.target, r.details)).collect()
}

fn has_audit(entries: &[(String, Option<String>, Option<String>)], action: &str, target: &str) -> bool {
    entries.iter().any(|(a, t, _)| a == action && t.as_deref() == Some(target))
}

async fn sql(app: &TestApp, statement: &'static str) {
    // Tests stand in for the passing of time by editing the stored times.
    let path = app.dir.path().join("parley.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.expect("open db");
    sqlx::query(statement).execute(&pool).await.expect("sql");
    pool.close().await;
}

#[tokio::test]
async fn first_login_forces_a_password_change_that_follows_the_policy() {
    let app = TestApp::spawn().await;
    let (_, generated) = app.app.state().accounts.add_user("gwen", "operator", None, None).await.expect("user");
    let generated = generated.expect("generated password");
    let gwen = sign_in(&app, "gwen", &generated, None).await;

    let me: Value = gwen.call(Method::GET, "/api/v1/me", None).await.json().await.expect("me");
    assert_eq!(me["pending"], "password_change_required", "{me}");
    let blocked = gwen.call(Method::GET, "/api/v1/canned-responses", None).await;
    assert_eq!(error_code(blocked, StatusCode::FORBIDDEN).await, "password_change_required");

    let change = |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    let wrong = gwen
        .call(Method::POST, "/api/v1/account/password", Some(change("not it at all", "plum kettle orbit 1947")))
        .await;
    assert_eq!(error_code(wrong, StatusCode::FORBIDDEN).await, "wrong_password");
    for weak in ["short", "1qaz2wsx3edc", "QWERTY123456", "Password1234"] {
        let refused = gwen.call(Method::POST, "/api/v1/account/password", Some(change(&generated, weak))).await;
        assert_eq!(error_code(refused, StatusCode::BAD_REQUEST).await, "weak_password", "{weak}");
    }
    let same = gwen.call(Method::POST, "/api/v1/account/password", Some(change(&generated, &generated))).await;
    assert_eq!(error_code(same, StatusCode::BAD_REQUEST).await, "password_reused");
    let done =
        gwen.call(Method::POST, "/api/v1/account/password", Some(change(&generated, "plum kettle orbit 1947"))).await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);

    assert_eq!(
        gwen.call(Method::GET, "/api/v1/canned-responses", None).await.status(),
        StatusCode::OK,
        "session goes on"
    );
    let me: Value = gwen.call(Method::GET, "/api/v1/me", None).await.json().await.expect("me");
    assert!(me["pending"].is_null() && me["user"]["must_change_password"] == false, "{me}");
    assert_eq!(try_login(&app, "gwen", &generated, None).await.status(), StatusCode::UNAUTHORIZED);
    sign_in(&app, "gwen", "plum kettle orbit 1947", None).await;
    assert!(has_audit(&audit_actions(&app).await, "auth.password_changed", "gwen"));
}

#[tokio::test]
async fn the_last_five_passwords_cannot_be_reused() {
    let app = TestApp::spawn().await;
    app.add_user("hal", "operator", PASSWORD).await;
    let hal = sign_in(&app, "hal", PASSWORD, None).await;
    let passwords: Vec<String> = (1..=5).map(|n| format!("plum kettle orbit {n}{n}{n}")).collect();
    let mut current = PASSWORD.to_owned();
    for next in &passwords {
        let body = json!({ "current_password": current, "new_password": next });
        let response = hal.call(Method::POST, "/api/v1/account/password", Some(body)).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{next}");
        current = next.clone();
    }
    for old in &passwords {
        let body = json!({ "current_password": current, "new_password": old });
        let refused = hal.call(Method::POST, "/api/v1/account/password", Some(body)).await;
        assert_eq!(error_code(refused, StatusCode::BAD_REQUEST).await, "password_reused", "{old}");
    }
    // The first password is six changes back: allowed again.
    let body = json!({ "current_password": current, "new_password": PASSWORD });
    assert_eq!(hal.call(Method::POST, "/api/v1/account/password", Some(body)).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn passwords_expire_after_the_configured_age() {
    let app = TestApp::spawn_with(|c| c.auth.password_max_age_days = 90).await;
    app.add_user("ida", "operator", PASSWORD).await;
    let fresh = sign_in(&app, "ida", PASSWORD, None).await;
    assert_eq!(fresh.call(Method::GET, "/api/v1/canned-responses", None).await.status(), StatusCode::OK);

    sql(&app, "UPDATE staff_users SET password_changed_at = password_changed_at - 91 * 86400 WHERE username = 'ida'")
        .await;
    let me: Value = fresh.call(Method::GET, "/api/v1/me", None).await.json().await.expect("me");
    assert_eq!(me["pending"], "password_change_required", "{me}");
    let blocked = fresh.call(Method::GET, "/api/v1/canned-responses", None).await;
    assert_eq!(error_code(blocked, StatusCode::FORBIDDEN).await, "password_change_required");
    let body = json!({ "current_password": PASSWORD, "new_password": "plum kettle orbit 1947" });
    assert_eq!(fresh.call(Method::POST, "/api/v1/account/password", Some(body)).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(fresh.call(Method::GET, "/api/v1/canned-responses", None).await.status(), StatusCode::OK);
}

async fn locked_until(app: &TestApp, name: &str) -> Option<i64> {
    sqlx::query_scalar("SELECT locked_until FROM staff_users WHERE username = ?1")
        .bind(name)
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("locked_until")
}

#[tokio::test]
async fn failed_logins_lock_the_account_with_growing_back_off_until_unlocked() {
    let app = TestApp::spawn_with(|c| c.auth.lockout_threshold = 3).await;
    app.add_user("jo", "operator", PASSWORD).await;
    app.add_user("root", "administrator", PASSWORD).await;
    for _ in 0..2 {
        assert_eq!(try_login(&app, "jo", "wrong password here", None).await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(locked_until(&app, "jo").await, None, "below the threshold");
    try_login(&app, "jo", "wrong password here", None).await;
    let now = parley::util::now();
    let first = locked_until(&app, "jo").await.expect("locked") - now;
    assert!((55..=61).contains(&first), "first lockout is a minute: {first}");

    // Locked: the right password gets exactly the answer an unknown user gets.
    let locked = try_login(&app, "jo", PASSWORD, None).await;
    assert_eq!(locked.status(), StatusCode::UNAUTHORIZED);
    let locked: Value = locked.json().await.expect("json");
    let unknown: Value = try_login(&app, "nobody-here", PASSWORD, None).await.json().await.expect("json");
    assert_eq!(locked, unknown, "a lockout does not reveal that the account exists");
    assert_eq!(locked["code"], "invalid_credentials");

    // The minute passes; one more failure locks for twice as long.
    sql(&app, "UPDATE staff_users SET locked_until = 1 WHERE username = 'jo'").await;
    try_login(&app, "jo", "wrong password again", None).await;
    let second = locked_until(&app, "jo").await.expect("locked again") - parley::util::now();
    assert!((115..=121).contains(&second), "second lockout is two minutes: {second}");

    let operator = {
        app.add_user("opal", "operator", PASSWORD).await;
        sign_in(&app, "opal", PASSWORD, None).await
    };
    let refused = operator.call(Method::POST, "/api/v1/users/jo/unlock", None).await;
    assert_eq!(error_code(refused, StatusCode::FORBIDDEN).await, "forbidden");
    let admin = sign_in(&app, "root", PASSWORD, None).await;
    let missing = admin.call(Method::POST, "/api/v1/users/nobody/unlock", None).await;
    assert_eq!(error_code(missing, StatusCode::NOT_FOUND).await, "unknown_user");
    assert_eq!(admin.call(Method::POST, "/api/v1/users/jo/unlock", None).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(locked_until(&app, "jo").await, None);
    sign_in(&app, "jo", PASSWORD, None).await;

    let audit = audit_actions(&app).await;
    assert!(has_audit(&audit, "auth.lockout", "jo") && has_audit(&audit, "auth.unlocked", "jo"), "{audit:?}");
    assert!(has_audit(&audit, "auth.login_refused_locked", "jo"), "{audit:?}");
    assert!(
        audit.iter().any(|(a, t, d)| a == "auth.login_failed"
            && t.as_deref() == Some("jo")
            && d.as_deref().is_some_and(|d| d.contains("ip=127.0.0.1"))),
        "failures are audited with the source address: {audit:?}"
    );
    assert!(
        audit.iter().any(|(a, _, d)| a == "auth.login" && d.as_deref().is_some_and(|d| d.contains("ip=127.0.0.1")))
    );
}

#[tokio::test]
async fn sign_ins_are_rate_limited_per_account() {
    let app = TestApp::spawn_with(|c| c.auth.login_attempts_per_account_per_minute = 3).await;
    app.add_user("kit", "operator", PASSWORD).await;
    app.add_user("lee", "operator", PASSWORD).await;
    for _ in 0..3 {
        try_login(&app, "kit", "wrong password here", None).await;
    }
    let limited = try_login(&app, "KIT", PASSWORD, None).await;
    let retry: u64 = limited
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After header");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(error_code(limited, StatusCode::TOO_MANY_REQUESTS).await, "rate_limited");
    sign_in(&app, "lee", PASSWORD, None).await;
}

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.bytes() {
        buffer = (buffer << 5) | ALPHABET.iter().position(|&a| a == c).expect("base32") as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

fn code(secret: &[u8], offset: i64) -> String {
    format!("{:06}", totp::code_at(secret, totp::step_at(parley::util::now()) + offset))
}

#[tokio::test]
async fn totp_enrolment_sign_in_replay_and_recovery_codes() {
    let app = TestApp::spawn_with(|c| c.auth.totp_required_roles = vec!["administrator".into()]).await;
    app.add_user("max", "administrator", PASSWORD).await;
    let max = sign_in(&app, "max", PASSWORD, None).await;
    let me: Value = max.call(Method::GET, "/api/v1/me", None).await.json().await.expect("me");
    assert_eq!(me["pending"], "totp_enrolment_required", "{me}");
    let blocked = max.call(Method::GET, "/api/v1/canned-responses", None).await;
    assert_eq!(error_code(blocked, StatusCode::FORBIDDEN).await, "totp_enrolment_required");
    let early = max.call(Method::POST, "/api/v1/account/totp/confirm", Some(json!({ "code": "123456" }))).await;
    assert_eq!(error_code(early, StatusCode::CONFLICT).await, "totp_not_started");

    let enrolment: Value = max.call(Method::POST, "/api/v1/account/totp", None).await.json().await.expect("enrol");
    let svg = enrolment["qr_svg"].as_str().expect("svg");
    assert!(svg.contains("<svg") && !svg.contains("href") && !svg.contains("<image"), "self-contained SVG");
    let secret = base32_decode(enrolment["secret"].as_str().expect("secret"));
    assert_eq!(secret.len(), 20);
    assert!(enrolment["otpauth_uri"].as_str().expect("uri").starts_with("otpauth://totp/Parley:max?"));
    let stored: Vec<u8> = sqlx::query_scalar("SELECT totp_secret FROM staff_users WHERE username = 'max'")
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("stored secret");
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_slice()), "the secret is sealed at rest");

    let wrong = max.call(Method::POST, "/api/v1/account/totp/confirm", Some(json!({ "code": "000000" }))).await;
    assert_eq!(error_code(wrong, StatusCode::BAD_REQUEST).await, "totp_invalid");
    let first_code = code(&secret, 0);
    let confirmed = max.call(Method::POST, "/api/v1/account/totp/confirm", Some(json!({ "code": first_code }))).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let confirmed: Value = confirmed.json().await.expect("codes");
    let recovery: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(
        max.call(Method::GET, "/api/v1/canned-responses", None).await.status(),
        StatusCode::OK,
        "enrolled: unblocked"
    );

    let missing = try_login(&app, "max", PASSWORD, None).await;
    assert_eq!(error_code(missing, StatusCode::UNAUTHORIZED).await, "totp_required");
    // The code used to confirm cannot sign in again (same time step).
    let replay = try_login(&app, "max", PASSWORD, Some(&first_code)).await;
    assert_eq!(error_code(replay, StatusCode::UNAUTHORIZED).await, "totp_invalid");
    let next_code = code(&secret, 1);
    sign_in(&app, "max", PASSWORD, Some(&next_code)).await;
    let replay = try_login(&app, "max", PASSWORD, Some(&next_code)).await;
    assert_eq!(error_code(replay, StatusCode::UNAUTHORIZED).await, "totp_invalid", "each step once");
    let wrong_password = try_login(&app, "max", "wrong password here", Some(&recovery[0])).await;
    assert_eq!(error_code(wrong_password, StatusCode::UNAUTHORIZED).await, "invalid_credentials");

    let by_recovery = sign_in(&app, "max", PASSWORD, Some(&recovery[0].to_uppercase())).await;
    let again = try_login(&app, "max", PASSWORD, Some(&recovery[0])).await;
    assert_eq!(error_code(again, StatusCode::UNAUTHORIZED).await, "totp_invalid", "recovery codes work once");
    let account: Value = by_recovery.call(Method::GET, "/api/v1/account", None).await.json().await.expect("account");
    assert_eq!(account["recovery_codes_left"], 9, "{account}");
    assert_eq!(account["totp_enabled"], true);

    let refused =
        by_recovery.call(Method::DELETE, "/api/v1/account/totp", Some(json!({ "password": "not my password" }))).await;
    assert_eq!(error_code(refused, StatusCode::FORBIDDEN).await, "wrong_password");
    let off = by_recovery.call(Method::DELETE, "/api/v1/account/totp", Some(json!({ "password": PASSWORD }))).await;
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    let blocked = by_recovery.call(Method::GET, "/api/v1/canned-responses", None).await;
    assert_eq!(error_code(blocked, StatusCode::FORBIDDEN).await, "totp_enrolment_required", "role still requires it");

    let audit = audit_actions(&app).await;
    for action in ["auth.totp_enrolled", "auth.recovery_code_used", "auth.totp_disabled"] {
        assert!(has_audit(&audit, action, "max"), "{action}: {audit:?}");
    }

    // Lost phone and recovery codes: a password reset removes two-factor sign-in too.
    app.app.state().accounts.start_totp(&state_session(&app, "max").await).await.expect("enrol again");
    let reset = app.app.state().accounts.reset_password("max").await.expect("reset");
    let user = app.app.state().store.user_by_name("max").await.expect("user").expect("max");
    let credentials = app.app.state().store.credentials(user.id).await.expect("credentials").expect("row");
    assert!(credentials.totp_secret.is_none() && !credentials.totp_enabled);
    let back = try_login(&app, "max", &reset, None).await;
    assert_eq!(back.status(), StatusCode::OK, "signs in with the reset password alone");
}

/// The service-level session of a user, for calling the account service directly.
async fn state_session(app: &TestApp, name: &str) -> parley::service::accounts::StaffSession {
    let staff = sign_in(app, name, PASSWORD, None).await;
    let token = staff.cookie.split_once('=').expect("cookie").1.to_owned();
    app.app.state().accounts.authenticate(&token).await.expect("session")
}

#[tokio::test]
async fn users_list_and_end_their_sessions_and_administrators_end_all() {
    let app = TestApp::spawn().await;
    app.add_user("nia", "operator", PASSWORD).await;
    app.add_user("root", "administrator", PASSWORD).await;
    let laptop = sign_in(&app, "nia", PASSWORD, None).await;
    let phone = sign_in(&app, "nia", PASSWORD, None).await;

    let listed: Value = laptop.call(Method::GET, "/api/v1/account/sessions", None).await.json().await.expect("list");
    let sessions = listed["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2, "{listed}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    for session in sessions {
        assert_eq!(session["source_ip"], "127.0.0.1");
        let keys: Vec<&String> = session.as_object().expect("object").keys().collect();
        assert!(!keys.iter().any(|k| k.contains("token") || k.contains("hash")), "{keys:?}");
    }
    let other = sessions.iter().find(|s| s["current"] == false).expect("the other session");
    let id = other["id"].as_str().expect("id");
    let unknown = laptop.call(Method::DELETE, "/api/v1/account/sessions/0123456789abcdef0123456789abcdef", None).await;
    assert_eq!(error_code(unknown, StatusCode::NOT_FOUND).await, "unknown_session");
    // Someone else cannot end Nia's session by its id.
    let root = sign_in(&app, "root", PASSWORD, None).await;
    let foreign = root.call(Method::DELETE, &format!("/api/v1/account/sessions/{id}"), None).await;
    assert_eq!(error_code(foreign, StatusCode::NOT_FOUND).await, "unknown_session");
    assert_eq!(
        laptop.call(Method::DELETE, &format!("/api/v1/account/sessions/{id}"), None).await.status(),
        StatusCode::NO_CONTENT
    );
    let ended = phone.call(Method::GET, "/api/v1/me", None).await;
    assert_eq!(error_code(ended, StatusCode::UNAUTHORIZED).await, "unauthenticated");
    assert_eq!(laptop.call(Method::GET, "/api/v1/me", None).await.status(), StatusCode::OK);

    // The administrator ends every session of Nia; her live-chat socket closes at once.
    let addr = app.app.staff_addr();
    let mut socket = connect(addr, &app.cert_path(), "/ws/staff", &format!("https://{addr}"), Some(&laptop.cookie))
        .await
        .expect("staff socket");
    crate::chat_support::until(&mut socket, "hello").await;
    let forbidden = laptop.call(Method::DELETE, "/api/v1/users/root/sessions", None).await;
    assert_eq!(error_code(forbidden, StatusCode::FORBIDDEN).await, "forbidden");
    let revoked = root.call(Method::DELETE, "/api/v1/users/nia/sessions", None).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let revoked: Value = revoked.json().await.expect("json");
    assert_eq!(revoked["ended"], 1);
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), close_code(&mut socket)).await;
    assert!(closed.is_ok(), "the websocket closes");
    let gone = laptop.call(Method::GET, "/api/v1/me", None).await;
    assert_eq!(error_code(gone, StatusCode::UNAUTHORIZED).await, "unauthenticated");

    let logout = root.call(Method::DELETE, "/api/v1/session", None).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let audit = audit_actions(&app).await;
    for action in ["auth.session_revoked", "auth.sessions_revoked", "auth.logout"] {
        assert!(audit.iter().any(|(a, _, _)| a == action), "{action}: {audit:?}");
    }
}
