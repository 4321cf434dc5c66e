//! The bare relay the benchmark compares against (`parley bench relay`, hidden): the same TLS,
//! the same tokio-tungstenite socket settings and the same chat frames as the server, but no
//! storage, no encryption, no authentication and no replay. A staff socket's `Cookie` header is
//! taken as its user name. Conversations go to the user with the fewest, like least-busy routing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use crate::realtime::frames::frame;
use crate::realtime::hub::OUTBOX_FRAMES;

type Tx = mpsc::Sender<Arc<str>>;

struct Room {
    members: Vec<(u64, Tx)>,
    seq: i64,
}

#[derive(Default)]
struct User {
    conns: Vec<(u64, Tx)>,
    conversations: Vec<String>,
}

#[derive(Default)]
struct State {
    rooms: HashMap<String, Room>,
    users: HashMap<String, User>,
    next_conn: u64,
}

type Shared = Arc<Mutex<State>>;

/// Accepts TLS websocket connections on `listen` until the process is killed.
pub async fn serve(listen: SocketAddr, cert: &Path, key: &Path) -> Result<(), String> {
    crate::tls::install_crypto_provider();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("bind {listen}: {e}"))?;
    let state: Shared = Arc::default();
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let _ = tcp.set_nodelay(true);
        let (acceptor, state) = (acceptor.clone(), Arc::clone(&state));
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let mut path = String::new();
            let mut user = None;
            // tungstenite's handshake callback type fixes the (large) error type.
            #[allow(clippy::result_large_err)]
            let callback = |request: &Request, response: Response| {
                path = request.uri().path().to_owned();
                user = request.headers().get("cookie").and_then(|v| v.to_str().ok()).map(str::to_owned);
                Ok(response)
            };
            let config = Some(crate::ws::socket_config());
            if let Ok(ws) = tokio_tungstenite::accept_hdr_async_with_config(tls, callback, config).await {
                let user = if path == "/ws/staff" { Some(user.unwrap_or_default()) } else { None };
                connection(ws, state, user).await;
            }
        });
    }
}

async fn connection<S>(mut ws: tokio_tungstenite::WebSocketStream<S>, state: Shared, user: Option<String>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (tx, mut rx) = mpsc::channel::<Arc<str>>(OUTBOX_FRAMES);
    let conn = match state.lock() {
        Ok(mut s) => {
            s.next_conn += 1;
            s.next_conn
        }
        Err(_) => return,
    };
    let role = if user.is_some() { "staff" } else { "visitor" };
    let mut greeting =
        vec![frame("hello", json!({ "role": role, "max_frame_bytes": crate::ws::MAX_FRAME_BYTES, "protocol": 1 }))];
    if let Some(name) = &user
        && let Ok(mut s) = state.lock()
    {
        let entry = s.users.entry(name.clone()).or_default();
        entry.conns.push((conn, tx.clone()));
        let mine: Vec<Value> = entry.conversations.iter().map(|c| json!({ "conversation": c })).collect();
        greeting.push(frame("mine", json!({ "conversations": mine })));
    }
    let mut open = true;
    for text in greeting {
        open = open && ws.send(Message::text(text)).await.is_ok();
    }
    let mut rooms: Vec<String> = Vec::new();
    while open {
        tokio::select! {
            out = rx.recv() => match out {
                Some(text) => open = ws.send(Message::text(text.as_ref())).await.is_ok(),
                None => break,
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let replies = handle(&state, conn, &tx, user.as_deref(), &text, &mut rooms);
                    for reply in replies {
                        open = open && ws.send(Message::text(reply)).await.is_ok();
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    if let Ok(mut s) = state.lock() {
        for room in &rooms {
            if let Some(r) = s.rooms.get_mut(room) {
                r.members.retain(|(c, _)| *c != conn);
            }
        }
        if let Some(name) = &user
            && let Some(u) = s.users.get_mut(name)
        {
            u.conns.retain(|(c, _)| *c != conn);
        }
    }
}

/// One client frame: the replies for this connection; fan-out goes through the other outboxes.
fn handle(state: &Shared, conn: u64, tx: &Tx, user: Option<&str>, text: &str, rooms: &mut Vec<String>) -> Vec<String> {
    let Ok(frame_in) = serde_json::from_str::<Value>(text) else {
        return vec![crate::realtime::frames::error("bad_json", "the frame is not a JSON object")];
    };
    let Ok(mut s) = state.lock() else { return Vec::new() };
    let field = |name: &str| frame_in[name].as_str().unwrap_or_default().to_owned();
    match frame_in["type"].as_str().unwrap_or_default() {
        "start" if user.is_none() => {
            let Some(name) = s
                .users
                .iter()
                .filter(|(_, u)| !u.conns.is_empty())
                .min_by_key(|(_, u)| u.conversations.len())
                .map(|(n, _)| n.clone())
            else {
                return vec![crate::realtime::frames::error("offline", "no operator is available")];
            };
            let conversation = uuid::Uuid::new_v4().to_string();
            s.rooms.insert(conversation.clone(), Room { members: vec![(conn, tx.clone())], seq: 1 });
            rooms.push(conversation.clone());
            let assigned: Arc<str> = frame("assigned", json!({ "conversation": conversation })).into();
            if let Some(u) = s.users.get_mut(&name) {
                u.conversations.push(conversation.clone());
                for (_, other) in &u.conns {
                    let _ = other.try_send(Arc::clone(&assigned));
                }
            }
            let token = uuid::Uuid::new_v4().to_string();
            vec![frame("started", json!({ "id": field("id"), "conversation": conversation, "token": token, "seq": 1 }))]
        }
        kind @ ("resume" | "join") => {
            let conversation = field("conversation");
            let Some(room) = s.rooms.get_mut(&conversation) else {
                return vec![crate::realtime::frames::error("unknown_conversation", "no such conversation")];
            };
            room.members.retain(|(c, t)| *c != conn && !t.is_closed());
            room.members.push((conn, tx.clone()));
            rooms.push(conversation.clone());
            if kind == "resume" {
                return vec![frame("resumed", json!({ "conversation": conversation, "status": "active" }))];
            }
            // As the server does on `join`: the visitor frame, then the question (seq 1).
            let question = json!({ "conversation": conversation, "seq": 1, "id": "", "author": "visitor",
                                   "text": "A question for the benchmark" });
            vec![frame("visitor", json!({ "conversation": conversation })), frame("message", question)]
        }
        "message" => {
            let conversation = match rooms.last() {
                Some(last) if user.is_none() => last.clone(),
                _ => field("conversation"),
            };
            let Some(room) = s.rooms.get_mut(&conversation) else {
                return vec![crate::realtime::frames::error("unknown_conversation", "no such conversation")];
            };
            room.seq += 1;
            let author = if user.is_some() { "operator" } else { "visitor" };
            let event: Arc<str> = frame(
                "message",
                json!({ "conversation": conversation, "seq": room.seq, "id": field("id"), "author": author,
                        "text": frame_in["text"] }),
            )
            .into();
            room.members.retain(|(c, t)| *c == conn || t.try_send(Arc::clone(&event)).is_ok());
            vec![frame("ack", json!({ "id": field("id"), "seq": room.seq }))]
        }
        "ping" => vec![frame("pong", json!({ "id": frame_in["id"] }))],
        _ => vec![crate::realtime::frames::error("unknown_type", "this message type is not known")],
    }
}
