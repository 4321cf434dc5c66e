//! Departments: administration, routing to members (automatic and manual), per-operator chat
//! limits, business hours, transfers to a department, site themes, and offline requests that
//! are assigned and answered by e-mail.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat_support::{operator, send, until, uuid, visitor};
use crate::gdpr::Staff as Api;
use crate::harness::TestApp;
use crate::mail::{SmtpSink, quoted_printable, with_smtp};
use crate::websocket::Client;

fn department(name: &str, members: &[&str], assignment: &str) -> Value {
    json!({ "name": name, "members": members, "assignment": assignment, "hours": null })
}

async fn offer(app: &TestApp, admin: &Api, departments: &[&str]) {
    let site = json!({ "name": "Main website", "origins": ["https://www.example.gov.uk"], "departments": departments });
    let (status, body) = admin.put(app, "/api/v1/sites/main", site).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn start_frame(department: Option<&str>) -> Value {
    let mut frame =
        json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": "Rhian", "question": "About my bill" });
    if let Some(d) = department {
        frame["department"] = json!(d);
    }
    frame
}

/// Starts a chat for `department`; returns the conversation id.
async fn start_in(ws: &mut Client, department: &str) -> String {
    send(ws, start_frame(Some(department))).await;
    let (started, _) = until(ws, "started").await;
    started["conversation"].as_str().expect("conversation").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn departments_holidays_and_themes_are_administered() {
    let app = TestApp::spawn().await;
    let admin = Api::new(&app, "ada", "administrator").await;
    let clerk = Api::new(&app, "cleo", "operator").await;

    // Only administrators change departments; every problem is named.
    let tax = json!({ "name": "Council tax", "name_cy": "Treth gyngor", "routing": "round_robin", "members": ["cleo"],
                      "hours": { "mon": [["09:00", "17:00"]], "fri": [["09:00", "12:30"], ["13:30", "16:00"]] } });
    let (status, _) = clerk.put(&app, "/api/v1/departments/tax", tax.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (bad, why) in [
        (json!({ "name": "Tax", "hours": { "mon": [["17:00", "09:00"]] } }), "before it ends"),
        (json!({ "name": "Tax", "hours": { "monday": [] } }), "not a day"),
        (json!({ "name": "Tax", "members": ["nobody"] }), "nobody"),
        (json!({ "name": "", "members": [] }), "name"),
        (json!({ "name": "Tax", "routing": "random" }), "random"),
    ] {
        let (status, body) = admin.put(&app, "/api/v1/departments/tax", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["message"].as_str().unwrap_or_default().contains(why), "{bad}: {body}");
    }
    let (status, _) = admin.put(&app, "/api/v1/departments/Tax%20Office", tax.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "keys are lower-case words");
    let (status, saved) = admin.put(&app, "/api/v1/departments/tax", tax).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["members"], json!(["cleo"]));
    assert_eq!(saved["routing"], "round_robin");
    assert_eq!(saved["closed_on_bank_holidays"], true, "the default");
    assert_eq!(saved["available"], false, "cleo is not signed in to the dashboard");
    let list = clerk.get(&app, "/api/v1/departments").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["hours"]["fri"][1], json!(["13:30", "16:00"]));

    // Bank holidays: a year by the rules, plus a one-off, and removal.
    let (status, holidays) = admin
        .call(&app, Method::POST, "/api/v1/bank-holidays/generate", Some(json!({ "region": "scotland", "year": 2026 })))
        .await;
    assert_eq!(status, StatusCode::OK, "{holidays}");
    let dates: Vec<&str> = holidays.as_array().expect("list").iter().filter_map(|h| h["date"].as_str()).collect();
    assert_eq!(dates.len(), 9, "{dates:?}");
    assert!(dates.contains(&"2026-11-30") && dates.contains(&"2026-08-03"), "{dates:?}");
    let (status, _) = admin.put(&app, "/api/v1/bank-holidays/2026-06-01", json!({ "name": "Civic day" })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = admin.put(&app, "/api/v1/bank-holidays/01-06-2026", json!({ "name": "Civic day" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid")));
    assert_eq!(admin.get(&app, "/api/v1/bank-holidays").await.as_array().map(Vec::len), Some(10));
    let (status, _) = clerk.call(&app, Method::GET, "/api/v1/bank-holidays", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the holiday list is a setting (settings.view)");
    let (status, _) = admin.call(&app, Method::DELETE, "/api/v1/bank-holidays/2026-06-01", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = admin.call(&app, Method::DELETE, "/api/v1/bank-holidays/2026-06-01", None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_bank_holiday")));

    // Sites: departments must exist; the colour must be readable with white text.
    let site = |departments: Value, colour: &str| {
        json!({ "name": "Main website", "origins": ["https://www.example.gov.uk"], "departments": departments,
                "theme": { "colour": colour, "greeting": "  Hello from the council  ", "title_cy": "" } })
    };
    let (status, body) = admin.put(&app, "/api/v1/sites/main", site(json!(["tax", "parking"]), "#1d70b8")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap_or_default().contains("parking"), "{body}");
    let (status, body) = admin.put(&app, "/api/v1/sites/main", site(json!(["tax"]), "#ffdd00")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap_or_default().contains("contrast of 1.3"), "{body}");
    let (status, saved) = admin.put(&app, "/api/v1/sites/main", site(json!(["tax"]), "#1D70B8")).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["theme"], json!({ "colour": "#1d70b8", "greeting": "Hello from the council" }));
    let config: Value = app
        .client
        .get(app.public("/widget/config?site=main"))
        .send()
        .await
        .expect("config")
        .json()
        .await
        .expect("json");
    assert_eq!(config["theme"]["colour"], "#1d70b8");
    assert_eq!(config["departments"][0]["key"], "tax");
    assert_eq!(config["departments"][0]["name_cy"], "Treth gyngor");
    assert_eq!(config["available"], false);

    // The staff list for pickers.
    let users = clerk.get(&app, "/api/v1/users").await;
    let names: Vec<&str> = users.as_array().expect("list").iter().filter_map(|u| u["username"].as_str()).collect();
    assert_eq!(names, ["ada", "cleo"]);
    assert_eq!(users[1]["online"], false);

    // Deleting a department takes it off the site.
    let (status, _) = admin.call(&app, Method::DELETE, "/api/v1/departments/tax", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let sites = admin.get(&app, "/api/v1/sites").await;
    assert_eq!(sites[0]["departments"], json!([]), "{sites}");
    let (status, body) = admin.call(&app, Method::DELETE, "/api/v1/departments/tax", None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_department")));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_go_to_members_of_the_chosen_department_within_their_limits() {
    let app = TestApp::spawn().await;
    let mut ann = operator(&app, "ann").await;
    let mut bob = operator(&app, "bob").await;
    let admin = Api::new(&app, "ada", "administrator").await;
    let sam = Api::new(&app, "sam", "supervisor").await;
    admin.put(&app, "/api/v1/departments/tax", department("Council tax", &["ann"], "auto")).await;
    admin.put(&app, "/api/v1/departments/bins", department("Bins", &["bob"], "manual")).await;
    offer(&app, &admin, &["tax", "bins"]).await;

    // With two departments offered, the visitor must name one the site offers.
    let mut v1 = visitor(&app).await;
    for frame in [start_frame(None), start_frame(Some("parking"))] {
        send(&mut v1, frame).await;
        assert_eq!(until(&mut v1, "error").await.0["code"], "unknown_department");
    }

    // Council tax hands chats to ann automatically, up to the limit she chose.
    send(&mut ann, json!({ "v": 1, "type": "status", "status": "online", "max_chats": 21 })).await;
    assert_eq!(until(&mut ann, "error").await.0["code"], "invalid");
    send(&mut ann, json!({ "v": 1, "type": "status", "status": "online", "max_chats": 1 })).await;
    assert_eq!(until(&mut ann, "status").await.0["max_chats"], 1);
    let first = start_in(&mut v1, "tax").await;
    let (assigned, _) = until(&mut ann, "assigned").await;
    assert_eq!(assigned["conversation"], first.as_str());
    assert_eq!(assigned["department"], json!({ "key": "tax", "name": "Council tax" }));
    let mut v2 = visitor(&app).await;
    let second = start_in(&mut v2, "tax").await;
    let (queued, _) = until(&mut v2, "queue").await;
    assert_eq!(queued["position"], 1, "first in the council tax queue: ann is at her limit");
    send(&mut ann, json!({ "v": 1, "type": "status", "status": "online", "max_chats": 2 })).await;
    let (assigned, _) = until(&mut ann, "assigned").await;
    assert_eq!(assigned["conversation"], second.as_str());
    until(&mut v2, "accepted").await;

    // Bins is manual: the chat waits for a member to pick it; others may not.
    let mut v3 = visitor(&app).await;
    let bins = start_in(&mut v3, "bins").await;
    let entry = loop {
        let (queue, _) = until(&mut bob, "queue").await;
        let waiting = queue["waiting"].as_array().expect("waiting").clone();
        if let Some(entry) = waiting.into_iter().find(|w| w["conversation"] == bins.as_str()) {
            break entry;
        }
    };
    assert_eq!(entry["department"]["key"], "bins", "the bins chat waits, with its department");
    send(&mut ann, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": bins })).await;
    let (refused, _) = until(&mut ann, "error").await;
    assert_eq!(refused["code"], "not_member", "{refused}");
    send(&mut bob, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": bins })).await;
    let (accepted, _) = until(&mut bob, "accepted").await;
    assert_eq!(accepted["department"]["key"], "bins");

    // A supervisor may pick a chat of any department.
    let mut v4 = visitor(&app).await;
    let another = start_in(&mut v4, "bins").await;
    let addr = app.app.staff_addr();
    let mut supervisor =
        crate::websocket::connect(addr, &app.cert_path(), "/ws/staff", &format!("https://{addr}"), Some(&sam.cookie))
            .await
            .expect("supervisor socket");
    until(&mut supervisor, "mine").await;
    send(&mut supervisor, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": another })).await;
    until(&mut supervisor, "accepted").await;
    let stored: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT c.public_id, d.key FROM conversations c LEFT JOIN departments d ON d.id = c.department_id ORDER BY c.id",
    )
    .fetch_all(app.app.state().store.reader())
    .await
    .expect("rows");
    let keys: Vec<Option<&str>> = stored.iter().map(|(_, d)| d.as_deref()).collect();
    assert_eq!(keys, [Some("tax"), Some("tax"), Some("bins"), Some("bins")]);

    // Stored chats filter by department, and by text in non-personal metadata only.
    let count = |list: Value| list.as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(count(admin.get(&app, "/api/v1/conversations?department=bins").await), 2);
    let by_team = admin.get(&app, "/api/v1/conversations?q=COUNCIL%20TAX").await;
    assert_eq!(count(by_team.clone()), 2);
    assert_eq!(by_team[0]["department"], "tax");
    assert_eq!(count(admin.get(&app, "/api/v1/conversations?q=sam").await), 1, "the supervisor's chat");
    assert_eq!(count(admin.get(&app, "/api/v1/conversations?q=Rhian").await), 0, "visitor names are not searched");
    let (status, body) =
        admin.call(&app, Method::GET, &format!("/api/v1/conversations?q={}", "x".repeat(101)), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_query")));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_department_takes_messages_and_chats_move_between_departments() {
    let app = TestApp::spawn().await;
    let mut ann = operator(&app, "ann").await;
    let mut bob = operator(&app, "bob").await;
    let admin = Api::new(&app, "ada", "administrator").await;
    admin.put(&app, "/api/v1/departments/tax", department("Council tax", &["ann"], "auto")).await;
    admin.put(&app, "/api/v1/departments/bins", department("Bins", &["bob"], "manual")).await;
    // No opening times on any day: always closed, even with a member online.
    let closed = json!({ "name": "Night desk", "members": ["ann", "bob"], "hours": {} });
    admin.put(&app, "/api/v1/departments/night", closed).await;
    offer(&app, &admin, &["tax", "bins", "night"]).await;

    let config: Value = app
        .client
        .get(app.public("/widget/config?site=main"))
        .send()
        .await
        .expect("config")
        .json()
        .await
        .expect("json");
    let night = &config["departments"][2];
    assert_eq!((night["key"].as_str(), night["open"].as_bool()), (Some("night"), Some(false)), "{config}");
    assert_eq!(night["available"], false);
    assert_eq!(config["departments"][0]["available"], true, "ann is online for council tax");
    assert_eq!(config["available"], true);

    let mut ws = visitor(&app).await;
    send(&mut ws, start_frame(Some("night"))).await;
    assert_eq!(until(&mut ws, "error").await.0["code"], "offline");
    let leave = json!({ "v": 1, "type": "leave_message", "id": uuid(), "site": "main", "department": "night",
                        "name": "Rhian", "email": "rhian@example.org", "text": "Please call me tomorrow." });
    send(&mut ws, leave).await;
    until(&mut ws, "ack").await;
    let requests = admin.get(&app, "/api/v1/offline-requests").await;
    assert_eq!(requests[0]["department"], json!({ "key": "night", "name": "Night desk" }));

    // Ann hands a council tax chat to the bins team with a note.
    let conversation = start_in(&mut ws, "tax").await;
    until(&mut ann, "assigned").await;
    send(&mut ann, json!({ "v": 1, "type": "join", "conversation": conversation, "last_seq": 0 })).await;
    until(&mut ann, "message").await;
    let transfer = json!({ "v": 1, "type": "transfer", "id": uuid(), "conversation": conversation,
                           "department": "bins", "note": "About a missed collection" });
    send(&mut ann, transfer).await;
    let (done, _) = until(&mut ann, "transferred").await;
    assert_eq!(done["department"], "bins");
    let (requeued, _) = until(&mut ws, "requeued").await;
    assert_eq!(requeued["reason"], "transfer");
    let (position, _) = until(&mut ws, "queue").await;
    assert_eq!(position["position"], 1);
    send(&mut bob, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": conversation })).await;
    let (accepted, skipped) = until(&mut bob, "accepted").await;
    assert_eq!(accepted["department"]["key"], "bins", "{skipped:?}");
    let (note, _) = until(&mut bob, "note").await;
    assert_eq!(note["text"], "Transferred from ann to the Bins team: About a missed collection");
    // Both at once, or neither, is refused.
    let both = json!({ "v": 1, "type": "transfer", "id": uuid(), "conversation": conversation, "to": "ann", "department": "tax" });
    send(&mut bob, both).await;
    assert_eq!(until(&mut bob, "error").await.0["code"], "invalid");
    app.stop().await;
}

/// Dafydd leaves a message; returns the offline request's id.
async fn leave_message(app: &TestApp, staff: &Api, text: &str) -> i64 {
    let mut ws = visitor(app).await;
    let leave = json!({ "v": 1, "type": "leave_message", "id": uuid(), "site": "main", "name": "Dafydd",
                        "email": "dafydd@example.org", "text": text });
    send(&mut ws, leave).await;
    until(&mut ws, "ack").await;
    staff.get(app, "/api/v1/offline-requests").await[0]["id"].as_i64().expect("id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_requests_are_assigned_and_answered_by_email() {
    let smtp = SmtpSink::start();
    let app = TestApp::spawn_with(with_smtp(smtp.port)).await;
    let admin = Api::new(&app, "ada", "administrator").await;
    let ann = Api::new(&app, "ann", "operator").await;
    let id = leave_message(&app, &admin, "Is my bin collected on the bank holiday?").await;

    let (status, body) = admin
        .call(&app, Method::POST, &format!("/api/v1/offline-requests/{id}/assign"), Some(json!({ "user": "zed" })))
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid")));
    let (status, row) = admin
        .call(&app, Method::POST, &format!("/api/v1/offline-requests/{id}/assign"), Some(json!({ "user": "ann" })))
        .await;
    assert_eq!(status, StatusCode::OK, "{row}");
    assert_eq!(row["assigned_to"], "ann");
    assert_eq!(admin.get(&app, "/api/v1/offline-requests?assigned=me").await, json!([]));
    assert_eq!(ann.get(&app, "/api/v1/offline-requests?assigned=me").await[0]["id"], id);

    let reply = format!("/api/v1/offline-requests/{id}/reply");
    let (status, body) = ann.call(&app, Method::POST, &reply, Some(json!({ "text": "   " }))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("empty")));
    let text = "Yes: collections run as usual on bank holidays.";
    let (status, queued) = ann.call(&app, Method::POST, &reply, Some(json!({ "text": text }))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["status"], "queued");
    let (status, body) = ann.call(&app, Method::POST, &reply, Some(json!({ "text": text }))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_request")), "answered once");
    let mails = smtp.wait_for(1);
    let mail = quoted_printable(&mails[0]);
    assert!(mail.contains("To: dafydd@example.org"), "{mail}");
    assert!(mail.contains(text) && mail.contains("> Is my bin collected on the bank holiday?"), "{mail}");
    let done = ann.get(&app, "/api/v1/offline-requests?status=done").await;
    assert_eq!(done[0]["assigned_to"], "ann");
    assert!(done[0]["replied_at"].is_string(), "{done}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replying_without_smtp_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let ann = Api::new(&app, "ann", "operator").await;
    let id = leave_message(&app, &ann, "Hello?").await;
    let (status, body) = ann
        .call(&app, Method::POST, &format!("/api/v1/offline-requests/{id}/reply"), Some(json!({ "text": "Hi" })))
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("no_mail")));
    assert_eq!(ann.get(&app, "/api/v1/offline-requests").await[0]["status"], "open");
    let (status, _) =
        ann.call(&app, Method::POST, "/api/v1/offline-requests/999/assign", Some(json!({ "user": null }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
