//! Logging setup and the Prometheus metrics served at `/metrics` on the staff listener.

mod process;

pub use process::Process;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{LogConfig, LogFormat};

/// Installs the global tracing subscriber. `RUST_LOG`, when set, wins over the config.
pub fn init_logging(config: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // A second init (tests, or a subcommand after serve) keeps the first subscriber.
    drop(result);
}

/// Commit latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0];

#[derive(Default)]
struct Inner {
    connections_open: [AtomicI64; 2],
    connections_total: [AtomicU64; 2],
    accepts_paced: [AtomicU64; 2],
    connections_refused: [AtomicU64; 2],
    /// Per listener: TLS handshake, idle, maximum age.
    connections_timed_out: [[AtomicU64; 3]; 2],
    websockets_open: [AtomicI64; 2],
    requests: Mutex<BTreeMap<(usize, u16), u64>>,
    chats_active: AtomicI64,
    commit_buckets: [AtomicU64; BUCKETS.len()],
    commit_count: AtomicU64,
    commit_sum_micros: AtomicU64,
    commit_failures: AtomicU64,
    committed_writes: AtomicU64,
    logins_failed: AtomicU64,
    visitor_connections_limited: AtomicU64,
    backups_ok: AtomicU64,
    backups_failed: AtomicU64,
    backup_last_success: AtomicI64,
    retention_purged: [AtomicU64; 3],
    wal_truncate_failures: AtomicU64,
}

/// Which listener a figure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Public = 0,
    Staff = 1,
}

impl Surface {
    pub fn name(self) -> &'static str {
        match self {
            Surface::Public => "public",
            Surface::Staff => "staff",
        }
    }
}

const SURFACES: [Surface; 2] = [Surface::Public, Surface::Staff];
const TIMEOUTS: [&str; 3] = ["handshake", "idle", "max_age"];

#[derive(Clone, Default)]
pub struct Metrics(Arc<Inner>);

impl Metrics {
    pub fn connection_opened(&self, surface: Surface) {
        self.0.connections_open[surface as usize].fetch_add(1, Ordering::Relaxed);
        self.0.connections_total[surface as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A new connection had to wait for `server.staff_connections_per_second`.
    pub fn accept_paced(&self, surface: Surface) {
        self.0.accepts_paced[surface as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A connection over `server.public_connections_per_ip`, answered 429 and closed.
    pub fn connection_refused(&self, surface: Surface) {
        self.0.connections_refused[surface as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A connection closed by a timeout: `handshake`, `idle` or `max_age`.
    pub fn connection_timed_out(&self, surface: Surface, reason: &str) {
        if let Some(i) = TIMEOUTS.iter().position(|r| *r == reason) {
            self.0.connections_timed_out[surface as usize][i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn connection_closed(&self, surface: Surface) {
        self.0.connections_open[surface as usize].fetch_sub(1, Ordering::Relaxed);
    }

    pub fn websocket_opened(&self, surface: Surface) {
        self.0.websockets_open[surface as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn websocket_closed(&self, surface: Surface) {
        self.0.websockets_open[surface as usize].fetch_sub(1, Ordering::Relaxed);
    }

    pub fn request(&self, surface: Surface, status: u16) {
        if let Ok(mut map) = self.0.requests.lock() {
            *map.entry((surface as usize, status)).or_default() += 1;
        }
    }

    pub fn login_failed(&self) {
        self.0.logins_failed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn visitor_connection_limited(&self) {
        self.0.visitor_connections_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// A backup run ended; `finished_at` is when, for a success.
    pub fn backup_finished(&self, ok: bool, finished_at: Option<i64>) {
        let counter = if ok { &self.0.backups_ok } else { &self.0.backups_failed };
        counter.fetch_add(1, Ordering::Relaxed);
        if ok {
            self.set_backup_last_success(finished_at);
        }
    }

    /// The newest successful backup (from the database, which also knows those made by
    /// `parley backup create`).
    pub fn set_backup_last_success(&self, at: Option<i64>) {
        if let Some(at) = at {
            self.0.backup_last_success.fetch_max(at, Ordering::Relaxed);
        }
    }

    /// Rows a retention purge deleted: chats, offline messages, e-mails.
    pub fn retention_purged(&self, chats: u64, offline: u64, mails: u64) {
        for (counter, n) in self.0.retention_purged.iter().zip([chats, offline, mails]) {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A WAL checkpoint after an erasure or purge could not truncate the WAL (readers held it).
    pub fn wal_truncate_failed(&self) {
        self.0.wal_truncate_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_chats_active(&self, count: i64) {
        self.0.chats_active.store(count, Ordering::Relaxed);
    }

    pub fn record_commit(&self, elapsed: Duration, writes: usize, ok: bool) {
        let inner = &self.0;
        if !ok {
            inner.commit_failures.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let seconds = elapsed.as_secs_f64();
        for (bucket, limit) in inner.commit_buckets.iter().zip(BUCKETS) {
            if seconds <= limit {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        inner.commit_count.fetch_add(1, Ordering::Relaxed);
        inner.commit_sum_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        inner.committed_writes.fetch_add(writes as u64, Ordering::Relaxed);
    }

    /// Prometheus text exposition format, version 0.0.4: each family's HELP and TYPE lines
    /// directly followed by its samples.
    pub fn render(&self) -> String {
        let inner = &self.0;
        let load = |a: &AtomicI64| a.load(Ordering::Relaxed);
        let loadu = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::with_capacity(2048);
        let per_listener = |out: &mut String, name: &str, kind: &str, help: &str, value: &dyn Fn(usize) -> i64| {
            family(out, name, kind, help);
            for surface in SURFACES {
                let _ = writeln!(out, "{name}{{listener=\"{}\"}} {}", surface.name(), value(surface as usize));
            }
        };
        per_listener(&mut out, "parley_connections_open", "gauge", "Open TLS connections per listener.", &|i| {
            load(&inner.connections_open[i])
        });
        per_listener(&mut out, "parley_connections_total", "counter", "TLS connections accepted per listener.", &|i| {
            loadu(&inner.connections_total[i]) as i64
        });
        per_listener(
            &mut out,
            "parley_accepts_paced_total",
            "counter",
            "New connections that waited for the listener's connection rate (server.staff_connections_per_second).",
            &|i| loadu(&inner.accepts_paced[i]) as i64,
        );
        per_listener(
            &mut out,
            "parley_connections_refused_total",
            "counter",
            "Connections refused (429 too_many_connections) by the per-address cap (server.public_connections_per_ip).",
            &|i| loadu(&inner.connections_refused[i]) as i64,
        );
        let help = "Connections closed by a timeout, by listener and reason (handshake, idle, max_age).";
        family(&mut out, "parley_connections_timed_out_total", "counter", help);
        for surface in SURFACES {
            for (reason, counter) in TIMEOUTS.iter().zip(&inner.connections_timed_out[surface as usize]) {
                let l = surface.name();
                let _ = writeln!(
                    out,
                    "parley_connections_timed_out_total{{listener=\"{l}\",reason=\"{reason}\"}} {}",
                    loadu(counter)
                );
            }
        }
        per_listener(&mut out, "parley_websockets_open", "gauge", "Open websockets per listener.", &|i| {
            load(&inner.websockets_open[i])
        });
        family(&mut out, "parley_http_requests_total", "counter", "HTTP responses by listener and status code.");
        if let Ok(map) = inner.requests.lock() {
            for ((surface, status), count) in map.iter() {
                let l = SURFACES[*surface].name();
                let _ = writeln!(out, "parley_http_requests_total{{listener=\"{l}\",status=\"{status}\"}} {count}");
            }
        }
        let mut single = |name: &str, kind: &str, help: &str, value: i64| {
            family(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        };
        single("parley_chats_active", "gauge", "Conversations currently open.", load(&inner.chats_active));
        single("parley_logins_failed_total", "counter", "Refused staff logins.", loadu(&inner.logins_failed) as i64);
        single(
            "parley_visitor_connections_limited_total",
            "counter",
            "Widget connections refused by the per-address limit.",
            loadu(&inner.visitor_connections_limited) as i64,
        );
        single(
            "parley_db_commit_failures_total",
            "counter",
            "Database commits that failed.",
            loadu(&inner.commit_failures) as i64,
        );
        single(
            "parley_db_writes_total",
            "counter",
            "Writes committed by the writer task.",
            loadu(&inner.committed_writes) as i64,
        );
        family(&mut out, "parley_backups_total", "counter", "Backup runs of this server by result.");
        let _ = writeln!(out, "parley_backups_total{{result=\"ok\"}} {}", loadu(&inner.backups_ok));
        let _ = writeln!(out, "parley_backups_total{{result=\"failed\"}} {}", loadu(&inner.backups_failed));
        let last_backup = load(&inner.backup_last_success);
        let help = "Unix time the newest successful backup finished (0: none yet).";
        family(&mut out, "parley_backup_last_success_timestamp", "gauge", help);
        let _ = writeln!(out, "parley_backup_last_success_timestamp {last_backup}");
        family(
            &mut out,
            "parley_wal_truncate_failures_total",
            "counter",
            "Checkpoints after an erasure or purge that could not truncate the WAL (erased bytes may remain there until the next one).",
        );
        let _ = writeln!(out, "parley_wal_truncate_failures_total {}", loadu(&inner.wal_truncate_failures));
        family(&mut out, "parley_retention_purged_total", "counter", "Rows deleted by retention purges, by category.");
        for (category, counter) in ["chats", "offline_requests", "mails"].iter().zip(&inner.retention_purged) {
            let _ = writeln!(out, "parley_retention_purged_total{{category=\"{category}\"}} {}", loadu(counter));
        }
        family(&mut out, "parley_db_commit_seconds", "histogram", "Time to commit one group of database writes.");
        for (bucket, limit) in inner.commit_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(out, "parley_db_commit_seconds_bucket{{le=\"{limit}\"}} {}", loadu(bucket));
        }
        let count = loadu(&inner.commit_count);
        let sum = loadu(&inner.commit_sum_micros) as f64 / 1e6;
        let _ = writeln!(out, "parley_db_commit_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "parley_db_commit_seconds_sum {sum}");
        let _ = writeln!(out, "parley_db_commit_seconds_count {count}");
        out
    }
}

/// Figures gathered when `/metrics` is read (not counted as events happen).
#[derive(Debug, Default)]
pub struct Live {
    pub queued_chats: i64,
    pub outbox_pending: i64,
    /// The served certificate's notAfter, Unix time.
    pub certificate_not_after: Option<i64>,
    pub now: i64,
}

/// Appends the build, the live figures and the process figures to a `render()` text.
pub fn render_live(out: &mut String, live: &Live) {
    let help = "Build of this parley: version and git commit (\"unknown\" when not built from git).";
    family(out, "parley_build_info", "gauge", help);
    let commit = option_env!("PARLEY_GIT_COMMIT").unwrap_or("unknown");
    let _ = writeln!(out, "parley_build_info{{version=\"{}\",commit=\"{commit}\"}} 1", env!("CARGO_PKG_VERSION"));
    family(out, "parley_queue_length", "gauge", "Chats waiting in the queue for an operator.");
    let _ = writeln!(out, "parley_queue_length {}", live.queued_chats);
    family(out, "parley_mail_outbox_pending", "gauge", "E-mails in the outbox not yet sent (retried with back-off).");
    let _ = writeln!(out, "parley_mail_outbox_pending {}", live.outbox_pending);
    if let Some(not_after) = live.certificate_not_after {
        let help = "Seconds until the listener's TLS certificate expires (notAfter; negative: expired).";
        family(out, "parley_tls_certificate_expiry_seconds", "gauge", help);
        for surface in SURFACES {
            let seconds = not_after - live.now;
            let _ = writeln!(out, "parley_tls_certificate_expiry_seconds{{listener=\"{}\"}} {seconds}", surface.name());
        }
    }
    Process::read().render(out);
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_counts_requests_and_commits() {
        let m = Metrics::default();
        m.request(Surface::Staff, 404);
        m.request(Surface::Staff, 404);
        m.record_commit(Duration::from_millis(3), 5, true);
        let text = m.render();
        assert!(text.contains("parley_http_requests_total{listener=\"staff\",status=\"404\"} 2"), "{text}");
        assert!(text.contains("parley_db_commit_seconds_count 1"), "{text}");
        assert!(text.contains("parley_db_commit_seconds_bucket{le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("parley_db_commit_seconds_bucket{le=\"0.001\"} 0"), "{text}");
        assert!(text.contains("parley_db_writes_total 5"), "{text}");
    }

    #[test]
    fn render_counts_backups() {
        let m = Metrics::default();
        m.backup_finished(true, Some(1_700_000_000));
        m.backup_finished(false, None);
        m.backup_finished(false, None);
        m.set_backup_last_success(Some(1_600_000_000));
        let text = m.render();
        assert!(text.contains("parley_backups_total{result=\"ok\"} 1"), "{text}");
        assert!(text.contains("parley_backups_total{result=\"failed\"} 2"), "{text}");
        assert!(text.contains("parley_backup_last_success_timestamp 1700000000"), "an older time does not go back");
        m.retention_purged(3, 0, 2);
        let text = m.render();
        assert!(text.contains("parley_retention_purged_total{category=\"chats\"} 3"), "{text}");
        assert!(text.contains("parley_retention_purged_total{category=\"mails\"} 2"), "{text}");
    }
}
