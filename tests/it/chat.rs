//! Live chat over the real websockets: the whole conversation, idempotent resends, resume after
//! a dropped socket and after a server restart, limits and floods.

use std::collections::BTreeSet;

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::chat_support::{PASSWORD, accept, operator, send, start, until, uuid, visitor};
use crate::harness::TestApp;
use crate::websocket::Client;

/// Every stored message (decrypted) as (seq, text), by conversation and seq.
async fn stored_messages(app: &TestApp) -> Vec<(i64, String)> {
    let store = &app.app.state().store;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM conversations ORDER BY id").fetch_all(store.reader()).await.expect("ids");
    let mut out = Vec::new();
    for id in ids {
        let messages = store.messages_after(id, 0, i64::MAX).await.expect("messages");
        out.extend(messages.into_iter().map(|m| (m.seq, m.body)));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_conversation_between_visitor_and_operator() {
    let app = TestApp::spawn().await;
    let mut staff = operator(&app, "ola").await;
    let mut visitor = visitor(&app).await;
    let (conversation, _) = start(&mut visitor, "Ann").await;
    let (position, _) = until(&mut visitor, "queue").await;
    assert_eq!(position["position"], 1);

    let (queue, _) = until(&mut staff, "queue").await;
    assert_eq!(queue["waiting"][0]["conversation"], conversation.as_str());
    assert_eq!(queue["waiting"][0]["name"], "Ann");

    let accepted = accept(&mut staff, &conversation).await;
    assert_eq!(accepted["name"], "Ann");
    let (question, _) = until(&mut staff, "message").await;
    assert_eq!(
        (question["seq"].as_i64(), question["text"].as_str()),
        (Some(1), Some("Where do I pay my council tax?"))
    );
    let (told, _) = until(&mut visitor, "accepted").await;
    assert_eq!(told["operator"], "ola");

    send(&mut staff, json!({ "v": 1, "type": "typing", "conversation": conversation, "active": true })).await;
    let (typing, _) = until(&mut visitor, "typing").await;
    assert_eq!((typing["who"].as_str(), typing["active"].as_bool()), (Some("operator"), Some(true)));

    let reply_id = uuid();
    send(
        &mut staff,
        json!({ "v": 1, "type": "message", "id": reply_id, "conversation": conversation, "text": "Online, at /pay." }),
    )
    .await;
    let (ack, _) = until(&mut staff, "ack").await;
    assert_eq!((ack["id"].as_str(), ack["seq"].as_i64()), (Some(reply_id.as_str()), Some(2)));
    let (reply, _) = until(&mut visitor, "message").await;
    assert_eq!(
        (reply["author"].as_str(), reply["text"].as_str(), reply["seq"].as_i64()),
        (Some("operator"), Some("Online, at /pay."), Some(2))
    );

    send(&mut visitor, json!({ "v": 1, "type": "message", "id": uuid(), "text": "<img src=x onerror=alert(1)>" }))
        .await;
    let (ack, _) = until(&mut visitor, "ack").await;
    assert_eq!(ack["seq"], 3);
    let (echo, _) = until(&mut staff, "message").await;
    assert_eq!(echo["text"], "<img src=x onerror=alert(1)>", "text travels as data, unchanged");

    send(&mut staff, json!({ "v": 1, "type": "close", "conversation": conversation })).await;
    let (closed, _) = until(&mut visitor, "closed").await;
    assert_eq!(closed["by"], "operator");
    until(&mut staff, "closed").await;
    send(&mut visitor, json!({ "v": 1, "type": "message", "id": uuid(), "text": "still there?" })).await;
    let (error, _) = until(&mut visitor, "error").await;
    assert_eq!(error["code"], "conversation_closed");
    assert_eq!(stored_messages(&app).await.len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn resending_the_same_id_stores_once() {
    let app = TestApp::spawn().await;
    let _staff = operator(&app, "rita").await;
    let mut ws = visitor(&app).await;
    let start_id = uuid();
    let frame = json!({ "v": 1, "type": "start", "id": start_id, "site": "main", "name": "Bea", "question": "Hello?" });
    send(&mut ws, frame.clone()).await;
    let (first, _) = until(&mut ws, "started").await;
    send(&mut ws, frame).await;
    let (second, _) = until(&mut ws, "started").await;
    assert_eq!(first["conversation"], second["conversation"], "a resent start is the same conversation");
    assert_eq!(first["token"], second["token"]);
    let id = uuid();
    for _ in 0..3 {
        send(&mut ws, json!({ "v": 1, "type": "message", "id": id, "text": "only once please" })).await;
        let (ack, _) = until(&mut ws, "ack").await;
        assert_eq!(ack["seq"], 2, "every resend is acknowledged with the stored seq");
    }
    let stored = stored_messages(&app).await;
    assert_eq!(stored, vec![(1, "Hello?".to_owned()), (2, "only once please".to_owned())]);
    let conversations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM conversations")
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("count");
    assert_eq!(conversations, 1);
    app.stop().await;
}

/// Collects message seqs from frames until `want` distinct ones arrived; fails on a duplicate.
async fn collect_messages(ws: &mut Client, seen: &mut BTreeSet<i64>, want: usize) {
    while seen.len() < want {
        let (frame, _) = until(ws, "message").await;
        let seq = frame["seq"].as_i64().expect("seq");
        assert!(seen.insert(seq), "message {seq} delivered twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_socket_resumes_without_gap_or_duplicate() {
    let app = TestApp::spawn().await;
    let mut staff = operator(&app, "sam").await;
    let mut ws = visitor(&app).await;
    let (conversation, token) = start(&mut ws, "Cy").await;
    accept(&mut staff, &conversation).await;
    until(&mut ws, "accepted").await;

    let mut seen = BTreeSet::from([1]);
    for i in 0..5 {
        send(&mut staff, json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": format!("before {i}") })).await;
    }
    collect_messages(&mut ws, &mut seen, 3).await; // seqs 2 and 3 arrive, then the socket drops
    drop(ws);
    for i in 0..5 {
        send(&mut staff, json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": format!("while away {i}") })).await;
        until(&mut staff, "ack").await;
    }
    let last_seq = *seen.last().expect("seen");
    let mut ws = visitor(&app).await;
    send(
        &mut ws,
        json!({ "v": 1, "type": "resume", "conversation": conversation, "token": token, "last_seq": last_seq }),
    )
    .await;
    let (resumed, _) = until(&mut ws, "resumed").await;
    assert_eq!((resumed["status"].as_str(), resumed["operator"].as_str()), (Some("active"), Some("sam")));
    collect_messages(&mut ws, &mut seen, 11).await;
    assert_eq!(seen, (1..=11).collect::<BTreeSet<i64>>(), "no gap");
    // And the connection is live again.
    send(
        &mut staff,
        json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": "welcome back" }),
    )
    .await;
    collect_messages(&mut ws, &mut seen, 12).await;

    // A wrong token resumes nothing.
    let mut intruder = visitor(&app).await;
    send(
        &mut intruder,
        json!({ "v": 1, "type": "resume", "conversation": conversation, "token": "guess", "last_seq": 0 }),
    )
    .await;
    let (error, skipped) = until(&mut intruder, "error").await;
    assert_eq!(error["code"], "unknown_conversation");
    assert!(skipped.iter().all(|f| f["type"] != "message"), "nothing leaked: {skipped:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_server_restart() {
    let app = TestApp::spawn().await;
    let staff = operator(&app, "tom").await;
    let mut ws = visitor(&app).await;
    let (conversation, token) = start(&mut ws, "Dee").await;
    for i in 0..3 {
        send(&mut ws, json!({ "v": 1, "type": "message", "id": uuid(), "text": format!("message {i}") })).await;
        until(&mut ws, "ack").await;
    }
    drop(ws);
    drop(staff);
    let dir = app.stop().await;
    let config = crate::harness::test_config(dir.path());
    let again = parley::Application::build(config).await.expect("restart");
    let restarted =
        TestApp { app: again, client: crate::harness::client_trusting(&dir.path().join("tls/cert.pem")), dir };
    let mut ws = visitor(&restarted).await;
    send(&mut ws, json!({ "v": 1, "type": "resume", "conversation": conversation, "token": token, "last_seq": 0 }))
        .await;
    until(&mut ws, "resumed").await;
    let mut seen = BTreeSet::new();
    collect_messages(&mut ws, &mut seen, 4).await;
    assert_eq!(seen, (1..=4).collect::<BTreeSet<i64>>());
    send(&mut ws, json!({ "v": 1, "type": "message", "id": uuid(), "text": "after restart" })).await;
    let (ack, _) = until(&mut ws, "ack").await;
    assert_eq!(ack["seq"], 5, "numbering continues");
    restarted.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_operators_race_for_one_chat() {
    let app = TestApp::spawn().await;
    let mut first = operator(&app, "una").await;
    let mut second = operator(&app, "vic").await;
    let mut ws = visitor(&app).await;
    let (conversation, _) = start(&mut ws, "Eve").await;
    accept(&mut first, &conversation).await;
    send(&mut second, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": conversation })).await;
    let (error, _) = until(&mut second, "error").await;
    assert_eq!(error["code"], "already_taken");
    // The loser cannot write into it either.
    send(&mut second, json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": "hi" }))
        .await;
    let (error, _) = until(&mut second, "error").await;
    assert_eq!(error["code"], "unknown_conversation");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_floods_get_errors_and_spare_other_chats() {
    let app = TestApp::spawn().await;
    let _staff = operator(&app, "wes").await;
    let mut calm = visitor(&app).await;
    start(&mut calm, "Calm").await;
    let mut ws = visitor(&app).await;
    send(&mut ws, json!({ "v": 1, "type": "message", "id": uuid(), "text": "before start" })).await;
    assert_eq!(until(&mut ws, "error").await.0["code"], "no_conversation");
    start(&mut ws, "Flo").await;
    let cases = [
        (
            json!({ "v": 1, "type": "start", "id": uuid(), "site": "elsewhere", "name": "n", "question": "q" }),
            "unknown_site",
        ),
        (json!({ "v": 1, "type": "message", "id": uuid(), "text": "x".repeat(4001) }), "too_long"),
        (json!({ "v": 1, "type": "message", "id": uuid(), "text": "   " }), "empty"),
        (json!({ "v": 1, "type": "message", "id": "not-a-uuid", "text": "hi" }), "bad_id"),
        (
            json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": "n".repeat(101), "question": "q" }),
            "too_long",
        ),
        (json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": uuid() }), "not_allowed"),
    ];
    for (frame, code) in cases {
        send(&mut ws, frame.clone()).await;
        let (error, _) = until(&mut ws, "error").await;
        assert_eq!(error["code"], code, "{frame}");
    }
    let before = stored_messages(&app).await;
    // A flood: rate-limit errors first, then the connection is closed with 1008.
    let mut limited = false;
    for _ in 0..200 {
        if ws.send(Message::text(json!({ "v": 1, "type": "typing", "active": true }).to_string())).await.is_err() {
            break;
        }
    }
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), futures_util::StreamExt::next(&mut ws))
            .await
            .expect("frame")
        {
            Some(Ok(Message::Text(text))) => limited |= text.contains("rate_limited"),
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(frame.map(|f| f.code), Some(CloseCode::Policy));
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    assert!(limited, "rate_limited errors came before the close");
    assert_eq!(stored_messages(&app).await, before, "nothing stored was changed");
    // The calm visitor's chat still works.
    send(&mut calm, json!({ "v": 1, "type": "message", "id": uuid(), "text": "all fine here" })).await;
    assert_eq!(until(&mut calm, "ack").await.0["seq"], 2);
    app.stop().await;
}

async fn api_get(app: &TestApp, cookie: &str, path: &str) -> Value {
    let response = app.client.get(app.staff(path)).header("cookie", cookie).send().await.expect("get");
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_available_visitors_leave_a_message() {
    let app = TestApp::spawn().await;
    let mut ws = visitor(&app).await;
    send(
        &mut ws,
        json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": "Gil", "question": "Anyone?" }),
    )
    .await;
    assert_eq!(until(&mut ws, "error").await.0["code"], "offline");

    // An operator who is connected but away does not count either.
    let mut staff = operator(&app, "xan").await;
    send(&mut staff, json!({ "v": 1, "type": "status", "status": "away" })).await;
    until(&mut staff, "status").await;
    send(
        &mut ws,
        json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": "Gil", "question": "Anyone?" }),
    )
    .await;
    assert_eq!(until(&mut ws, "error").await.0["code"], "offline");

    let id = uuid();
    let leave = json!({ "v": 1, "type": "leave_message", "id": id, "site": "main", "name": "Gil", "email": "gil@example.org", "text": "Please call me back about my bin collection." });
    send(&mut ws, leave.clone()).await;
    assert_eq!(until(&mut ws, "ack").await.0["id"], id.as_str());
    send(&mut ws, leave).await;
    until(&mut ws, "ack").await;
    let bad = json!({ "v": 1, "type": "leave_message", "id": uuid(), "site": "main", "name": "Gil", "email": "not-an-email", "text": "x" });
    send(&mut ws, bad).await;
    assert_eq!(until(&mut ws, "error").await.0["code"], "invalid");

    let (cookie, csrf) = app.login("xan", PASSWORD).await;
    let open = api_get(&app, &cookie, "/api/v1/offline-requests").await;
    let open = open.as_array().expect("list");
    assert_eq!(open.len(), 1, "stored once: {open:?}");
    assert_eq!(open[0]["email"], "gil@example.org");
    assert_eq!(open[0]["text"], "Please call me back about my bin collection.");
    let request_id = open[0]["id"].as_i64().expect("id");
    let done = app
        .client
        .post(app.staff(&format!("/api/v1/offline-requests/{request_id}/done")))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("done");
    assert_eq!(done.status(), 204);
    assert_eq!(api_get(&app, &cookie, "/api/v1/offline-requests").await, json!([]));
    assert_eq!(api_get(&app, &cookie, "/api/v1/offline-requests?status=done").await.as_array().map(Vec::len), Some(1));
    let again = app
        .client
        .post(app.staff(&format!("/api/v1/offline-requests/{request_id}/done")))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("done");
    assert_eq!(crate::harness::error_code(again, reqwest::StatusCode::NOT_FOUND).await, "unknown_request");

    // Back online: chats can start again.
    send(&mut staff, json!({ "v": 1, "type": "status", "status": "online" })).await;
    until(&mut staff, "status").await;
    start(&mut ws, "Gil").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_chats_have_transcripts_and_ratings() {
    let app = TestApp::spawn().await;
    let mut staff = operator(&app, "yas").await;
    let mut ws = visitor(&app).await;
    let (conversation, token) = start(&mut ws, "Hal").await;
    accept(&mut staff, &conversation).await;
    send(
        &mut staff,
        json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": "Sorted." }),
    )
    .await;
    until(&mut staff, "ack").await;
    send(&mut ws, json!({ "v": 1, "type": "end" })).await;
    until(&mut ws, "closed").await;
    send(&mut ws, json!({ "v": 1, "type": "rate", "conversation": conversation, "token": token, "rating": 6 })).await;
    assert_eq!(until(&mut ws, "error").await.0["code"], "invalid");
    send(&mut ws, json!({ "v": 1, "type": "rate", "conversation": conversation, "token": "wrong", "rating": 1 })).await;
    assert_eq!(until(&mut ws, "error").await.0["code"], "unknown_conversation");
    send(&mut ws, json!({ "v": 1, "type": "rate", "conversation": conversation, "token": token, "rating": 5, "comment": "Quick!" })).await;
    until(&mut ws, "rated").await;

    let (cookie, _) = app.login("yas", PASSWORD).await;
    let list = api_get(&app, &cookie, "/api/v1/conversations?status=closed").await;
    assert_eq!(list[0]["conversation"], conversation.as_str());
    assert_eq!((list[0]["rating"].as_i64(), list[0]["messages"].as_i64()), (Some(5), Some(2)));
    assert_eq!(list[0]["operator"], "yas");
    let today = time::OffsetDateTime::now_utc().date();
    let tomorrow = today.next_day().expect("date");
    for (query, expected) in [
        (format!("from={today}&to={today}"), 1),
        (format!("from={tomorrow}"), 0),
        ("operator=yas&rating=5".to_owned(), 1),
        ("operator=someone-else".to_owned(), 0),
        ("rating=4".to_owned(), 0),
        ("site=main".to_owned(), 1),
        ("site=other".to_owned(), 0),
    ] {
        let found = api_get(&app, &cookie, &format!("/api/v1/conversations?{query}")).await;
        assert_eq!(found.as_array().map(Vec::len), Some(expected), "{query}: {found}");
    }
    for bad in ["from=yesterday", "rating=9", "colour=red"] {
        let response = app
            .client
            .get(app.staff(&format!("/api/v1/conversations?{bad}")))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("get");
        assert_eq!(crate::harness::error_code(response, reqwest::StatusCode::BAD_REQUEST).await, "bad_query", "{bad}");
    }
    let transcript = api_get(&app, &cookie, &format!("/api/v1/conversations/{conversation}/messages")).await;
    let texts: Vec<&str> = transcript.as_array().expect("lines").iter().filter_map(|l| l["text"].as_str()).collect();
    assert_eq!(texts, ["Where do I pay my council tax?", "Sorted."]);
    let missing = app
        .client
        .get(app.staff(&format!("/api/v1/conversations/{}/messages", uuid())))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(crate::harness::error_code(missing, reqwest::StatusCode::NOT_FOUND).await, "unknown_conversation");
    let bad = app
        .client
        .get(app.staff("/api/v1/conversations?status=lost"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(crate::harness::error_code(bad, reqwest::StatusCode::BAD_REQUEST).await, "bad_query");
    app.stop().await;
}

/// Queue positions go only to visitors whose place changed: chats starting behind a visitor, or
/// taken from behind them, send them nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_positions_go_only_to_visitors_whose_place_changed() {
    let app = TestApp::spawn().await;
    let mut staff = operator(&app, "ola").await;
    let mut waiting = Vec::new();
    for name in ["Ann", "Bea", "Cai", "Dee"] {
        let mut ws = visitor(&app).await;
        let (conversation, _) = start(&mut ws, name).await;
        waiting.push((ws, conversation));
    }
    while until(&mut waiting[3].0, "queue").await.0["position"] != 4 {}
    accept(&mut staff, &waiting[1].1).await; // Bea, behind Ann
    while until(&mut waiting[3].0, "queue").await.0["position"] != 3 {}
    accept(&mut staff, &waiting[0].1).await; // Ann
    let (_, told) = until(&mut waiting[0].0, "accepted").await;
    let positions: Vec<&Value> = told.iter().filter(|f| f["type"] == "queue").map(|f| &f["position"]).collect();
    // Her place was 1 throughout: at most the answer to her start and the first queue change.
    assert!(!positions.is_empty() && positions.len() <= 2 && positions.iter().all(|p| **p == 1), "{told:?}");
    // Cai moved from 3 to 2 to 1; Dee from 4 to 3 to 2.
    while until(&mut waiting[2].0, "queue").await.0["position"] != 1 {}
    while until(&mut waiting[3].0, "queue").await.0["position"] != 2 {}
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_of_a_vanished_operator_return_to_the_queue() {
    let app = TestApp::spawn_with(|c| c.chat.operator_grace_seconds = 1).await;
    let mut first = operator(&app, "zed").await;
    let mut second = operator(&app, "amy").await;
    let mut ws = visitor(&app).await;
    let (conversation, _) = start(&mut ws, "Ian").await;
    accept(&mut first, &conversation).await;
    until(&mut ws, "accepted").await;
    // The queue empties once the chat is taken (earlier queue frames may still be in flight).
    while until(&mut second, "queue").await.0["waiting"] != json!([]) {}
    drop(first);
    let (requeued, _) = until(&mut ws, "requeued").await;
    assert_eq!(requeued["conversation"], conversation.as_str());
    let (position, _) = until(&mut ws, "queue").await;
    assert_eq!(position["position"], 1);
    let (queue, _) = until(&mut second, "queue").await;
    assert_eq!(queue["waiting"][0]["conversation"], conversation.as_str());
    let accepted = accept(&mut second, &conversation).await;
    assert_eq!(accepted["operator"], "amy");
    let (history, _) = until(&mut second, "message").await;
    assert_eq!(history["seq"], 1, "the new operator sees the history");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_stay_internal_and_transfers_hand_over_the_chat() {
    let app = TestApp::spawn().await;
    let mut first = operator(&app, "bea").await;
    let mut second = operator(&app, "cal").await;
    let mut ws = visitor(&app).await;
    let (conversation, _) = start(&mut ws, "Dot").await;
    accept(&mut first, &conversation).await;
    until(&mut ws, "accepted").await;

    let note_id = uuid();
    send(&mut first, json!({ "v": 1, "type": "note", "id": note_id, "conversation": conversation, "text": "Caller sounds distressed" })).await;
    assert_eq!(until(&mut first, "ack").await.0["id"], note_id.as_str());

    // Transfer to someone who is not signed in fails clearly; to cal it works.
    send(&mut first, json!({ "v": 1, "type": "transfer", "id": uuid(), "conversation": conversation, "to": "nobody" }))
        .await;
    assert_eq!(until(&mut first, "error").await.0["code"], "invalid");
    send(&mut first, json!({ "v": 1, "type": "transfer", "id": uuid(), "conversation": conversation, "to": "cal", "note": "council tax team" })).await;
    until(&mut first, "transferred").await;
    let (assigned, _) = until(&mut second, "assigned").await;
    assert_eq!(
        (assigned["conversation"].as_str(), assigned["from"].as_str()),
        (Some(conversation.as_str()), Some("bea"))
    );
    let (told, skipped) = until(&mut ws, "accepted").await;
    assert_eq!(told["operator"], "cal", "the visitor sees the new operator");

    send(&mut second, json!({ "v": 1, "type": "join", "conversation": conversation, "last_seq": 0 })).await;
    let (note, _) = until(&mut second, "note").await;
    assert_eq!(note["text"], "Caller sounds distressed");
    let (note, _) = until(&mut second, "note").await;
    assert_eq!(note["text"], "Transferred from bea to cal: council tax team");
    send(
        &mut second,
        json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": "Hello, I can help." }),
    )
    .await;
    until(&mut second, "ack").await;
    let (message, more) = until(&mut ws, "message").await;
    assert_eq!(message["name"], "cal");
    for frame in skipped.iter().chain(more.iter()) {
        assert_ne!(frame["type"], "note", "the visitor never gets notes: {frame}");
    }
    // The previous operator no longer works on it.
    send(
        &mut first,
        json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": "still me?" }),
    )
    .await;
    assert_eq!(until(&mut first, "error").await.0["code"], "unknown_conversation");

    let (cookie, _) = app.login("cal", PASSWORD).await;
    let notes = app
        .client
        .get(app.staff(&format!("/api/v1/conversations/{conversation}/notes")))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("notes");
    let notes: Value = notes.json().await.expect("json");
    assert_eq!(notes.as_array().map(Vec::len), Some(2));
    let transcript = app
        .client
        .get(app.staff(&format!("/api/v1/conversations/{conversation}/messages")))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("transcript");
    let transcript = transcript.text().await.expect("text");
    assert!(!transcript.contains("distressed"), "notes are not part of the visitor's transcript");
    app.stop().await;
}

#[tokio::test]
async fn canned_responses_personal_and_shared() {
    let app = TestApp::spawn().await;
    app.add_user("sup", "supervisor", PASSWORD).await;
    app.add_user("opa", "operator", PASSWORD).await;
    app.add_user("opb", "operator", PASSWORD).await;
    let (sup, sup_csrf) = app.login("sup", PASSWORD).await;
    let (opa, opa_csrf) = app.login("opa", PASSWORD).await;
    let (opb, opb_csrf) = app.login("opb", PASSWORD).await;
    let post = |cookie: &str, csrf: &str, body: Value| {
        app.client
            .post(app.staff("/api/v1/canned-responses"))
            .header("cookie", cookie)
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
    };
    let shared = post(&sup, &sup_csrf, json!({ "shortcut": "/hours", "text": "We are open 9 to 5.", "shared": true }))
        .await
        .expect("post");
    assert_eq!(shared.status(), 201);
    let mine =
        post(&opa, &opa_csrf, json!({ "shortcut": "thanks", "text": "Thank you for waiting." })).await.expect("post");
    assert_eq!(mine.status(), 201);
    let mine: Value = mine.json().await.expect("json");
    let refused = post(&opa, &opa_csrf, json!({ "shortcut": "x", "text": "y", "shared": true })).await.expect("post");
    assert_eq!(crate::harness::error_code(refused, reqwest::StatusCode::FORBIDDEN).await, "forbidden");
    let duplicate = post(&opa, &opa_csrf, json!({ "shortcut": "Thanks", "text": "again" })).await.expect("post");
    assert_eq!(crate::harness::error_code(duplicate, reqwest::StatusCode::CONFLICT).await, "conflict");
    let bad = post(&opa, &opa_csrf, json!({ "shortcut": "two words", "text": "y" })).await.expect("post");
    assert_eq!(crate::harness::error_code(bad, reqwest::StatusCode::BAD_REQUEST).await, "invalid");

    let list = |cookie: String| {
        let client = app.client.clone();
        let url = app.staff("/api/v1/canned-responses");
        async move {
            let body: Value =
                client.get(url).header("cookie", cookie).send().await.expect("get").json().await.expect("json");
            body.as_array()
                .expect("list")
                .iter()
                .filter_map(|c| c["shortcut"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(opa.clone()).await, ["hours", "thanks"]);
    assert_eq!(list(opb.clone()).await, ["hours"], "personal responses are private");
    let id = mine["id"].as_i64().expect("id");
    let foreign = app
        .client
        .delete(app.staff(&format!("/api/v1/canned-responses/{id}")))
        .header("cookie", &opb)
        .header("x-csrf-token", &opb_csrf)
        .send()
        .await
        .expect("delete");
    assert_ne!(foreign.status(), 204, "someone else's response cannot be deleted");
    let own = app
        .client
        .delete(app.staff(&format!("/api/v1/canned-responses/{id}")))
        .header("cookie", &opa)
        .header("x-csrf-token", &opa_csrf)
        .send()
        .await
        .expect("delete");
    assert_eq!(own.status(), 204);
    assert_eq!(list(opa).await, ["hours"]);
    app.stop().await;
}

/// Starts `n` chats from fresh visitor connections; returns (visitor socket, conversation).
async fn start_many(app: &TestApp, n: usize) -> Vec<(Client, String)> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut ws = visitor(app).await;
        let (conversation, _) = start(&mut ws, &format!("Visitor {i}")).await;
        out.push((ws, conversation));
    }
    out
}

/// Which operator each conversation went to, from the database.
async fn owners(app: &TestApp) -> Vec<Option<String>> {
    sqlx::query_scalar(
        "SELECT u.username FROM conversations c LEFT JOIN staff_users u ON u.id = c.operator_id ORDER BY c.id",
    )
    .fetch_all(app.app.state().store.reader())
    .await
    .expect("owners")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_busy_routing_respects_limits_and_availability() {
    let app = TestApp::spawn_with(|c| {
        c.chat.routing = parley::config::Routing::LeastBusy;
        c.chat.max_chats = 2;
    })
    .await;
    let mut ann = operator(&app, "ann").await;
    let mut ben = operator(&app, "ben").await;
    send(&mut ben, json!({ "v": 1, "type": "status", "status": "away" })).await;
    until(&mut ben, "status").await;
    let mut chats = start_many(&app, 3).await;
    // ann takes two (her limit); the third waits because ben is away.
    let (assigned, _) = until(&mut ann, "assigned").await;
    assert_eq!(assigned["conversation"], chats[0].1.as_str());
    until(&mut chats[0].0, "accepted").await;
    assert_eq!(owners(&app).await, [Some("ann".to_owned()), Some("ann".to_owned()), None]);
    send(&mut ben, json!({ "v": 1, "type": "status", "status": "online" })).await;
    let (assigned, _) = until(&mut ben, "assigned").await;
    assert_eq!(assigned["conversation"], chats[2].1.as_str(), "ben gets the waiting chat as soon as he is available");
    let (told, _) = until(&mut chats[2].0, "accepted").await;
    assert_eq!(told["operator"], "ben");
    // A new chat goes to the least busy operator with room: ben (1 open) rather than ann (2).
    let mut more = start_many(&app, 1).await;
    until(&mut more[0].0, "accepted").await;
    assert_eq!(owners(&app).await[3].as_deref(), Some("ben"));
    // Everybody full: the next one waits in the queue.
    let mut waiting = start_many(&app, 1).await;
    assert_eq!(until(&mut waiting[0].0, "queue").await.0["position"], 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_routing_takes_turns() {
    let app = TestApp::spawn_with(|c| {
        c.chat.routing = parley::config::Routing::RoundRobin;
        c.chat.max_chats = 10;
    })
    .await;
    let _a = operator(&app, "amy").await;
    let _b = operator(&app, "bob").await;
    let mut chats = start_many(&app, 4).await;
    for (ws, _) in chats.iter_mut() {
        until(ws, "accepted").await;
    }
    let owners = owners(&app).await;
    assert_eq!(owners.iter().filter(|o| o.as_deref() == Some("amy")).count(), 2, "{owners:?}");
    assert_eq!(owners.iter().filter(|o| o.as_deref() == Some("bob")).count(), 2, "{owners:?}");
    assert_ne!(owners[0], owners[1], "consecutive chats go to different operators: {owners:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_where_the_visitor_came_from_and_earlier_chats() {
    let app = TestApp::spawn().await;
    let mut staff = operator(&app, "vera").await;
    // The visitor agreed to be remembered (parley_vid cookie), so earlier chats are linked.
    let (key, _) = crate::chat_support::remembered_visitor(&app).await;
    let mut conversations = Vec::new();
    for question in ["First question", "Second question"] {
        let mut ws = crate::chat_support::visitor_with_cookie(&app, &key).await;
        send(
            &mut ws,
            json!({
                "v": 1, "type": "start", "id": uuid(), "site": "main", "name": "Wyn", "question": question,
                "page": "https://www.example.gov.uk/bins?street=high", "referrer": "https://search.example/",
            }),
        )
        .await;
        let (started, _) = until(&mut ws, "started").await;
        conversations.push(started["conversation"].as_str().expect("id").to_owned());
    }
    // A page that is not a URL is dropped, not stored.
    let mut odd = visitor(&app).await;
    send(&mut odd, json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": "Zoe", "question": "q", "page": "javascript:alert(1)" })).await;
    until(&mut odd, "started").await;

    send(&mut staff, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": conversations[1] })).await;
    let (info, _) = until(&mut staff, "visitor").await;
    assert_eq!(info["conversation"], conversations[1].as_str());
    assert_eq!(info["page"], "https://www.example.gov.uk/bins?street=high");
    assert_eq!(info["referrer"], "https://search.example/");
    assert_eq!(info["previous"].as_array().map(Vec::len), Some(1), "{info}");
    assert_eq!(info["previous"][0]["conversation"], conversations[0].as_str());
    let pages: Vec<Option<String>> = sqlx::query_scalar("SELECT page_url FROM conversations ORDER BY id")
        .fetch_all(app.app.state().store.reader())
        .await
        .expect("pages");
    assert_eq!(pages[2], None);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sites_ask_their_own_prechat_questions() {
    let app = TestApp::spawn().await;
    let fields = json!([
        { "key": "email", "label": "E-mail", "type": "email", "required": true },
        { "key": "topic", "label": "Topic", "label_cy": "Pwnc", "type": "select", "required": false, "options": ["Bins", "Council tax"] }
    ]);
    app.app
        .state()
        .sites
        .save(
            "main",
            parley::service::sites::SiteInput {
                name: "Main website".into(),
                origins: vec!["https://www.example.gov.uk".to_owned()],
                fields: serde_json::from_value(fields.clone()).expect("fields"),
                ..Default::default()
            },
        )
        .await
        .expect("save");
    let config: Value = app
        .client
        .get(app.public("/widget/config?site=main"))
        .send()
        .await
        .expect("config")
        .json()
        .await
        .expect("json");
    assert_eq!(config["fields"], fields);

    let mut staff = operator(&app, "pia").await;
    let mut ws = visitor(&app).await;
    let start = |answers: Value| json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": "Rhys", "question": "Help", "answers": answers });
    for (answers, why) in [
        (json!({}), "E-mail is required"),
        (json!({ "email": "x" }), "E-mail is not valid"),
        (json!({ "email": "r@example.org", "topic": "Parking" }), "Topic is not valid"),
    ] {
        send(&mut ws, start(answers.clone())).await;
        let (error, _) = until(&mut ws, "error").await;
        assert_eq!(error["code"], "invalid", "{answers}");
        assert!(error["message"].as_str().unwrap_or_default().contains(why), "{answers}: {error}");
    }
    send(&mut ws, start(json!({ "email": "rhys@example.org", "topic": "Bins" }))).await;
    let (started, _) = until(&mut ws, "started").await;
    send(&mut staff, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": started["conversation"] })).await;
    let (info, _) = until(&mut staff, "visitor").await;
    assert_eq!(
        info["answers"],
        json!([
            { "key": "email", "label": "E-mail", "value": "rhys@example.org" },
            { "key": "topic", "label": "Topic", "value": "Bins" }
        ])
    );
    app.stop().await;
}
