//! Issue #14 point 3: a transcript is e-mailed only while the chat is open or within the window
//! after it ended, at most so many times per conversation, and every request is audited with
//! the conversation as target and never the address.

use serde_json::{Value, json};

use crate::chat_support::{accept, operator, send, start, until, uuid, visitor};
use crate::harness::TestApp;
use crate::websocket::{Client, next_json};

const ADDRESS: &str = "nia.pryce@example.org";

async fn request(ws: &mut Client, conversation: &str, token: &str, id: &str) -> Value {
    send(ws, json!({ "v": 1, "type": "email_transcript", "id": id, "conversation": conversation, "token": token, "email": ADDRESS })).await;
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), next_json(ws)).await.expect("an answer");
        if frame["type"] == "ack" || frame["type"] == "error" {
            return frame;
        }
    }
}

fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcript_mail_is_limited_per_conversation_and_in_time_and_audited_without_the_address() {
    // Mail stays queued (nothing listens): what matters is what is queued and refused.
    let app = TestApp::spawn_with(|c| {
        crate::mail::with_smtp(unused_port())(c);
        c.chat.transcript_emails_per_conversation = 2;
    })
    .await;
    let mut staff = operator(&app, "mo").await;
    let mut ws = visitor(&app).await;
    let (conversation, token) = start(&mut ws, "Nia").await;
    accept(&mut staff, &conversation).await;

    let first = uuid();
    assert_eq!(request(&mut ws, &conversation, &token, &first).await["type"], "ack");
    assert_eq!(request(&mut ws, &conversation, &token, &first).await["type"], "ack", "a resend counts once");
    assert_eq!(request(&mut ws, &conversation, &token, &uuid()).await["type"], "ack");
    let refused = request(&mut ws, &conversation, &token, &uuid()).await;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("transcript_limit")),
        "{refused}"
    );
    assert!(refused["message"].as_str().is_some_and(|m| m.contains("2 times")), "{refused}");

    // Ended long ago: refused; ended just now: still allowed.
    let (old, old_token) = start(&mut visitor(&app).await, "Nia").await;
    accept(&mut staff, &old).await;
    let (recent, recent_token) = start(&mut visitor(&app).await, "Huw").await;
    accept(&mut staff, &recent).await;
    for id in [&old, &recent] {
        send(&mut staff, json!({ "v": 1, "type": "close", "conversation": id })).await;
        until(&mut staff, "closed").await;
    }
    let store = &app.app.state().store;
    let day_ago = parley::util::now() - 25 * 3600;
    app.execute(
        "UPDATE conversations SET closed_at = ?1 WHERE public_id = ?2",
        vec![day_ago.into(), old.as_str().into()],
    )
    .await;
    let late = request(&mut ws, &old, &old_token, &uuid()).await;
    assert_eq!(late["code"], "transcript_window_closed", "{late}");
    assert!(late["message"].as_str().is_some_and(|m| m.contains("24 hours")), "{late}");
    assert_eq!(request(&mut ws, &recent, &recent_token, &uuid()).await["type"], "ack");

    // Three queued (two of the first chat, one of the recent), two refused; all audited.
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'transcript'")
        .fetch_one(store.reader())
        .await
        .expect("count");
    assert_eq!(queued, 3);
    let entries = store.audit_entries(200).await.expect("audit");
    let of = |action: &str, target: &str| {
        entries.iter().filter(|e| e.action == action && e.target.as_deref() == Some(target)).count()
    };
    let target = |c: &str| format!("conversation {c}");
    assert_eq!(of("chat.transcript_email", &target(&conversation)), 2);
    assert_eq!(of("chat.transcript_email.refused", &target(&conversation)), 1);
    assert_eq!(of("chat.transcript_email.refused", &target(&old)), 1);
    assert_eq!(of("chat.transcript_email", &target(&recent)), 1);
    let all = format!("{entries:?}");
    assert!(!all.contains(ADDRESS) && !all.contains("nia.pryce"), "no address in the audit log: {all}");
    app.stop().await;
}
