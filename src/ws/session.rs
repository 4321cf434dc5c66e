//! One websocket connection: greet, answer frames, close with 1001 when the server stops.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::protocol::{self, ClientFrame, ServerFrame, VERSION};
use super::{MAX_FRAME_BYTES, Socket};
use crate::app::{AppState, wait_for_shutdown};
use crate::telemetry::Surface;

/// Who is on the other end.
#[derive(Debug, Clone, Copy)]
pub enum Peer {
    Visitor,
    Staff { user_id: i64 },
}

impl Peer {
    fn role(self) -> &'static str {
        match self {
            Peer::Visitor => "visitor",
            Peer::Staff { .. } => "staff",
        }
    }
}

pub async fn run(mut socket: Socket, state: AppState, surface: Surface, peer: Peer) {
    let _running = state.tasks.enter();
    state.metrics.websocket_opened(surface);
    let mut shutdown = state.shutdown.clone();
    let hello = ServerFrame::Hello { v: VERSION, role: peer.role(), max_frame_bytes: MAX_FRAME_BYTES };
    if send(&mut socket, &hello).await.is_ok() {
        loop {
            let message = tokio::select! {
                message = socket.next() => message,
                _ = wait_for_shutdown(&mut shutdown) => {
                    let frame = CloseFrame { code: CloseCode::Away, reason: "server shutting down".into() };
                    let _ = socket.close(Some(frame)).await;
                    break;
                }
            };
            let reply = match message {
                Some(Ok(Message::Text(text))) => match protocol::parse(&text) {
                    Ok(ClientFrame::Ping { id }) => ServerFrame::Pong { v: VERSION, id },
                    Err((code, message)) => ServerFrame::Error { v: VERSION, code, message },
                },
                Some(Ok(Message::Binary(_))) => {
                    ServerFrame::Error { v: VERSION, code: "text_only", message: "send JSON text frames" }
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => continue,
                Some(Err(err)) => {
                    tracing::debug!(error = %err, role = peer.role(), "websocket closed on error");
                    let frame = match err {
                        WsError::Capacity(_) => CloseFrame { code: CloseCode::Size, reason: "frame too large".into() },
                        WsError::Utf8(_) => CloseFrame { code: CloseCode::Invalid, reason: "text is not UTF-8".into() },
                        _ => CloseFrame { code: CloseCode::Protocol, reason: "protocol error".into() },
                    };
                    let _ = socket.close(Some(frame)).await;
                    break;
                }
            };
            if send(&mut socket, &reply).await.is_err() {
                break;
            }
        }
    }
    state.metrics.websocket_closed(surface);
}

async fn send(socket: &mut Socket, frame: &ServerFrame<'_>) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    socket.send(Message::Text(text.into())).await.map_err(|_| ())
}
