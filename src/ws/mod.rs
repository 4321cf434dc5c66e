//! Websockets on our own tokio-tungstenite config (1 KiB read buffer, 16 KiB frames) instead of
//! warp's built-in upgrade, which allocates ~128 KiB per connection.

mod order;
pub mod protocol;
mod session;
mod staff;
mod visitor;

use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, with_state};
use crate::http::rejection::ApiError;
use crate::http::serve::UpgradeSlot;
use crate::telemetry::Surface;

pub use session::Peer;

pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Largest frame or message a client may send.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        // Small: it is allocated for every open socket, and chat frames are small (a larger
        // frame is read in more steps, up to MAX_FRAME_BYTES).
        .read_buffer_size(1024)
        .write_buffer_size(0)
        // A cap, not an allocation: one staff `queue` frame listing hundreds of waiting chats
        // can pass 64 KiB, and a frame over the cap would drop the socket.
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
}

/// `/ws/visitor`: the widget iframe, served from this appliance, is the only allowed origin.
pub fn visitor(state: AppState) -> BoxedFilter<(Response,)> {
    warp::get()
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<UpgradeSlot>())
        .and(crate::http::filters::peer())
        .and(with_state(state))
        .and_then(
            |headers: HeaderMap, slot: Option<UpgradeSlot>, peer: std::net::SocketAddr, state: AppState| async move {
                check_same_origin(&headers)?;
                if let Err(retry_after) = state.visitor_limiter.check(&peer.ip()) {
                    state.metrics.visitor_connection_limited();
                    return Err(warp::reject::custom(ApiError::rate_limited(retry_after)));
                }
                let vid = crate::http::tracking::visitor_id(&headers);
                upgrade(&headers, slot, state, Surface::Public, Peer::Visitor { ip: peer.ip(), vid })
            },
        )
        .boxed()
}

/// `/ws/staff`: needs a live staff session and a same-origin request.
pub fn staff(state: AppState) -> BoxedFilter<(Response,)> {
    warp::get()
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<UpgradeSlot>())
        .and(allowed(state.clone(), perm::CHATS_VIEW))
        .and(with_state(state))
        .and_then(|headers: HeaderMap, slot: Option<UpgradeSlot>, authed: Authed, state: AppState| async move {
            check_same_origin(&headers)?;
            let scope = state.roles.scope(&authed.session.role);
            upgrade(
                &headers,
                slot,
                state,
                Surface::Staff,
                Peer::Staff {
                    user_id: authed.session.user_id,
                    username: authed.session.username,
                    name: authed.session.display_name,
                    permissions: authed.permissions,
                    scope,
                    token: authed.token,
                },
            )
        })
        .boxed()
}

/// Browsers always send `Origin` on websocket handshakes; it must name this host.
fn check_same_origin(headers: &HeaderMap) -> Result<(), Rejection> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(&format!("https://{host}")) => Ok(()),
        _ => Err(warp::reject::custom(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "websocket connections must come from a page served by this appliance",
        ))),
    }
}

fn upgrade(
    headers: &HeaderMap,
    slot: Option<UpgradeSlot>,
    state: AppState,
    surface: Surface,
    peer: Peer,
) -> Result<Response, Rejection> {
    let bad = |message: &str| {
        warp::reject::custom(ApiError::new(StatusCode::BAD_REQUEST, "websocket_required", message.to_owned()))
    };
    let has_token = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|part| part.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token(header::UPGRADE, "websocket") || !has_token(header::CONNECTION, "upgrade") {
        return Err(bad("this route speaks websocket only; send Upgrade: websocket"));
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
        return Err(bad("only websocket version 13 is supported"));
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or_else(|| bad("Sec-WebSocket-Key is missing"))?;
    let on_upgrade =
        slot.and_then(|s| s.take()).ok_or_else(|| bad("this connection cannot be upgraded (use HTTP/1.1)"))?;
    let accept = derive_accept_key(key.as_bytes());
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(socket_config())).await;
                session::run(socket, state, surface, peer).await;
            }
            Err(err) => tracing::debug!(error = %err, "websocket upgrade failed"),
        }
    });
    let mut response = Response::new(Default::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let out = response.headers_mut();
    out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    out.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept) {
        out.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    Ok(response)
}
