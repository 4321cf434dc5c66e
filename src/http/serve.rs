//! Our own accept loop (warp 0.4 has no TLS): TCP accept → rustls handshake (bounded by
//! `server.tls_handshake_timeout_seconds`) → hyper auto (HTTP/1.1 + h2, with upgrades, hyper's
//! timer set so its header-read timeout and HTTP/2 keep-alive work) around `warp::service`,
//! wrapped with the peer address, the checks of `precheck`, security headers and request
//! metrics. `conn` times each connection out; the public listener caps connections per address.
//! Stops accepting on shutdown and lets open connections finish within the grace period.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::conn::{self, Activity, Closed, Held, Limits};
use super::headers;
use super::precheck::{self, NumericPaths};
use crate::app::AppState;
use crate::config::ServerConfig;
use crate::ratelimit::ConnectionCap;
use crate::shutdown::{TaskCounter, wait_for_shutdown};
use crate::telemetry::Surface;

/// The client's address, put into every request's extensions by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The connection's upgrade handle, made cloneable so a warp filter can take it.
#[derive(Clone, Default)]
pub struct UpgradeSlot(Arc<Mutex<Option<OnUpgrade>>>);

impl UpgradeSlot {
    pub fn take(&self) -> Option<OnUpgrade> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Binds a listener with `server.listen_backlog` pending connections (SO_REUSEADDR on, as
/// `TcpListener::bind` does).
pub fn bind(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// The hyper server settings of both listeners.
fn http_builder(server: &ServerConfig) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(server.header_read_timeout_seconds));
    let keepalive = Duration::from_secs(server.http2_keepalive_seconds);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(keepalive).keep_alive_timeout(keepalive);
    builder
}

/// Paces new connections on one listener: at most `rate` a second after a burst of `4 × rate`.
/// Connections beyond that wait in the kernel's accept queue (their TLS handshakes are not
/// started), so a flood of new connections cannot take the CPU that open chats need.
struct AcceptPace {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: std::time::Instant,
}

impl AcceptPace {
    /// `None` when `rate` is 0 (no limit).
    fn new(rate: u32) -> Option<AcceptPace> {
        let rate = f64::from(rate);
        (rate > 0.0).then(|| AcceptPace {
            rate,
            burst: rate * 4.0,
            tokens: rate * 4.0,
            last: std::time::Instant::now(),
        })
    }

    /// How long to wait before the next accept (zero when a token is there); takes the token.
    fn next_delay(&mut self) -> Duration {
        self.next_delay_at(std::time::Instant::now())
    }

    fn next_delay_at(&mut self, now: std::time::Instant) -> Duration {
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.rate) }
    }
}

/// Serves one listener until `shutdown` flips, then waits (bounded) for open connections.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    filter: BoxedFilter<(Response,)>,
    surface: Surface,
    state: AppState,
    mut shutdown: watch::Receiver<bool>,
    connections_per_second: u32,
) {
    let server = &state.config.server;
    let builder = Arc::new(http_builder(server));
    let mut refusing = http_builder(server);
    refusing.http1().keep_alive(false);
    let refusing = Arc::new(refusing);
    let handshake_timeout = Duration::from_secs(server.tls_handshake_timeout_seconds);
    let limits = Limits {
        idle: Duration::from_secs(server.idle_timeout_seconds),
        max_age: Duration::from_secs(server.max_connection_age_seconds),
        grace: Duration::from_secs(server.shutdown_grace_seconds),
        one_response: false,
    };
    let cap = match surface {
        Surface::Public => ConnectionCap::new(server.public_connections_per_ip),
        Surface::Staff => None,
    };
    let numeric = Arc::new(match surface {
        Surface::Staff => NumericPaths::from_openapi(super::api::OPENAPI),
        Surface::Public => NumericPaths::default(),
    });
    // Every connection task holds a guard; none left = all connections closed.
    let connections = TaskCounter::default();
    let warp_service = warp::service(filter);
    let mut pace = AcceptPace::new(connections_per_second);
    loop {
        if let Some(delay) = pace.as_mut().map(AcceptPace::next_delay).filter(|d| !d.is_zero()) {
            state.metrics.accept_paced(surface);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = wait_for_shutdown(&mut shutdown) => break,
            }
        }
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(listener = surface.name(), error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = wait_for_shutdown(&mut shutdown) => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = state.clone();
        let warp_service = warp_service.clone();
        let numeric = Arc::clone(&numeric);
        let shutdown = shutdown.clone();
        let alive = connections.enter();
        let (slot, refused) = match &cap {
            None => (None, false),
            Some(cap) => match cap.try_acquire(peer.ip()) {
                Some(slot) => (Some(slot), false),
                None => (None, true),
            },
        };
        let builder = Arc::clone(if refused { &refusing } else { &builder });
        tokio::spawn(async move {
            let _alive = alive;
            let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::debug!(listener = surface.name(), error = %err, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    state.metrics.connection_timed_out(surface, "handshake");
                    return;
                }
            };
            let metrics = state.metrics.clone();
            if refused {
                metrics.connection_refused(surface);
                tracing::debug!(listener = surface.name(), "connection refused: too many from one address");
            }
            metrics.connection_opened(surface);
            let activity = Arc::new(Activity::default());
            let requests = Arc::clone(&activity);
            let max_body = state.config.server.max_body_bytes;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                let in_flight = requests.begin();
                req.extensions_mut().insert(PeerAddr(peer));
                if let Some(upgrade) = req.extensions_mut().remove::<OnUpgrade>() {
                    req.extensions_mut().insert(UpgradeSlot(Arc::new(Mutex::new(Some(upgrade)))));
                }
                let path = req.uri().path().to_owned();
                let query = req.uri().query().unwrap_or_default().to_owned();
                let http1 = req.version() < http::Version::HTTP_2;
                let mut warp_service = warp_service.clone();
                let state = state.clone();
                let numeric = Arc::clone(&numeric);
                async move {
                    let checked = match refused {
                        true => Err(precheck::Refusal {
                            error: super::rejection::ApiError::too_many_connections(),
                            close: true,
                        }),
                        false => precheck::check(req, max_body, &numeric).await,
                    };
                    let mut response = match checked {
                        Ok(req) => match warp_service.call(req).await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        },
                        Err(refusal) => {
                            let mut response = refusal.error.into_response();
                            if refusal.close && http1 {
                                response
                                    .headers_mut()
                                    .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
                            }
                            response
                        }
                    };
                    headers::apply(surface, &path, &query, &state, response.headers_mut());
                    state.metrics.request(surface, response.status().as_u16());
                    // The request counts as in progress until its body has been sent.
                    let response = response.map(move |body| {
                        body.map_frame(move |frame| {
                            let _ = &in_flight;
                            frame
                        })
                    });
                    Ok::<_, Infallible>(response)
                }
            });
            let connection =
                builder.serve_connection_with_upgrades(TokioIo::new(Held::new(tls, slot)), service).into_owned();
            let mut connection = std::pin::pin!(connection);
            let limits = Limits { one_response: refused, ..limits };
            let closed = conn::drive(connection.as_mut(), |c| c.graceful_shutdown(), &activity, limits, shutdown).await;
            match closed {
                Closed::Idle => metrics.connection_timed_out(surface, "idle"),
                Closed::MaxAge => metrics.connection_timed_out(surface, "max_age"),
                Closed::Normally | Closed::Shutdown => {}
            }
            metrics.connection_closed(surface);
        });
    }
    drop(listener);
    // Each connection closes itself within the grace period; this bound is a backstop.
    let grace = Duration::from_secs(state.config.server.shutdown_grace_seconds + 1);
    if tokio::time::timeout(grace, connections.idle()).await.is_err() {
        tracing::warn!(listener = surface.name(), "connections still open after the grace period; closing them");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_are_paced_after_the_burst() {
        assert!(AcceptPace::new(0).is_none(), "0 means no limit");
        let mut pace = AcceptPace::new(10).expect("pace");
        let start = pace.last;
        for n in 0..40 {
            assert_eq!(pace.next_delay_at(start), Duration::ZERO, "connection {n} is in the burst");
        }
        assert_eq!(pace.next_delay_at(start), Duration::from_millis(100));
        // After waiting that long, the next one waits one token's time again.
        let later = start + Duration::from_millis(100);
        assert_eq!(pace.next_delay_at(later), Duration::from_millis(100));
        let much_later = later + Duration::from_secs(10);
        for _ in 0..40 {
            assert_eq!(pace.next_delay_at(much_later), Duration::ZERO, "the burst refills, and no further");
        }
        assert!(pace.next_delay_at(much_later) > Duration::ZERO);
    }
}
