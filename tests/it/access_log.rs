//! The access log: every response that shows people's data — the stored-chat and offline-request
//! lists, the mail outbox, the dashboard queue — records which people it showed, and the DPO's
//! reports ("who has seen this person's data", breach scope) name those views. And an auditor
//! sees no personal data in any GET operation of the OpenAPI document.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat_support::{operator, send, until, uuid, visitor};
use crate::gdpr::{Staff, chat, leave_message, spawn};
use crate::harness::TestApp;

pub(crate) fn today() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day())
}

/// The subject id the DPO's search finds for `value`.
async fn subject(app: &TestApp, dpo: &Staff, by: &str, value: &str) -> i64 {
    let (status, found) =
        dpo.call(app, Method::POST, "/api/v1/gdpr/search", Some(json!({ "by": by, "value": value }))).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found["subjects"][0]["subject"].as_i64().unwrap_or_else(|| panic!("nobody found by {by} {value}: {found}"))
}

/// Today's breach scope for one staff account: subject id → reasons.
async fn scope(app: &TestApp, dpo: &Staff, user: &str) -> std::collections::BTreeMap<i64, String> {
    let day = today();
    let path = format!("/api/v1/gdpr/breach-scope?from={day}&to={day}&user={user}");
    let scope = dpo.get(app, &path).await;
    scope["subjects"]
        .as_array()
        .expect("subjects")
        .iter()
        .map(|s| (s["subject"].as_i64().expect("subject"), s["reasons"].to_string()))
        .collect()
}

/// (actor, action) of the access report on one person.
async fn seen_by(app: &TestApp, dpo: &Staff, subject: i64) -> Vec<(String, String)> {
    let report = dpo.get(app, &format!("/api/v1/gdpr/subjects/{subject}/access")).await;
    report
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (e["actor"].as_str().unwrap_or_default().to_owned(), e["action"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

fn has(list: &[(String, String)], actor: &str, action: &str) -> bool {
    list.iter().any(|(a, b)| a == actor && b == action)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_the_outbox_and_the_queue_are_recorded_in_the_access_log() {
    let app = spawn(|_| {}).await;
    // Chats start while an operator is online.
    let _owen = operator(&app, "owen").await;
    let olive = Staff::new(&app, "olive", "operator").await;
    let ada = Staff::new(&app, "ada", "administrator").await;
    let dpo = Staff::new(&app, "dora", "dpo").await;
    // Ffion only leaves an offline message; Gwen chats and has the transcript e-mailed.
    let mut ffion = visitor(&app).await;
    leave_message(&mut ffion, "Ffion Price", "ffion@example.org").await;
    let mut gwen = visitor(&app).await;
    let gwen_chat = chat(&mut gwen, "Gwen Rees", "gwen@example.org", "07700 900456").await;
    let ffion_id = subject(&app, &dpo, "email", "ffion@example.org").await;
    let gwen_id = subject(&app, &dpo, "conversation", &gwen_chat).await;
    assert!(scope(&app, &dpo, "olive").await.is_empty(), "olive has seen nothing yet");
    assert!(scope(&app, &dpo, "ada").await.is_empty(), "ada has seen nothing yet");

    // Olive lists the offline requests and searches the stored chats; ada opens the outbox.
    assert!(olive.get(&app, "/api/v1/offline-requests").await.to_string().contains("Ffion Price"));
    assert!(olive.get(&app, "/api/v1/conversations?q=main").await.to_string().contains("Gwen Rees"));
    assert!(ada.get(&app, "/api/v1/mail-outbox").await.to_string().contains("gwen@example.org"));

    let olive_saw = scope(&app, &dpo, "olive").await;
    let ffion_why =
        olive_saw.get(&ffion_id).unwrap_or_else(|| panic!("Ffion is in olive's breach scope: {olive_saw:?}"));
    assert!(ffion_why.contains("list.offline_requests by olive"), "{ffion_why}");
    let gwen_why = olive_saw.get(&gwen_id).unwrap_or_else(|| panic!("Gwen is in olive's breach scope: {olive_saw:?}"));
    assert!(gwen_why.contains("list.conversations by olive"), "{gwen_why}");
    let ada_saw = scope(&app, &dpo, "ada").await;
    assert!(ada_saw.get(&gwen_id).is_some_and(|r| r.contains("list.mail_outbox by ada")), "{ada_saw:?}");
    assert!(has(&seen_by(&app, &dpo, ffion_id).await, "olive", "list.offline_requests"));
    let gwen_seen = seen_by(&app, &dpo, gwen_id).await;
    assert!(
        has(&gwen_seen, "olive", "list.conversations") && has(&gwen_seen, "ada", "list.mail_outbox"),
        "{gwen_seen:?}"
    );

    // The dashboard queue: quinn connects while Gwen waits (shown on connecting), then Huw
    // starts a chat (shown by the queue change) — each recorded once, before it is shown.
    let mut quinn = operator(&app, "quinn").await;
    let quinn_saw = scope(&app, &dpo, "quinn").await;
    assert!(quinn_saw.get(&gwen_id).is_some_and(|r| r.contains("ws.queue by quinn")), "{quinn_saw:?}");
    let mut huw = visitor(&app).await;
    send(
        &mut huw,
        json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": "Huw Bevan", "question": "Bins?" }),
    )
    .await;
    let huw_chat = until(&mut huw, "started").await.0["conversation"].as_str().expect("id").to_owned();
    loop {
        let (queue, _) = until(&mut quinn, "queue").await;
        if queue["waiting"].as_array().is_some_and(|w| w.iter().any(|c| c["conversation"] == huw_chat.as_str())) {
            break;
        }
    }
    let huw_id = subject(&app, &dpo, "conversation", &huw_chat).await;
    let queue_views = seen_by(&app, &dpo, huw_id).await;
    assert!(has(&queue_views, "quinn", "ws.queue"), "{queue_views:?}");
    // Another queue change shows Gwen again to quinn: not recorded twice.
    let mut ivy = visitor(&app).await;
    send(
        &mut ivy,
        json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": "Ivy Hall", "question": "Parking?" }),
    )
    .await;
    let ivy_chat = until(&mut ivy, "started").await.0["conversation"].as_str().expect("id").to_owned();
    loop {
        let (queue, _) = until(&mut quinn, "queue").await;
        if queue["waiting"].as_array().is_some_and(|w| w.iter().any(|c| c["conversation"] == ivy_chat.as_str())) {
            break;
        }
    }
    let gwen_seen = seen_by(&app, &dpo, gwen_id).await;
    let queue_views = gwen_seen.iter().filter(|(actor, action)| actor == "quinn" && action == "ws.queue").count();
    assert_eq!(queue_views, 1, "a chat still waiting is recorded once per viewer: {gwen_seen:?}");
    app.stop().await;
}

const NAME: &str = "Zebedee Quillfeather";
const EMAIL: &str = "zq.marker@example.org";
const PHONE: &str = "07700 900777";
const QUESTION: &str = "marker-question-51c2";
const TEXT: &str = "marker-text-51c2";
const NOTE: &str = "marker-note-51c2";
const OFFLINE_NAME: &str = "Yolanda Marchbanks";
const OFFLINE_EMAIL: &str = "ym.marker@example.org";
const OFFLINE_TEXT: &str = "marker-offline-51c2";
const MARKERS: [&str; 10] =
    [NAME, EMAIL, PHONE, "900777", QUESTION, TEXT, NOTE, OFFLINE_NAME, OFFLINE_EMAIL, OFFLINE_TEXT];

/// Every GET of the OpenAPI document with its path (and required query) filled from the seed.
fn get_paths(conversation: &str, subject: i64) -> Vec<String> {
    let doc: Value = serde_json::from_str(parley::http::api::OPENAPI).expect("OpenAPI document is JSON");
    let day = today();
    let mut paths = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let Some(op) = item.get("get") else { continue };
        let mut concrete = path
            .replace("{conversation}", conversation)
            .replace("{subject}", &subject.to_string())
            .replace("{file}", "parley-20261201T000000Z.age");
        assert!(!concrete.contains('{'), "fill the path parameters of {path}");
        let query: Vec<String> = op["parameters"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter(|p| p["in"] == "query" && p["required"] == true)
                    .map(|p| match p["name"].as_str().unwrap_or_default() {
                        "from" | "to" => format!("{}={day}", p["name"].as_str().unwrap_or_default()),
                        "format" => "format=json".to_owned(),
                        other => panic!("fill the query parameter {other} of {path}"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !query.is_empty() {
            concrete = format!("{concrete}?{}", query.join("&"));
        }
        paths.push(concrete);
    }
    assert!(paths.len() >= 20, "{paths:?}");
    paths
}

/// Status and raw body (JSON, CSV or a download) of a GET.
async fn raw_get(app: &TestApp, staff: &Staff, path: &str) -> (StatusCode, String) {
    let response = app.client.get(app.staff(path)).header("cookie", &staff.cookie).send().await.expect("request");
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_sees_no_personal_data_in_any_get_operation() {
    let app = spawn(|_| {}).await;
    // A visitor chats with e-mail and phone in the pre-chat form, writes a message and has the
    // transcript e-mailed (a recipient in the outbox); the operator writes an internal note.
    let mut olive = operator(&app, "olive").await;
    let mut ws = visitor(&app).await;
    let start = json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": NAME, "question": QUESTION,
                        "answers": { "email": EMAIL, "phone": PHONE } });
    send(&mut ws, start).await;
    let (started, _) = until(&mut ws, "started").await;
    let conversation = started["conversation"].as_str().expect("id").to_owned();
    let token = started["token"].as_str().expect("token").to_owned();
    crate::chat_support::accept(&mut olive, &conversation).await;
    send(
        &mut ws,
        json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "token": token, "text": TEXT }),
    )
    .await;
    until(&mut ws, "ack").await;
    send(&mut olive, json!({ "v": 1, "type": "note", "id": uuid(), "conversation": conversation, "text": NOTE })).await;
    until(&mut olive, "ack").await;
    send(&mut ws, json!({ "v": 1, "type": "email_transcript", "id": uuid(), "conversation": conversation, "token": token, "email": EMAIL }))
        .await;
    until(&mut ws, "ack").await;
    // Someone else only leaves an offline message.
    let mut other = visitor(&app).await;
    let leave = json!({ "v": 1, "type": "leave_message", "id": uuid(), "site": "main", "name": OFFLINE_NAME,
                        "email": OFFLINE_EMAIL, "text": OFFLINE_TEXT });
    send(&mut other, leave).await;
    until(&mut other, "ack").await;

    let dpo = Staff::new(&app, "dora", "dpo").await;
    let subject = subject(&app, &dpo, "conversation", &conversation).await;
    let admin = Staff::new(&app, "ada", "administrator").await;
    let auditor = Staff::new(&app, "audrey", "auditor").await;
    let paths = get_paths(&conversation, subject);

    // Control: the markers are stored and shown to those who may see them, so the walk below
    // would find them if the auditor were shown them.
    let mut shown_to_others = String::new();
    for staff in [&admin, &dpo] {
        for path in &paths {
            shown_to_others.push_str(&raw_get(&app, staff, path).await.1);
        }
    }
    for marker in MARKERS.iter().filter(|m| **m != PHONE) {
        assert!(shown_to_others.contains(marker), "{marker} is shown to an administrator or the DPO somewhere");
    }

    let mut answered = Vec::new();
    for path in &paths {
        let (status, body) = raw_get(&app, &auditor, path).await;
        for marker in MARKERS {
            assert!(!body.contains(marker), "GET {path} shows the auditor {marker}: {body}");
        }
        if status == StatusCode::OK {
            answered.push(path.split('?').next().unwrap_or_default().to_owned());
        } else {
            let error: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("GET {path}: JSON error {body}"));
            assert!(error["code"].is_string(), "GET {path}: {status} {body}");
        }
    }
    for needed in ["/api/v1/audit", "/api/v1/mail-outbox", "/api/v1/gdpr/breach-scope", "/api/v1/keys"] {
        assert!(answered.iter().any(|p| p == needed), "the auditor still reads {needed}: {answered:?}");
    }
    // The outbox tells the auditor how delivery goes, without the address.
    let outbox = auditor.get(&app, "/api/v1/mail-outbox").await;
    assert_eq!(outbox[0]["to"], "(hidden)", "{outbox}");
    assert!(outbox[0]["status"].is_string());
    app.stop().await;
}
