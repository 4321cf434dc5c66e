//! `parley bench chat`: the same clients against the real server (a child process on a scratch
//! data directory, or one already running on loopback with `--target`) and then against the bare
//! relay, each measured from /proc; prints a table with the ratios and the targets.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::chat::{MAX_CLIENT_RATE, Scenario, Target, Window};
use super::client::{login, loopback_source, tls_connector};
use super::process::{self, ServerOptions, Usage};
use super::stats::{Counters, percentile_ms};

/// Password of the benchmark's operator accounts (scratch data only).
pub const PASSWORD: &str = "bench-operator-passphrase-7f3k";
/// Operator sockets per account (they share the account's chats). Few chats per account keep
/// the `mine` frame under the 64 KiB write buffer (see docs/performance.md).
const SOCKETS_PER_ACCOUNT: usize = 10;

pub struct ChatPlan {
    pub visitors: usize,
    pub operators: usize,
    pub rate: f64,
    pub duration: Duration,
    pub churn: f64,
    pub storm: bool,
}

impl ChatPlan {
    /// Idle: no messages, so visitors only connect (the memory figure).
    pub fn idle(&self) -> bool {
        self.rate <= 0.0 || self.operators == 0
    }

    pub fn check(&self, fd_limit: u64) -> Result<(), String> {
        let per_client = self.rate / (self.visitors + self.operators).max(1) as f64;
        if per_client > MAX_CLIENT_RATE {
            return Err(format!(
                "--rate {} over {} clients is {per_client:.1} messages/s each; the server allows 10 frames/s \
                 per connection, the bench sends at most {MAX_CLIENT_RATE}: add --visitors or lower --rate",
                self.rate,
                self.visitors + self.operators
            ));
        }
        if !self.idle() && self.visitors == 0 {
            return Err("--visitors must be at least 1 to send messages".into());
        }
        let needed = (self.visitors + self.operators) as u64 + 256;
        if needed > fd_limit {
            return Err(format!(
                "{needed} file descriptors are needed but the limit is {fd_limit}: raise it (ulimit -n, or \
                 LimitNOFILE=) or use fewer clients"
            ));
        }
        Ok(())
    }

    pub fn accounts(&self) -> Vec<String> {
        if self.idle() {
            return Vec::new();
        }
        (0..self.operators.div_ceil(SOCKETS_PER_ACCOUNT)).map(|i| format!("bench-op-{i}")).collect()
    }
}

/// What one side of the comparison measured.
pub struct Measured {
    pub connections: u64,
    pub window: Window,
    pub base: Usage,
    pub start: Usage,
    pub end: Usage,
    pub lost: u64,
    pub duplicates: u64,
    pub errors: HashMap<String, u64>,
}

impl Measured {
    pub fn deliveries_per_s(&self) -> f64 {
        self.window.deliveries.len() as f64 / self.window.seconds
    }

    pub fn rss_per_connection_kib(&self) -> f64 {
        self.end.rss_kib.saturating_sub(self.base.rss_kib) as f64 / (self.connections.max(1) as f64)
    }
}

/// Signs each account in from its own loopback address (the login limit is per address).
pub async fn sign_in(target_cert: &Path, staff: SocketAddr, accounts: &[String]) -> Result<Vec<String>, String> {
    let connector = tls_connector(target_cert)?;
    let mut cookies = Vec::new();
    for (i, name) in accounts.iter().enumerate() {
        let answer = login(&connector, staff, Some(loopback_source(60_000 + i)), name, PASSWORD).await?;
        cookies.push(answer.cookie.ok_or_else(|| format!("signing in as {name} failed with HTTP {}", answer.status))?);
    }
    Ok(cookies)
}

/// Runs the clients against one target and measures the process `pid`.
pub async fn measure(target: Target, pid: u32, plan: &ChatPlan) -> Result<Measured, String> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = process::usage(pid)?;
    let scenario = Scenario::setup(target, plan.visitors, plan.operators, plan.rate, plan.churn, plan.idle()).await?;
    let connections = Counters::get(&scenario.shared.counters.connected);
    let start = process::usage(pid)?;
    let window = scenario.window(plan.duration, plan.storm && !plan.idle()).await;
    let end = process::usage(pid)?;
    let duplicates = Counters::get(&scenario.shared.counters.duplicates);
    let errors = scenario.shared.error_codes.lock().map(|e| e.clone()).unwrap_or_default();
    let (lost, _) = if plan.idle() { (0, 0) } else { scenario.finish().await };
    Ok(Measured { connections, window, base, start, end, lost, duplicates, errors })
}

/// A running server to measure instead of starting one: `--target` and friends.
pub struct External {
    pub public: SocketAddr,
    pub staff: SocketAddr,
    pub data_dir: PathBuf,
    pub pid: u32,
}

/// Parses `https://127.0.0.1:PORT` (loopback only).
pub fn loopback_url(flag: &str, url: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = url
        .strip_prefix("https://")
        .map(|rest| rest.trim_end_matches('/'))
        .and_then(|rest| rest.parse().ok())
        .ok_or_else(|| format!("{flag} {url}: give https://IP:PORT, for example https://127.0.0.1:9443"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{flag} {url}: the benchmark runs on loopback only (127.0.0.1 or ::1)"));
    }
    Ok(addr)
}

pub async fn chat(plan: ChatPlan, external: Option<External>) -> Result<(), String> {
    let fd_limit = process::raise_fd_limit();
    plan.check(fd_limit)?;
    let scratch = std::env::temp_dir().join(format!("parley-bench-{}-{}", std::process::id(), crate::util::now()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let result = compare(&plan, external, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let (server, relay, accounts) = result?;
    super::report::print(&plan, &server, &relay, accounts);
    Ok(())
}

async fn compare(
    plan: &ChatPlan,
    external: Option<External>,
    scratch: &Path,
) -> Result<(Measured, Measured, usize), String> {
    let accounts = plan.accounts();
    let options = ServerOptions { cheap_argon2: true, login_limit: Some(1_000_000) };
    let (server, cert, key, public, staff, pid) = match external {
        Some(e) => {
            process::add_operators(&e.data_dir, &accounts, PASSWORD, &options)?;
            let tls = e.data_dir.join("tls");
            (None, tls.join("cert.pem"), tls.join("key.pem"), e.public, e.staff, e.pid)
        }
        None => {
            let data = scratch.join("data");
            process::add_operators(&data, &accounts, PASSWORD, &options)?;
            let server = process::start_server(&data, &options).await?;
            let (cert, key, public, staff, pid) =
                (server.cert.clone(), server.key.clone(), server.public, server.staff, server.proc.pid());
            (Some(server), cert, key, public, staff, pid)
        }
    };
    eprintln!("parley: {} visitors, {} operator sockets…", plan.visitors, plan.operators);
    let cookies = sign_in(&cert, staff, &accounts).await?;
    let target = Target { connector: tls_connector(&cert)?, public, staff, cookies };
    let measured = measure(target, pid, plan).await?;
    drop(server);
    eprintln!("bare relay: the same clients…");
    let (relay, addr) = process::start_relay(&cert, &key, scratch).await?;
    let cookies = accounts.iter().map(|a| format!("__Host-parley={a}")).collect();
    let target = Target { connector: tls_connector(&cert)?, public: addr, staff: addr, cookies };
    let bare = measure(target, relay.pid(), plan).await?;
    drop(relay);
    Ok((measured, bare, accounts.len()))
}

/// Percentiles of a window in ms: (p50, p95, p99).
pub fn latency(window: &Window) -> (f64, f64, f64) {
    let d = &window.deliveries;
    (percentile_ms(d, 50.0), percentile_ms(d, 95.0), percentile_ms(d, 99.0))
}
