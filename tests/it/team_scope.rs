//! Team scope (a role property): a role limited to its own teams sees and takes only the chats,
//! offline requests and transcripts of the departments its holders belong to — in the API and
//! on the staff websocket — while a role that reaches all teams sees everything.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat_support::{PASSWORD, send, until, uuid, visitor};
use crate::gdpr::Staff;
use crate::harness::TestApp;
use crate::websocket::{Client, connect};

/// A staff socket for an existing account, after its greeting.
async fn staff_socket(app: &TestApp, name: &str) -> (Client, Value) {
    let (cookie, _) = app.login(name, PASSWORD).await;
    let addr = app.app.staff_addr();
    let mut ws =
        connect(addr, &app.cert_path(), "/ws/staff", &format!("https://{addr}"), Some(&cookie)).await.expect("staff");
    until(&mut ws, "hello").await;
    let (queue, _) = until(&mut ws, "queue").await;
    until(&mut ws, "mine").await;
    (ws, queue)
}

fn waiting(queue: &Value) -> Vec<String> {
    queue["waiting"]
        .as_array()
        .expect("waiting")
        .iter()
        .filter_map(|c| c["conversation"].as_str().map(str::to_owned))
        .collect()
}

/// Reads queue frames until one lists `conversation`; returns it.
async fn queue_with(ws: &mut Client, conversation: &str) -> Value {
    loop {
        let (queue, _) = until(ws, "queue").await;
        if waiting(&queue).iter().any(|c| c == conversation) {
            return queue;
        }
    }
}

async fn start_in(app: &TestApp, department: &str, name: &str) -> (Client, String) {
    let mut ws = visitor(app).await;
    let start = json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": name, "question": "Hello", "department": department });
    send(&mut ws, start).await;
    let (started, _) = until(&mut ws, "started").await;
    (ws, started["conversation"].as_str().expect("id").to_owned())
}

async fn leave_in(app: &TestApp, department: &str, text: &str) {
    let mut ws = visitor(app).await;
    let leave = json!({ "v": 1, "type": "leave_message", "id": uuid(), "site": "main", "name": "Dai", "email": "dai@example.org",
                        "text": text, "department": department });
    send(&mut ws, leave).await;
    until(&mut ws, "ack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_scoped_operator_reaches_only_their_own_teams() {
    let app = TestApp::spawn().await;
    let admin = Staff::new(&app, "ada", "administrator").await;
    let operator_permissions =
        json!(["chats.view", "chats.store", "stored_chats.view", "offline_requests.view", "offline_requests.store"]);
    // The role API: the scope is a role property; built-in roles stay all-teams.
    let role = json!({ "description": "Council staff", "permissions": operator_permissions, "scope": "own_teams" });
    let (status, body) = admin.put(&app, "/api/v1/roles/council", role).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["scope"], "own_teams");
    let (status, body) = admin.put(&app, "/api/v1/roles/bad", json!({ "scope": "mine" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid")), "{body}");
    let (status, body) = admin.put(&app, "/api/v1/roles/operator", json!({ "scope": "own_teams" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let roles = admin.get(&app, "/api/v1/roles").await;
    let scope_of = |name: &str| {
        roles["roles"].as_array().and_then(|l| l.iter().find(|r| r["name"] == name)).map(|r| r["scope"].clone())
    };
    assert_eq!(scope_of("operator"), Some(json!("all")));
    assert_eq!(scope_of("council"), Some(json!("own_teams")));

    // Cara (council scope) is in the council team; sid (supervisor, all teams) in neither.
    app.add_user("cara", "council", PASSWORD).await;
    app.add_user("sid", "supervisor", PASSWORD).await;
    for (key, name, members) in [("council", "Council", ["cara"]), ("police", "Police", ["ada"])] {
        let team = json!({ "name": name, "members": members, "assignment": "manual", "hours": null });
        assert_eq!(admin.put(&app, &format!("/api/v1/departments/{key}"), team).await.0, StatusCode::OK);
    }
    let site = json!({ "name": "Main website", "origins": ["https://www.example.gov.uk"], "departments": ["council", "police"] });
    assert_eq!(admin.put(&app, "/api/v1/sites/main", site).await.0, StatusCode::OK);

    // A chat starts only while a member of its team is online: cara for the council, ada for
    // the police.
    let (_ada_ws, _) = staff_socket(&app, "ada").await;
    let (mut cara, greeting) = staff_socket(&app, "cara").await;
    assert!(waiting(&greeting).is_empty(), "{greeting}");
    let (_police_visitor, police_chat) = start_in(&app, "police", "Pam").await;
    let (_council_visitor, council_chat) = start_in(&app, "council", "Colin").await;
    leave_in(&app, "police", "police offline message").await;
    leave_in(&app, "council", "council offline message").await;

    // The websocket queue: cara's frames list the council chat only; sid's list both.
    let cara_queue = queue_with(&mut cara, &council_chat).await;
    assert_eq!(waiting(&cara_queue), vec![council_chat.clone()], "{cara_queue}");
    assert_eq!(cara_queue["total"], 1);
    let (mut sid, greeting) = staff_socket(&app, "sid").await;
    let both = waiting(&greeting);
    assert!(both.contains(&police_chat) && both.contains(&council_chat), "{greeting}");

    // Taking: cara cannot take a police chat (it does not exist for her); sid can.
    send(&mut cara, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": police_chat })).await;
    assert_eq!(until(&mut cara, "error").await.0["code"], "unknown_conversation");
    send(&mut cara, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": council_chat })).await;
    until(&mut cara, "accepted").await;
    send(&mut sid, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": police_chat })).await;
    until(&mut sid, "accepted").await;
    // Nor can a chat be handed to her from outside her teams.
    send(&mut sid, json!({ "v": 1, "type": "transfer", "id": uuid(), "conversation": police_chat, "to": "cara" }))
        .await;
    assert_eq!(until(&mut sid, "error").await.0["code"], "invalid");

    // The API: stored chats, transcripts, notes and offline requests.
    let cara_api = Staff::login(&app, "cara").await;
    let sid_api = Staff::login(&app, "sid").await;
    let listed = cara_api.get(&app, "/api/v1/conversations").await.to_string();
    assert!(listed.contains(&council_chat) && !listed.contains(&police_chat), "{listed}");
    let listed = sid_api.get(&app, "/api/v1/conversations").await.to_string();
    assert!(listed.contains(&council_chat) && listed.contains(&police_chat), "{listed}");
    for what in ["messages", "notes"] {
        let (status, body) =
            cara_api.call(&app, Method::GET, &format!("/api/v1/conversations/{police_chat}/{what}"), None).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_conversation")), "{what}");
        cara_api.get(&app, &format!("/api/v1/conversations/{council_chat}/{what}")).await;
        sid_api.get(&app, &format!("/api/v1/conversations/{police_chat}/{what}")).await;
    }
    let offline = cara_api.get(&app, "/api/v1/offline-requests").await;
    let texts: Vec<&str> = offline.as_array().expect("list").iter().filter_map(|r| r["text"].as_str()).collect();
    assert_eq!(texts, vec!["council offline message"]);
    let all = sid_api.get(&app, "/api/v1/offline-requests").await;
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    let police_request = all
        .as_array()
        .and_then(|l| l.iter().find(|r| r["text"] == "police offline message"))
        .and_then(|r| r["id"].as_i64())
        .expect("police request");
    for action in ["done", "assign"] {
        let body = (action == "assign").then(|| json!({ "user": "cara" }));
        let (status, answer) = cara_api
            .call(&app, Method::POST, &format!("/api/v1/offline-requests/{police_request}/{action}"), body)
            .await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_request")), "{action}");
    }
    app.stop().await;
}
