//! One websocket connection: greet, then loop over incoming frames, the hub outbox, the
//! slow-consumer kick and shutdown. Frames go out in message order (`order.rs`): no seq before a
//! lower one, no message event twice, so a replay racing with live fan-out never shows a message
//! twice and an ack never overtakes a peer's message.

use std::num::NonZeroU32;

use futures_util::stream::FusedStream;
use futures_util::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::order::{Order, Step};
use super::protocol;
use super::{MAX_FRAME_BYTES, Socket, staff, visitor};
use crate::app::AppState;
use crate::realtime::frames::{self, VERSION};
use crate::realtime::hub::{OutFrame, Seq};
use crate::service::chat::{Chat, ChatError};
use crate::shutdown::wait_for_shutdown;
use crate::telemetry::Surface;

/// Frames per second a client may send, and the burst allowed above that.
const FRAMES_PER_SECOND: u32 = 10;
const BURST: u32 = 20;
/// Rate-limited frames tolerated before the connection is closed.
const MAX_STRIKES: u32 = 20;
/// While closing after an error: how long the client must stay silent before the socket drops.
const QUIET: std::time::Duration = std::time::Duration::from_millis(200);
/// How often a staff socket re-checks its session.
const SESSION_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// Who is on the other end.
#[derive(Debug, Clone)]
pub enum Peer {
    /// `ip`: where the connection came from.
    /// `vid`: the `parley_vid` cookie, used only as far as the site and the visitor allow.
    Visitor { ip: std::net::IpAddr, vid: Option<String> },
    /// `token` is the session cookie's token, re-checked while the socket is open.
    Staff {
        user_id: i64,
        /// For the access log.
        username: String,
        name: String,
        /// What the user's role may do (chats.view to connect, chats.store to answer,
        /// chats.manage to take chats of any department).
        permissions: crate::domain::PermissionSet,
        /// The role's team scope (which chats the queue shows and accept takes).
        scope: crate::domain::Scope,
        token: String,
    },
}

enum Handler {
    Visitor(visitor::VisitorConn),
    Staff(staff::StaffConn),
}

/// The frames to send for a handled client frame: its result, or the error frame (storage
/// errors are logged; their details stay out of the frame).
pub fn answer(result: Result<Vec<OutFrame>, ChatError>) -> Vec<OutFrame> {
    match result {
        Ok(frames) => frames,
        Err(err) => {
            if let ChatError::Store(store) = &err {
                tracing::error!(error = %store, "chat storage error");
            }
            vec![direct(frames::error(err.code(), &err.to_string()))]
        }
    }
}

/// A frame for this connection only (not a message event).
pub fn direct(text: String) -> OutFrame {
    OutFrame::plain(0, text)
}

/// The `ack` of this connection's message `seq` in a conversation (sent after every lower seq).
pub fn ack(conversation: i64, seq: i64, text: String) -> OutFrame {
    OutFrame { conversation, seq: Seq::Ack(seq), text: text.into() }
}

pub async fn run(mut socket: Socket, state: AppState, surface: Surface, peer: Peer) {
    let _running = state.tasks.enter();
    state.metrics.websocket_opened(surface);
    let (outbox, mut inbox) = state.chat.hub().connect(matches!(peer, Peer::Staff { .. }));
    let role = match peer {
        Peer::Visitor { .. } => "visitor",
        Peer::Staff { .. } => "staff",
    };
    let token = match &peer {
        Peer::Staff { token, .. } => Some(token.clone()),
        Peer::Visitor { .. } => None,
    };
    let mut handler = match peer {
        Peer::Visitor { ip, vid } => Handler::Visitor(visitor::VisitorConn::new(ip, vid)),
        Peer::Staff { user_id, username, name, permissions, scope, .. } => {
            Handler::Staff(staff::StaffConn::new(user_id, username, name, permissions, scope))
        }
    };
    let limiter = DefaultDirectRateLimiter::direct(
        Quota::per_second(NonZeroU32::new(FRAMES_PER_SECOND).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(BURST).unwrap_or(NonZeroU32::MIN)),
    );
    let mut strikes = 0;
    let mut order = Order::default();
    let mut shutdown = state.shutdown.clone();
    let available = state.chat.hub().operators_available() > 0;
    let hello = frames::frame(
        "hello",
        json!({ "role": role, "max_frame_bytes": MAX_FRAME_BYTES, "protocol": VERSION, "available": available }),
    );
    let mut greeting = vec![direct(hello)];
    if let Handler::Staff(conn) = &mut handler {
        greeting.extend(Box::pin(conn.greet(&state, &outbox)).await);
    }
    let mut recheck = tokio::time::interval(SESSION_RECHECK);
    recheck.tick().await;
    let chat = &state.chat;
    let mut open = send_all(&mut socket, greeting, &mut order, chat).await;
    while open {
        tokio::select! {
            _ = inbox.revoked.notified() => {
                close(&mut socket, CloseCode::Policy, "session ended").await;
                break;
            }
            _ = recheck.tick(), if token.is_some() => {
                // Expired, disabled (also from the command line) or signed out elsewhere.
                let token = token.as_deref().unwrap_or_default();
                if state.accounts.authenticate(token).await.is_err() {
                    close(&mut socket, CloseCode::Policy, "session ended").await;
                    break;
                }
            }
            _ = wait_for_shutdown(&mut shutdown) => {
                close(&mut socket, CloseCode::Away, "server shutting down").await;
                break;
            }
            _ = inbox.kicked.notified() => {
                close(&mut socket, CloseCode::Policy, "slow_consumer").await;
                break;
            }
            out = inbox.rx.recv() => match out {
                Some(frame) => open = send_unless_kicked(&mut socket, vec![frame], &mut order, chat, &inbox).await,
                None => break,
            },
            incoming = socket.next() => {
                let replies = match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if limiter.check().is_err() {
                            strikes += 1;
                            if strikes > MAX_STRIKES {
                                close(&mut socket, CloseCode::Policy, "rate limit exceeded").await;
                                break;
                            }
                            vec![direct(frames::error("rate_limited", "slow down: at most 10 frames a second"))]
                        } else {
                            match protocol::parse(&text) {
                                // Boxed: a command's future lives on the heap only while it
                                // runs, instead of enlarging every idle connection's task.
                                Ok(frame) => match &mut handler {
                                    Handler::Visitor(conn) => {
                                        answer(Box::pin(conn.dispatch(frame, &state, &outbox)).await)
                                    }
                                    Handler::Staff(conn) => answer(Box::pin(conn.dispatch(frame, &state, &outbox)).await),
                                },
                                Err((code, message)) => vec![direct(frames::error(code, message))],
                            }
                        }
                    }
                    Some(Ok(Message::Binary(_))) => vec![direct(frames::error("text_only", "send JSON text frames"))],
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Ok(_)) => continue,
                    Some(Err(err)) => {
                        tracing::debug!(error = %err, role, "websocket closed on error");
                        let (code, reason) = match err {
                            WsError::Capacity(_) => (CloseCode::Size, "frame too large"),
                            WsError::Utf8(_) => (CloseCode::Invalid, "text is not UTF-8"),
                            _ => (CloseCode::Protocol, "protocol error"),
                        };
                        close(&mut socket, code, reason).await;
                        break;
                    }
                };
                open = send_unless_kicked(&mut socket, replies, &mut order, chat, &inbox).await;
            }
        }
    }
    state.chat.hub().disconnect(outbox.conn);
    if let Handler::Staff(conn) = &handler {
        let grace = std::time::Duration::from_secs(state.config.chat.operator_grace_seconds);
        state.chat.operator_left(conn.user_id(), grace, state.shutdown.clone());
    }
    state.metrics.websocket_closed(surface);
}

/// Sends frames in message order (see `order.rs`): skips message events this connection
/// already has, and sends the messages a frame would overtake first, read from the store. If
/// they cannot be read the socket is closed (1011): the client resumes and gets them replayed.
async fn send_all(socket: &mut Socket, frames: Vec<OutFrame>, order: &mut Order, chat: &Chat) -> bool {
    for frame in frames {
        match order.plan(&frame) {
            Step::Skip => {
                order.record(&frame);
                continue;
            }
            Step::Fill { after, upto } => match chat.missed(frame.conversation, after, upto).await {
                Ok(missed) => {
                    for earlier in missed {
                        if socket.send(Message::Text(earlier.text.as_ref().into())).await.is_err() {
                            return false;
                        }
                        order.record(&earlier);
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "missed messages could not be read");
                    close(socket, CloseCode::Error, "internal error").await;
                    return false;
                }
            },
            Step::Send => {}
        }
        if socket.send(Message::Text(frame.text.as_ref().into())).await.is_err() {
            return false;
        }
        order.record(&frame);
    }
    true
}

/// `send_all`, unless the hub kicks the connection while a write is blocked (the client stopped
/// reading, so its queue filled up): then the close frame gets one second, and the socket is
/// dropped either way — otherwise the task would wait on the stalled client indefinitely.
async fn send_unless_kicked(
    socket: &mut Socket,
    frames: Vec<OutFrame>,
    order: &mut Order,
    chat: &Chat,
    inbox: &crate::realtime::hub::Inbox,
) -> bool {
    tokio::select! {
        open = send_all(socket, frames, order, chat) => open,
        _ = inbox.kicked.notified() => {
            let closing = close(socket, CloseCode::Policy, "slow_consumer");
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), closing).await;
            false
        }
    }
}

/// Sends a close frame (flushed), then reads and discards until the client answers it, hangs up
/// or 2 s pass, so the close frame is not lost to a TCP reset over unread data. After a read
/// error (a message over the limit, say) the websocket stream is finished while the client may
/// still be sending fragments: those are read raw until the line is quiet for 200 ms.
async fn close(socket: &mut Socket, code: CloseCode, reason: &str) {
    if socket.close(Some(CloseFrame { code, reason: reason.to_owned().into() })).await.is_err() {
        return;
    }
    let drain = async {
        while let Some(Ok(message)) = socket.next().await {
            if message.is_close() {
                return;
            }
        }
        if !socket.is_terminated() {
            return;
        }
        let mut buf = [0u8; 1024];
        let raw = socket.get_mut();
        while let Ok(Ok(read)) = tokio::time::timeout(QUIET, raw.read(&mut buf)).await {
            if read == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
}
