//! Role-based access control: every operation of the OpenAPI document, called by every built-in
//! role, answers 403 `forbidden` exactly where the role lacks the operation's permission
//! (`x-permission`, checked against the server's own role table). Custom roles, role changes
//! and the staff websocket are covered too.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat_support::{PASSWORD, send, start, until, uuid, visitor};
use crate::harness::{TestApp, error_code};
use crate::websocket::connect;

const ROLES: [&str; 5] = ["operator", "supervisor", "administrator", "dpo", "auditor"];

struct Operation {
    method: Method,
    path: String,
    /// Any one of these permissions admits the caller; empty = any signed-in user.
    needs: Vec<String>,
    has_body: bool,
}

fn operations() -> Vec<Operation> {
    let doc: Value = serde_json::from_str(parley::http::api::OPENAPI).expect("OpenAPI document is JSON");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete = crate::routes::concrete(path);
        for (method, op) in item.as_object().expect("path item") {
            let needs = match &op["x-permission"] {
                Value::String(s) if s == "none" => continue,
                Value::String(s) if s == "signed_in" => Vec::new(),
                Value::String(s) => vec![s.clone()],
                Value::Array(list) => list.iter().map(|v| v.as_str().expect("permission name").to_owned()).collect(),
                other => panic!("{method} {path} has no x-permission: {other}"),
            };
            ops.push(Operation {
                method: method.to_uppercase().parse().expect("method"),
                path: concrete.clone(),
                needs,
                has_body: op.get("requestBody").is_some(),
            });
        }
    }
    ops
}

/// Signs in one user of each role; returns role → (cookie, csrf).
async fn sign_in_each_role(app: &TestApp) -> BTreeMap<&'static str, (String, String)> {
    let mut sessions = BTreeMap::new();
    for role in ROLES {
        let name = format!("rbac-{role}");
        app.add_user(&name, role, PASSWORD).await;
        sessions.insert(role, app.login(&name, PASSWORD).await);
    }
    sessions
}

async fn call(
    app: &TestApp,
    session: &(String, String),
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request =
        app.client.request(method, app.staff(path)).header("cookie", &session.0).header("x-csrf-token", &session.1);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn every_operation_is_refused_exactly_where_the_role_lacks_its_permission() {
    let app = TestApp::spawn().await;
    let sessions = sign_in_each_role(&app).await;
    // The expected permissions are the server's own table, as the Roles page shows it.
    let table: Value =
        call(&app, &sessions["administrator"], Method::GET, "/api/v1/roles", None).await.json().await.expect("roles");
    let granted: BTreeMap<String, BTreeSet<String>> = table["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| {
            let names = r["permissions"].as_array().expect("permissions").iter();
            (r["name"].as_str().expect("name").to_owned(), names.map(|p| p.as_str().expect("p").to_owned()).collect())
        })
        .collect();
    for role in ROLES {
        assert!(!granted[role].is_empty(), "{role} has permissions");
    }
    let (mut refused, mut admitted) = (0, 0);
    for op in operations() {
        // Signing out would end the session the walk still needs.
        if op.method == Method::DELETE && op.path == "/api/v1/session" {
            continue;
        }
        for role in ROLES {
            let may = op.needs.is_empty() || op.needs.iter().any(|p| granted[role].contains(p));
            let body = op.has_body.then(|| json!({}));
            let response = call(&app, &sessions[role], op.method.clone(), &op.path, body).await;
            let status = response.status();
            if may {
                let text = response.text().await.unwrap_or_default();
                assert_ne!(status, StatusCode::FORBIDDEN, "{role} may {} {}: {text}", op.method, op.path);
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{role} {} {}: {text}", op.method, op.path);
                admitted += 1;
            } else {
                let code = error_code(response, StatusCode::FORBIDDEN).await;
                assert_eq!(code, "forbidden", "{role} lacks {:?} for {} {}", op.needs, op.method, op.path);
                refused += 1;
            }
        }
    }
    assert!(refused > 40 && admitted > 40, "both outcomes walked: {refused} refused, {admitted} admitted");
    app.stop().await;
}

#[tokio::test]
async fn custom_roles_apply_at_once_and_cannot_be_deleted_while_held() {
    let app = TestApp::spawn().await;
    app.add_user("rbac-admin", "administrator", PASSWORD).await;
    let admin = app.login("rbac-admin", PASSWORD).await;
    // A watch-only role: may see the queue and stored chats, may not answer.
    let role = json!({
        "description": "Watches the queue",
        "permissions": ["chats.view", "stored_chats.view"],
    });
    let created = call(&app, &admin, Method::PUT, "/api/v1/roles/watcher", Some(role)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let bad =
        call(&app, &admin, Method::PUT, "/api/v1/roles/helpdesk", Some(json!({ "permissions": ["chats.read"] }))).await;
    assert_eq!(error_code(bad, StatusCode::BAD_REQUEST).await, "invalid");
    let builtin = call(&app, &admin, Method::PUT, "/api/v1/roles/operator", Some(json!({ "permissions": [] }))).await;
    assert_eq!(builtin.status(), StatusCode::OK, "a built-in role's restrictions may change");
    let roles: Value = call(&app, &admin, Method::GET, "/api/v1/roles", None).await.json().await.expect("roles");
    let operator = roles["roles"].as_array().expect("list").iter().find(|r| r["name"] == "operator").expect("op");
    assert!(operator["permissions"].as_array().expect("p").len() > 3, "built-in permissions are fixed");

    let made = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "username": "wendy", "role": "watcher", "password": PASSWORD })),
    )
    .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let wendy = app.login("wendy", PASSWORD).await;
    assert_eq!(call(&app, &wendy, Method::GET, "/api/v1/conversations", None).await.status(), StatusCode::OK);
    let keys = call(&app, &wendy, Method::GET, "/api/v1/keys", None).await;
    assert_eq!(error_code(keys, StatusCode::FORBIDDEN).await, "forbidden");

    // On the staff websocket she sees the queue but may not take a chat, and is never counted
    // as an operator who is there to answer.
    let addr = app.app.staff_addr();
    let mut ws = connect(addr, &app.cert_path(), "/ws/staff", &format!("https://{addr}"), Some(&wendy.0))
        .await
        .expect("a chats.view role connects");
    until(&mut ws, "queue").await;
    assert!(app.app.state().chat.hub().available_users().is_empty(), "a watcher is not an available operator");
    let _operator = crate::chat_support::operator(&app, "oscar").await;
    let mut citizen = visitor(&app).await;
    let (conversation, _) = start(&mut citizen, "Ann").await;
    send(&mut ws, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": conversation })).await;
    let (error, _) = until(&mut ws, "error").await;
    assert_eq!(error["code"], "forbidden", "{error}");

    // Deleting a role someone holds is refused; giving the permission applies to the next request.
    let held = call(&app, &admin, Method::DELETE, "/api/v1/roles/watcher", None).await;
    assert_eq!(error_code(held, StatusCode::CONFLICT).await, "conflict");
    let grant = json!({ "permissions": ["chats.view", "stored_chats.view", "keys.view"] });
    assert_eq!(call(&app, &admin, Method::PUT, "/api/v1/roles/watcher", Some(grant)).await.status(), StatusCode::OK);
    assert_eq!(call(&app, &wendy, Method::GET, "/api/v1/keys", None).await.status(), StatusCode::OK);

    // A role change ends her sessions; an auditor may not open the chat socket at all.
    let demote = call(&app, &admin, Method::PATCH, "/api/v1/users/wendy", Some(json!({ "role": "auditor" }))).await;
    assert_eq!(demote.status(), StatusCode::OK);
    let after = call(&app, &wendy, Method::GET, "/api/v1/me", None).await;
    assert_eq!(error_code(after, StatusCode::UNAUTHORIZED).await, "unauthenticated");
    let wendy = app.login("wendy", PASSWORD).await;
    let refused = connect(addr, &app.cert_path(), "/ws/staff", &format!("https://{addr}"), Some(&wendy.0)).await;
    assert!(refused.is_err_and(|e| e.contains("403")), "an auditor has no chats.view");
    let own = call(&app, &admin, Method::PATCH, "/api/v1/users/rbac-admin", Some(json!({ "disabled": true }))).await;
    assert_eq!(error_code(own, StatusCode::CONFLICT).await, "own_account");
    assert_eq!(
        call(&app, &admin, Method::DELETE, "/api/v1/roles/watcher", None).await.status(),
        StatusCode::NO_CONTENT
    );
    app.stop().await;
}

#[tokio::test]
async fn disabling_a_user_closes_their_chat_socket_at_once() {
    let app = TestApp::spawn().await;
    app.add_user("rbac-admin", "administrator", PASSWORD).await;
    let admin = app.login("rbac-admin", PASSWORD).await;
    let mut ws = crate::chat_support::operator(&app, "olive").await;
    let disabled = call(&app, &admin, Method::PATCH, "/api/v1/users/olive", Some(json!({ "disabled": true }))).await;
    assert_eq!(disabled.status(), StatusCode::OK);
    let code = tokio::time::timeout(std::time::Duration::from_secs(5), crate::websocket::close_code(&mut ws))
        .await
        .expect("closed within seconds, not at the next 30 s check");
    assert!(code.is_some(), "the socket was closed by the server");
    let login = app
        .client
        .post(app.staff("/api/v1/session"))
        .json(&json!({ "username": "olive", "password": PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED, "a disabled user cannot sign in");
    app.stop().await;
}

#[tokio::test]
async fn a_role_may_sign_in_only_from_its_networks_and_in_its_hours() {
    let app = TestApp::spawn().await;
    app.add_user("rbac-admin", "administrator", PASSWORD).await;
    app.add_user("otto", "operator", PASSWORD).await;
    let admin = app.login("rbac-admin", PASSWORD).await;
    let login = |name: &'static str| {
        app.client.post(app.staff("/api/v1/session")).json(&json!({ "username": name, "password": PASSWORD })).send()
    };
    let restrict = |body: Value| call(&app, &admin, Method::PUT, "/api/v1/roles/operator", Some(body));

    assert_eq!(restrict(json!({ "allowed_networks": ["10.0.0.0/8"] })).await.status(), StatusCode::OK);
    let refused = login("otto").await.expect("login");
    assert_eq!(error_code(refused, StatusCode::FORBIDDEN).await, "login_network_refused");
    // A wrong password from a refused network still gets the generic answer: nothing is revealed.
    let wrong = app
        .client
        .post(app.staff("/api/v1/session"))
        .json(&json!({ "username": "otto", "password": "not the password at all" }))
        .send()
        .await
        .expect("login");
    assert_eq!(error_code(wrong, StatusCode::UNAUTHORIZED).await, "invalid_credentials");
    let bad = restrict(json!({ "allowed_networks": ["10.0.0.1/8"] })).await;
    assert_eq!(error_code(bad, StatusCode::BAD_REQUEST).await, "invalid");
    assert_eq!(restrict(json!({ "allowed_networks": ["127.0.0.0/8"] })).await.status(), StatusCode::OK);
    assert_eq!(login("otto").await.expect("login").status(), StatusCode::OK);

    // Hours: only a day that is not today (UK time).
    let today = parley::service::hours::uk_local(time::OffsetDateTime::now_utc()).weekday();
    let other = parley::service::hours::DAYS[(today.number_days_from_monday() as usize + 2) % 7];
    let hours = json!({ "allowed_networks": [], "login_hours": { other: [["00:00", "24:00"]] } });
    assert_eq!(restrict(hours).await.status(), StatusCode::OK);
    let refused = login("otto").await.expect("login");
    assert_eq!(error_code(refused, StatusCode::FORBIDDEN).await, "login_hours_refused");
    assert!(app.login("rbac-admin", PASSWORD).await.0.contains("parley"), "other roles are not restricted");
    assert_eq!(restrict(json!({})).await.status(), StatusCode::OK);
    assert_eq!(login("otto").await.expect("login").status(), StatusCode::OK);

    let audit: Value =
        call(&app, &admin, Method::GET, "/api/v1/audit?limit=1000", None).await.json().await.expect("audit");
    let refusals: Vec<&Value> =
        audit.as_array().expect("list").iter().filter(|e| e["action"] == "auth.login_refused_restriction").collect();
    assert_eq!(refusals.len(), 2, "each refusal is audited: {refusals:?}");
    assert!(refusals.iter().any(|e| e["details"].as_str().is_some_and(|d| d.contains("login_hours_refused"))));
    app.stop().await;
}
