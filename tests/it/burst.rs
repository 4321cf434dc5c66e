//! Many pairs, bursts both ways, `kill -9`: 20 visitor/operator pairs send bursts at each other
//! while the server process is killed. After a restart every socket resumes from the highest
//! seq it saw (the rule in docs/protocol.md) and sends again what was not acknowledged. Each
//! side receives every message of its peer exactly once, live or replayed, and no socket ever
//! gets a seq above one it has not had.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::durability::{add_operator, free_port, next_frame, open, spawn};
use crate::websocket::Client;

const PAIRS: usize = 20;
/// Messages each side sends, in bursts of `BURST` a little over a second apart (the server
/// allows 10 frames a second per connection).
const EACH: usize = 30;
const BURST: usize = 9;

/// One end of a conversation, kept across connections.
struct Side {
    operator: bool,
    conversation: String,
    token: String,
    /// Our message ids, in sending order; `next` of them were sent.
    own: Vec<String>,
    next: usize,
    acked: BTreeSet<String>,
    /// The peer's ids, and how often each arrived.
    peer: BTreeSet<String>,
    received: BTreeMap<String, usize>,
    /// The highest seq seen (events and acks): where to resume from.
    highest: i64,
    /// Seqs that arrived before a lower one (must stay empty).
    overtaken: Vec<(i64, i64)>,
}

impl Side {
    fn done(&self) -> bool {
        self.acked.len() == self.own.len() && self.peer.iter().all(|id| self.received.contains_key(id))
    }

    fn message(&self, id: &str) -> Message {
        Message::text(
            json!({ "v": 1, "type": "message", "id": id, "conversation": self.conversation, "text": format!("m {id}") })
                .to_string(),
        )
    }

    /// Takes one frame into account; `seq` frames must come without gaps on one connection.
    fn take(&mut self, frame: &Value, acks: &AtomicUsize) {
        let kind = frame["type"].as_str().unwrap_or_default();
        assert_ne!(kind, "error", "{frame}");
        if kind != "message" && kind != "ack" {
            return;
        }
        if frame["conversation"].as_str().is_some_and(|c| c != self.conversation) {
            return;
        }
        let (Some(seq), Some(id)) = (frame["seq"].as_i64(), frame["id"].as_str()) else { return };
        if seq > self.highest + 1 {
            self.overtaken.push((self.highest, seq));
        }
        self.highest = self.highest.max(seq);
        if self.own.iter().any(|own| own == id) {
            // An ack, or our own message replayed after a restart (the ack was lost): the same.
            if self.acked.insert(id.to_owned()) {
                acks.fetch_add(1, Ordering::Relaxed);
            }
        } else if self.peer.contains(id) {
            *self.received.entry(id.to_owned()).or_default() += 1;
        }
    }
}

/// Sends bursts and reads until the side is done (true) or the connection is gone (false).
/// A fresh connection first resumes (`resume` or `join` from `highest`) and resends.
async fn drive(ws: &mut Client, side: &mut Side, resume: bool, acks: &AtomicUsize) -> bool {
    let mut queue: Vec<String> = Vec::new();
    if resume {
        let frame = if side.operator {
            json!({ "v": 1, "type": "join", "conversation": side.conversation, "last_seq": side.highest })
        } else {
            json!({ "v": 1, "type": "resume", "conversation": side.conversation, "token": side.token,
                    "last_seq": side.highest })
        };
        if ws.send(Message::text(frame.to_string())).await.is_err() {
            return false;
        }
        queue.extend(side.own[..side.next].iter().filter(|id| !side.acked.contains(*id)).cloned());
    }
    let mut tick = tokio::time::interval(Duration::from_millis(1100));
    loop {
        if side.done() {
            return true;
        }
        tokio::select! {
            _ = tick.tick() => {
                while queue.len() < BURST && side.next < side.own.len() {
                    queue.push(side.own[side.next].clone());
                    side.next += 1;
                }
                let burst: Vec<String> = queue.drain(..queue.len().min(BURST)).collect();
                for id in burst {
                    if ws.send(side.message(&id)).await.is_err() {
                        return false;
                    }
                }
            }
            frame = next_frame(ws) => match frame {
                Some(frame) => side.take(&frame, acks),
                None => return false,
            },
        }
    }
}

struct Server {
    data: PathBuf,
    public: u16,
    staff: u16,
}

impl Server {
    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    async fn socket(&self, side: &Side, cookie: &str) -> Client {
        let cert = self.data.join("tls/cert.pem");
        if side.operator {
            open(Self::addr(self.staff), &cert, "/ws/staff", Some(cookie)).await
        } else {
            open(Self::addr(self.public), &cert, "/ws/visitor", None).await
        }
    }
}

async fn until_type(ws: &mut Client, kind: &str) -> Value {
    loop {
        let frame = next_frame(ws).await.unwrap_or_else(|| panic!("no {kind}"));
        if frame["type"] == kind {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_pairs_lose_nothing_across_kill_9_in_a_burst() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server { data: dir.path().join("data"), public: free_port(), staff: free_port() };
    add_operator(&server.data, "kit");
    let mut child = spawn(&server.data, server.public, server.staff);
    let cert = server.data.join("tls/cert.pem");
    let _ = open(Server::addr(server.public), &cert, "/ws/visitor", None).await; // waits for the server
    let login = crate::harness::client_trusting(&cert)
        .post(format!("https://{}/api/v1/session", Server::addr(server.staff)))
        .json(&json!({ "username": "kit", "password": "correct horse battery staple" }))
        .send()
        .await
        .expect("login");
    let cookie = crate::harness::session_cookie(&login).expect("cookie");

    let mut sides = Vec::new();
    let mut sockets = Vec::new();
    for i in 0..PAIRS {
        let ids = |_: u8| (0..EACH).map(|_| uuid::Uuid::new_v4().to_string()).collect::<Vec<_>>();
        let (visitor_ids, operator_ids) = (ids(0), ids(1));
        let blank = |operator: bool, own: &Vec<String>, peer: &Vec<String>| Side {
            operator,
            conversation: String::new(),
            token: String::new(),
            own: own.clone(),
            next: 0,
            acked: BTreeSet::new(),
            peer: peer.iter().cloned().collect(),
            received: BTreeMap::new(),
            highest: 0,
            overtaken: Vec::new(),
        };
        let (mut visitor, mut operator) =
            (blank(false, &visitor_ids, &operator_ids), blank(true, &operator_ids, &visitor_ids));
        let mut staff = server.socket(&operator, &cookie).await;
        let mut ws = server.socket(&visitor, &cookie).await;
        let start = json!({ "v": 1, "type": "start", "id": uuid::Uuid::new_v4(), "site": "main",
                            "name": format!("Visitor {i}"), "question": "q" });
        ws.send(Message::text(start.to_string())).await.expect("start");
        let started = until_type(&mut ws, "started").await;
        visitor.conversation = started["conversation"].as_str().expect("conversation").to_owned();
        visitor.token = started["token"].as_str().expect("token").to_owned();
        visitor.highest = 1;
        operator.conversation = visitor.conversation.clone();
        let accept =
            json!({ "v": 1, "type": "accept", "id": uuid::Uuid::new_v4(), "conversation": operator.conversation });
        staff.send(Message::text(accept.to_string())).await.expect("accept");
        let question = until_type(&mut staff, "message").await;
        operator.highest = question["seq"].as_i64().expect("seq");
        sides.extend([visitor, operator]);
        sockets.extend([ws, staff]);
    }

    // Every side sends its bursts; the server dies when about half the messages are acknowledged.
    let acks = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (mut side, mut ws) in sides.into_iter().zip(sockets) {
        let acks = Arc::clone(&acks);
        tasks.push(tokio::spawn(async move {
            let done = drive(&mut ws, &mut side, false, &acks).await;
            (side, done)
        }));
    }
    let half = PAIRS * 2 * EACH / 2;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while acks.load(Ordering::Relaxed) < half {
        assert!(tokio::time::Instant::now() < deadline, "bursts stalled at {} acks", acks.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    let mut sides = Vec::new();
    for task in tasks {
        sides.push(task.await.expect("side").0);
    }
    let acked_before = acks.load(Ordering::Relaxed);
    assert!(acked_before < PAIRS * 2 * EACH, "messages were still in flight at the kill");

    // Restart; every side reconnects, resumes from its highest seq, resends and goes on.
    let mut child = spawn(&server.data, server.public, server.staff);
    let mut tasks = Vec::new();
    for mut side in sides {
        let acks = Arc::clone(&acks);
        let mut ws = server.socket(&side, &cookie).await;
        tasks.push(tokio::spawn(async move {
            let done = tokio::time::timeout(Duration::from_secs(90), drive(&mut ws, &mut side, true, &acks)).await;
            (side, done.unwrap_or(false))
        }));
    }
    let mut failures = Vec::new();
    for task in tasks {
        let (side, done) = task.await.expect("side");
        let who = format!("{} of {}", if side.operator { "operator" } else { "visitor" }, side.conversation);
        let twice: Vec<&String> = side.received.iter().filter(|(_, n)| **n > 1).map(|(id, _)| id).collect();
        let missing = side.peer.iter().filter(|id| !side.received.contains_key(*id)).count();
        if !done || !twice.is_empty() || missing > 0 || !side.overtaken.is_empty() {
            failures.push(format!(
                "{who}: done {done}, {missing} peer messages missing, {} twice, overtaken {:?}, {} of {} acked",
                twice.len(),
                side.overtaken,
                side.acked.len(),
                side.own.len()
            ));
        }
    }
    child.kill().expect("stop");
    let _ = child.wait();
    assert!(failures.is_empty(), "{failures:#?}");
}
