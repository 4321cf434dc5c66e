//! Resuming and message order: a chat that closed while the visitor (or the operator) was away
//! is replayed, then `closed`; `last_seq` edge cases; and on every socket the seqs of a
//! conversation arrive in order and without gaps while both sides send at once, so "resume from
//! the highest seq seen" never skips a message.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::chat_support::{PASSWORD, accept, operator, send, start, until, uuid, visitor};
use crate::harness::TestApp;
use crate::websocket::{Client, connect};

/// One more dashboard socket of an existing, signed-in staff member.
async fn staff_socket(app: &TestApp, cookie: &str) -> Client {
    let addr = app.app.staff_addr();
    let mut ws =
        connect(addr, &app.cert_path(), "/ws/staff", &format!("https://{addr}"), Some(cookie)).await.expect("staff");
    until(&mut ws, "mine").await;
    ws
}

fn message(conversation: &str, text: &str) -> Value {
    json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": text })
}

/// Frames up to and including the first of `kind`, by type and seq (`closed` carries one too).
async fn frames_until(ws: &mut Client, kind: &str) -> Vec<(String, Option<i64>)> {
    let (last, before) = until(ws, kind).await;
    before
        .iter()
        .chain(std::iter::once(&last))
        .map(|f| (f["type"].as_str().unwrap_or_default().to_owned(), f["seq"].as_i64()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_a_closed_chat_replays_what_was_missed_then_closed() {
    let app = TestApp::spawn().await;
    let mut staff = operator(&app, "cara").await;
    let mut ws = visitor(&app).await;
    let (conversation, token) = start(&mut ws, "Dai").await;
    accept(&mut staff, &conversation).await;
    until(&mut ws, "accepted").await;
    drop(ws); // the visitor's link drops; the operator answers and ends the chat meanwhile
    for text in ["It is due on the 1st.", "Goodbye!"] {
        send(&mut staff, message(&conversation, text)).await;
        until(&mut staff, "ack").await;
    }
    send(&mut staff, json!({ "v": 1, "type": "close", "conversation": conversation })).await;
    until(&mut staff, "closed").await;

    let mut ws = visitor(&app).await;
    send(&mut ws, json!({ "v": 1, "type": "resume", "conversation": conversation, "token": token, "last_seq": 1 }))
        .await;
    let (resumed, _) = until(&mut ws, "resumed").await;
    assert_eq!(resumed["status"], "closed");
    let (first, _) = until(&mut ws, "message").await;
    let (second, _) = until(&mut ws, "message").await;
    assert_eq!((first["seq"].as_i64(), first["text"].as_str()), (Some(2), Some("It is due on the 1st.")));
    assert_eq!((second["seq"].as_i64(), second["text"].as_str()), (Some(3), Some("Goodbye!")));
    let (closed, between) = until(&mut ws, "closed").await;
    assert!(between.is_empty(), "closed comes straight after the replay: {between:?}");
    assert_eq!((closed["by"].as_str(), closed["seq"].as_i64()), (Some("operator"), Some(3)));
    // Only new messages are refused; nothing is stored for them.
    send(&mut ws, json!({ "v": 1, "type": "message", "id": uuid(), "text": "Thanks" })).await;
    let (error, _) = until(&mut ws, "error").await;
    assert_eq!(error["code"], "conversation_closed");
    // Resuming again from the end gives just the close.
    let mut ws = visitor(&app).await;
    send(&mut ws, json!({ "v": 1, "type": "resume", "conversation": conversation, "token": token, "last_seq": 3 }))
        .await;
    let got = frames_until(&mut ws, "closed").await;
    assert_eq!(got, vec![("resumed".to_owned(), None), ("closed".to_owned(), Some(3))]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_rejoining_a_chat_closed_meanwhile_gets_its_end() {
    let app = TestApp::spawn().await;
    app.add_user("bryn", "operator", PASSWORD).await;
    let (cookie, _) = app.login("bryn", PASSWORD).await;
    let mut staff = staff_socket(&app, &cookie).await;
    let mut ws = visitor(&app).await;
    let (conversation, _) = start(&mut ws, "Eli").await;
    accept(&mut staff, &conversation).await;
    until(&mut ws, "accepted").await;
    drop(staff);
    send(&mut ws, json!({ "v": 1, "type": "message", "id": uuid(), "text": "Are you there?" })).await;
    until(&mut ws, "ack").await;
    send(&mut ws, json!({ "v": 1, "type": "end" })).await;
    until(&mut ws, "closed").await;

    let mut staff = staff_socket(&app, &cookie).await;
    send(&mut staff, json!({ "v": 1, "type": "join", "conversation": conversation, "last_seq": 1 })).await;
    let got = frames_until(&mut staff, "closed").await;
    assert_eq!(
        got,
        vec![("visitor".to_owned(), None), ("message".to_owned(), Some(2)), ("closed".to_owned(), Some(2))]
    );
    // Writing to it is refused; a chat never held is unknown.
    send(&mut staff, message(&conversation, "Sorry, I was away")).await;
    assert_eq!(until(&mut staff, "error").await.0["code"], "conversation_closed");
    send(&mut staff, json!({ "v": 1, "type": "join", "conversation": uuid(), "last_seq": 0 })).await;
    assert_eq!(until(&mut staff, "error").await.0["code"], "unknown_conversation");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_seq_edge_cases() {
    let app = TestApp::spawn().await;
    let mut staff = operator(&app, "gwen").await;
    let mut ws = visitor(&app).await;
    let (conversation, token) = start(&mut ws, "Huw").await;
    accept(&mut staff, &conversation).await;
    send(&mut staff, message(&conversation, "two")).await;
    until(&mut staff, "ack").await;
    let resume = |last_seq: Value| json!({ "v": 1, "type": "resume", "conversation": conversation, "token": token, "last_seq": last_seq });

    // Below 0 counts as 0: everything is replayed.
    let mut again = visitor(&app).await;
    send(&mut again, resume(json!(-5))).await;
    until(&mut again, "resumed").await;
    assert_eq!(until(&mut again, "message").await.0["seq"], 1);
    assert_eq!(until(&mut again, "message").await.0["seq"], 2);
    // Above the conversation's last seq counts as that seq: nothing is replayed, and the next
    // message (seq 3) still arrives live.
    let mut ahead = visitor(&app).await;
    send(&mut ahead, resume(json!(1000))).await;
    until(&mut ahead, "resumed").await;
    send(&mut staff, message(&conversation, "three")).await;
    until(&mut staff, "ack").await;
    assert_eq!(until(&mut ahead, "message").await.0["seq"], 3);
    // Not a whole number: the frame is refused as a whole.
    for bad in [json!(1.5), json!("2"), Value::Null] {
        send(&mut ahead, resume(bad.clone())).await;
        assert_eq!(until(&mut ahead, "error").await.0["code"], "bad_frame", "last_seq {bad}");
    }
    app.stop().await;
}

/// What one socket saw of its conversation: seqs of events and acks, in arrival order.
struct Seen {
    conversation: String,
    seqs: Vec<i64>,
    acks: usize,
    events: usize,
}

/// Reads until `acks` own acks and `events` peer events arrived.
async fn watch(ws: &mut Client, seen: &mut Seen, acks: usize, events: usize) {
    while seen.acks < acks || seen.events < events {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(20), until_seq(ws))
            .await
            .unwrap_or_else(|_| panic!("stalled after {:?}", seen.seqs));
        if frame["conversation"].as_str().is_some_and(|c| c != seen.conversation) {
            continue;
        }
        let seq = frame["seq"].as_i64().expect("seq");
        match frame["type"].as_str() {
            Some("ack") => seen.acks += 1,
            _ => seen.events += 1,
        }
        seen.seqs.push(seq);
    }
}

/// The next `message` or `ack` frame (an error fails the test).
async fn until_seq(ws: &mut Client) -> Value {
    loop {
        let frame = crate::websocket::next_json(ws).await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "message" || frame["type"] == "ack" {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_gets_its_conversations_seqs_in_order_without_gaps() {
    const PAIRS: usize = 20;
    const EACH: usize = 15; // within the burst of 20 frames a connection may send at once
    let app = TestApp::spawn().await;
    app.add_user("pat", "operator", PASSWORD).await;
    let (cookie, _) = app.login("pat", PASSWORD).await;
    let mut pairs = Vec::new();
    for i in 0..PAIRS {
        let mut staff = staff_socket(&app, &cookie).await;
        let mut ws = visitor(&app).await;
        let (conversation, _) = start(&mut ws, &format!("Visitor {i}")).await;
        accept(&mut staff, &conversation).await;
        until(&mut staff, "message").await; // the question, seq 1
        until(&mut ws, "accepted").await;
        pairs.push((conversation, ws, staff));
    }
    // Both sides of every pair send a burst at the same moment.
    let mut tasks = Vec::new();
    for (conversation, ws, staff) in pairs {
        for (mut socket, operator_side) in [(ws, false), (staff, true)] {
            let conversation = conversation.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..EACH {
                    // (A visitor's `message` needs no `conversation`; one is ignored.)
                    send(&mut socket, message(&conversation, &format!("burst {i}"))).await;
                }
                let mut seen = Seen { conversation, seqs: Vec::new(), acks: 0, events: 0 };
                watch(&mut socket, &mut seen, EACH, EACH).await;
                (operator_side, seen.seqs, socket)
            }));
        }
    }
    let mut out_of_order = BTreeMap::new();
    let want: Vec<i64> = (2..=(1 + 2 * EACH as i64)).collect();
    for (n, task) in tasks.into_iter().enumerate() {
        let (operator_side, seqs, _socket) = task.await.expect("side");
        if seqs != want {
            out_of_order.insert((n / 2, if operator_side { "operator" } else { "visitor" }), seqs);
        }
    }
    assert!(out_of_order.is_empty(), "sockets that saw seqs out of order or with gaps: {out_of_order:?}");
    app.stop().await;
}
