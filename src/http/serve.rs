//! Our own accept loop (warp 0.4 has no TLS): TCP accept → rustls handshake → hyper auto
//! (HTTP/1.1 + h2, with upgrades) around `warp::service`, wrapped with the peer address,
//! security headers and request metrics. Stops accepting on shutdown and lets open
//! connections finish within the grace period.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::headers;
use crate::app::{AppState, wait_for_shutdown};
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

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
    let graceful = GracefulShutdown::new();
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
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::debug!(listener = surface.name(), error = %err, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let metrics = state.metrics.clone();
            metrics.connection_opened(surface);
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(PeerAddr(peer));
                if let Some(upgrade) = req.extensions_mut().remove::<OnUpgrade>() {
                    req.extensions_mut().insert(UpgradeSlot(Arc::new(Mutex::new(Some(upgrade)))));
                }
                let path = req.uri().path().to_owned();
                let query = req.uri().query().unwrap_or_default().to_owned();
                let mut warp_service = warp_service.clone();
                let state = state.clone();
                async move {
                    let mut response = match warp_service.call(req).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    };
                    headers::apply(surface, &path, &query, &state, response.headers_mut());
                    state.metrics.request(surface, response.status().as_u16());
                    Ok::<_, Infallible>(response)
                }
            });
            let builder = Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service).into_owned();
            if let Err(err) = watcher.watch(connection).await {
                tracing::debug!(listener = surface.name(), error = %err, "connection ended with an error");
            }
            metrics.connection_closed(surface);
        });
    }
    drop(listener);
    let grace = Duration::from_secs(state.config.server.shutdown_grace_seconds);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
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
