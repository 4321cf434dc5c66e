//! No message is lost across `kill -9`: a real server process is killed while a visitor sends;
//! after a restart every acknowledged message is stored exactly once, and the client's resent
//! unacknowledged messages (same ids) complete the conversation without duplicates; then the
//! operator gets every message once and both sides continue live.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::cli::BIN;
use crate::websocket::{Client, connect};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

pub fn spawn(data: &Path, public: u16, staff: u16) -> Child {
    Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(data)
        .args(["--public-addr", &format!("127.0.0.1:{public}"), "--staff-addr", &format!("127.0.0.1:{staff}")])
        .env_remove("PARLEY_CONFIG")
        .env("PARLEY_CHAT__ROUTING", "manual")
        .env("PARLEY_WIDGET__CONNECTIONS_PER_MINUTE_PER_IP", "1000000")
        .env("PARLEY_SERVER__PUBLIC_CONNECTIONS_PER_IP", "0")
        .env("PARLEY_SERVER__STAFF_CONNECTIONS_PER_SECOND", "0")
        .env("PARLEY_AUTH__ARGON2_MEMORY_KIB", "64")
        .env("PARLEY_AUTH__ARGON2_ITERATIONS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start parley")
}

/// Creates an operator with the password "correct horse battery staple" from the command line.
pub fn add_operator(data: &Path, name: &str) {
    let added = Command::new(BIN)
        .args(["user", "add", name, "--role", "operator", "--password-stdin", "--data-dir"])
        .arg(data)
        .env("PARLEY_AUTH__ARGON2_MEMORY_KIB", "64")
        .env("PARLEY_AUTH__ARGON2_ITERATIONS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(b"correct horse battery staple\n")?;
            child.wait()
        })
        .expect("user add");
    assert!(added.success());
}

/// Connects (retrying while the server starts) and reads the hello.
pub async fn open(addr: std::net::SocketAddr, cert: &Path, path: &str, cookie: Option<&str>) -> Client {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if cert.exists()
            && let Ok(mut ws) = connect(addr, cert, path, &format!("https://{addr}"), cookie).await
        {
            let _hello = ws.next().await;
            return ws;
        }
        assert!(Instant::now() < deadline, "server at {addr} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn next_frame(ws: &mut Client) -> Option<Value> {
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str(&text).ok(),
        Ok(Some(Ok(_))) => Some(Value::Null),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (public, staff) = (free_port(), free_port());
    let public_addr: std::net::SocketAddr = format!("127.0.0.1:{public}").parse().expect("addr");
    let staff_addr: std::net::SocketAddr = format!("127.0.0.1:{staff}").parse().expect("addr");
    let cert = data.join("tls/cert.pem");
    // An operator must be online for a chat to start: create one (before the server starts, so
    // the two processes do not race to create the database) and connect.
    add_operator(&data, "kim");
    let mut server = spawn(&data, public, staff);
    let _ = open(public_addr, &cert, "/ws/visitor", None).await; // waits for the server
    let client = crate::harness::client_trusting(&cert);
    let login = client
        .post(format!("https://{staff_addr}/api/v1/session"))
        .json(&json!({ "username": "kim", "password": "correct horse battery staple" }))
        .send()
        .await
        .expect("login");
    let cookie = crate::harness::session_cookie(&login).expect("cookie");
    let _operator = open(staff_addr, &cert, "/ws/staff", Some(&cookie)).await;

    let mut ws = open(public_addr, &cert, "/ws/visitor", None).await;
    ws.send(Message::text(
        json!({ "v": 1, "type": "start", "id": uuid::Uuid::new_v4(), "site": "main", "name": "Kai", "question": "q" })
            .to_string(),
    ))
    .await
    .expect("start");
    let (conversation, token) = loop {
        let frame = next_frame(&mut ws).await.expect("started");
        if frame["type"] == "started" {
            break (
                frame["conversation"].as_str().expect("id").to_owned(),
                frame["token"].as_str().expect("token").to_owned(),
            );
        }
    };

    // Send 200 messages in bursts that stay under the per-connection rate limit, killing the
    // server part-way through with a burst in flight.
    let ids: Vec<String> = (0..200).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let mut acked: BTreeMap<String, i64> = BTreeMap::new();
    let mut sent = 0;
    let mut killed = false;
    'sending: while sent < ids.len() {
        for id in ids.iter().skip(sent).take(10) {
            if ws
                .send(Message::text(
                    json!({ "v": 1, "type": "message", "id": id, "text": format!("m-{id}") }).to_string(),
                ))
                .await
                .is_err()
            {
                break 'sending;
            }
        }
        sent = (sent + 10).min(ids.len());
        while acked.len() < sent {
            match next_frame(&mut ws).await {
                Some(frame) if frame["type"] == "ack" => {
                    acked.insert(
                        frame["id"].as_str().unwrap_or_default().to_owned(),
                        frame["seq"].as_i64().unwrap_or(-1),
                    );
                }
                Some(_) => {}
                None => break 'sending,
            }
        }
        if !killed && sent >= 100 {
            // Mid-stream: the next burst is in flight when the process dies.
            for id in ids.iter().skip(sent).take(10) {
                let _ = ws
                    .send(Message::text(
                        json!({ "v": 1, "type": "message", "id": id, "text": format!("m-{id}") }).to_string(),
                    ))
                    .await;
            }
            server.kill().expect("kill -9");
            let _ = server.wait();
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await; // stay under 10 frames a second
    }
    assert!(killed, "the server was killed mid-stream");
    assert!(acked.len() >= 100, "acks before the kill: {}", acked.len());

    server = spawn(&data, public, staff);
    let mut ws = open(public_addr, &cert, "/ws/visitor", None).await;
    ws.send(Message::text(
        json!({ "v": 1, "type": "resume", "conversation": conversation, "token": token, "last_seq": 0 }).to_string(),
    ))
    .await
    .expect("resume");
    // Resend everything not acknowledged, with the same ids, pacing under the rate limit.
    let unacked: Vec<&String> = ids.iter().filter(|id| !acked.contains_key(*id)).collect();
    for chunk in unacked.chunks(10) {
        for id in chunk {
            ws.send(Message::text(
                json!({ "v": 1, "type": "message", "id": id, "text": format!("m-{id}") }).to_string(),
            ))
            .await
            .expect("resend");
        }
        let mut got = 0;
        while got < chunk.len() {
            let frame = next_frame(&mut ws).await.expect("frame after restart");
            if frame["type"] == "ack" {
                let id = frame["id"].as_str().unwrap_or_default().to_owned();
                let seq = frame["seq"].as_i64().unwrap_or(-1);
                if let Some(before) = acked.insert(id, seq) {
                    assert_eq!(before, seq, "an acked message keeps its seq");
                }
                got += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    // Both sides continue: the operator (whose session survived the restart) takes the chat and
    // gets every message once, in order; then a message each way is delivered live.
    let mut operator = open(staff_addr, &cert, "/ws/staff", Some(&cookie)).await;
    let accept = json!({ "v": 1, "type": "accept", "id": uuid::Uuid::new_v4(), "conversation": conversation });
    operator.send(Message::text(accept.to_string())).await.expect("accept");
    let mut replayed = Vec::new();
    while replayed.len() < ids.len() + 1 {
        let frame = next_frame(&mut operator).await.expect("replay after restart");
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "message" {
            replayed.push(frame["seq"].as_i64().unwrap_or(-1));
        }
    }
    assert_eq!(replayed, (1..=201).collect::<Vec<i64>>(), "every message once, in order");
    let live = uuid::Uuid::new_v4().to_string();
    ws.send(Message::text(json!({ "v": 1, "type": "message", "id": live, "text": "after" }).to_string()))
        .await
        .expect("visitor continues");
    loop {
        let frame = next_frame(&mut operator).await.expect("live message");
        if frame["type"] == "message" {
            assert_eq!((frame["seq"].as_i64(), frame["id"].as_str()), (Some(202), Some(live.as_str())));
            break;
        }
    }
    let reply = json!({ "v": 1, "type": "message", "id": uuid::Uuid::new_v4(), "conversation": conversation,
                        "text": "reply" });
    operator.send(Message::text(reply.to_string())).await.expect("operator continues");
    loop {
        let frame = next_frame(&mut ws).await.expect("live reply");
        if frame["type"] == "message" && frame["seq"] == 203 {
            assert_eq!(frame["author"], "operator");
            break;
        }
    }
    server.kill().expect("stop");
    let _ = server.wait();

    // The database, read directly: every message exactly once, seqs 1..=201 without gaps.
    let db = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new().filename(data.join("parley.db")).read_only(true),
    )
    .await
    .expect("open db");
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, client_id FROM messages ORDER BY seq").fetch_all(&db).await.expect("rows");
    let stored: BTreeSet<&str> = rows.iter().map(|(_, id)| id.as_str()).collect();
    for id in &ids {
        assert!(stored.contains(id.as_str()), "message {id} is stored");
    }
    assert_eq!(rows.len(), ids.len() + 3, "each message once (plus the question and the two live ones)");
    let seqs: Vec<i64> = rows.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=203).collect::<Vec<i64>>());
    for (id, seq) in &acked {
        assert!(rows.iter().any(|(s, i)| s == seq && i == id), "ack {id} → {seq} matches the store");
    }
    db.close().await;
}
