//! One connection's life after the TLS handshake: how long it may sit idle, how old it may get,
//! and its graceful close (HTTP/1.1: after the current response; HTTP/2: GOAWAY) when one of
//! those runs out or parley stops. A websocket leaves this driver at its upgrade, so an open
//! chat is never cut off by the idle timeout or the maximum age.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::ratelimit::ConnectionSlot;
use crate::shutdown::wait_for_shutdown;

/// After an idle connection is asked to close, how long it gets before it is dropped.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The time limits of one connection (from `[server]`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub idle: Duration,
    pub max_age: Duration,
    /// How long a connection asked to close (maximum age, shutdown) may take to finish.
    pub grace: Duration,
    /// Close after the first response (a refused connection).
    pub one_response: bool,
}

/// Requests in progress on one connection and since when none has been.
#[derive(Debug)]
pub struct Activity {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug)]
struct State {
    in_flight: usize,
    idle_since: Instant,
    served: u64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            state: Mutex::new(State { in_flight: 0, idle_since: Instant::now(), served: 0 }),
            changed: Notify::new(),
        }
    }
}

/// Held while a request is in progress, response body included.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Activity {
    pub fn begin(self: &Arc<Self>) -> InFlight {
        if let Ok(mut state) = self.state.lock() {
            state.in_flight += 1;
        }
        self.changed.notify_one();
        InFlight(Arc::clone(self))
    }

    /// `Some(since)` when no request is in progress; also how many were served.
    fn idle(&self) -> (Option<Instant>, u64) {
        match self.state.lock() {
            Ok(state) => ((state.in_flight == 0).then_some(state.idle_since), state.served),
            Err(_) => (None, 0),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.state.lock() {
            state.in_flight = state.in_flight.saturating_sub(1);
            state.served += 1;
            if state.in_flight == 0 {
                state.idle_since = Instant::now();
            }
        }
        self.0.changed.notify_one();
    }
}

/// Why a connection was closed by the server, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The client or the protocol ended it.
    Normally,
    Idle,
    MaxAge,
    Shutdown,
}

/// Polls `conn` to the end, asking it to close (`close`) when it has been idle too long, has
/// reached its maximum age, or parley stops; drops it if it does not finish in time.
pub async fn drive<C: Future>(
    mut conn: Pin<&mut C>,
    close: fn(Pin<&mut C>),
    activity: &Activity,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) -> Closed {
    let age_deadline = Instant::now() + limits.max_age;
    let mut closing: Option<(Closed, Instant)> = None;
    loop {
        let now = Instant::now();
        let (idle_since, served) = activity.idle();
        let deadline = match closing {
            Some((reason, until)) if now >= until => return reason,
            Some((_, until)) => until,
            None => {
                let idle_deadline = idle_since.map(|since| since + limits.idle);
                let reason = if limits.one_response && served > 0 && idle_since.is_some() {
                    Some((Closed::Normally, IDLE_CLOSE_GRACE))
                } else if idle_deadline.is_some_and(|d| now >= d) {
                    Some((Closed::Idle, IDLE_CLOSE_GRACE))
                } else if now >= age_deadline {
                    Some((Closed::MaxAge, limits.grace))
                } else {
                    None
                };
                if let Some((reason, grace)) = reason {
                    close(conn.as_mut());
                    closing = Some((reason, now + grace));
                    continue;
                }
                idle_deadline.map_or(age_deadline, |d| d.min(age_deadline))
            }
        };
        tokio::select! {
            _ = conn.as_mut() => return closing.map_or(Closed::Normally, |(reason, _)| reason),
            () = activity.changed.notified() => {}
            () = tokio::time::sleep_until(deadline) => {}
            () = wait_for_shutdown(&mut shutdown), if closing.is_none() => {
                close(conn.as_mut());
                closing = Some((Closed::Shutdown, Instant::now() + limits.grace));
            }
        }
    }
}

/// A connection's stream that also holds its place in the per-address count, so the place is
/// kept for as long as the socket lives — through a websocket upgrade too.
#[derive(Debug)]
pub struct Held<S> {
    io: S,
    _slot: Option<ConnectionSlot>,
}

impl<S> Held<S> {
    pub fn new(io: S, slot: Option<ConnectionSlot>) -> Held<S> {
        Held { io, _slot: slot }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Held<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Held<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
