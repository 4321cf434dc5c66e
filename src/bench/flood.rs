//! `parley bench login-flood`: chat latency with and without a flood of wrong-password sign-ins
//! (`POST /api/v1/session`) from many loopback addresses, so the per-address login limit does
//! not stop it and every attempt that gets through costs a real argon2 hash (the server's
//! configured cost). Shows whether the server's defences — paced staff connections
//! (`server.staff_connections_per_second`), bounded hashing (`auth.max_concurrent_hashes`) in the
//! idle scheduling class — keep chats from being starved.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::chat::{Scenario, Target, Window};
use super::client::{login, loopback_source, tls_connector};
use super::process::{self, ServerOptions};
use super::run::{ChatPlan, PASSWORD, latency, sign_in};
use super::stats::percentile_ms;

/// Degradation of chat p99 allowed under the flood (issue #5).
pub const P99_RATIO_TARGET: f64 = 1.5;

/// Flood answers counted by the flood process: 401, 429, 503 `busy`, anything else.
#[derive(Default)]
struct FloodCounts([AtomicU64; 4]);

impl FloodCounts {
    fn count(&self, status: Option<u16>) {
        let slot = match status {
            Some(401) => 0,
            Some(429) => 1,
            Some(503) => 2,
            _ => 3,
        };
        self.0[slot].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> [u64; 4] {
        self.0.each_ref().map(|a| a.load(Ordering::Relaxed))
    }

    fn set(&self, values: [u64; 4]) {
        for (slot, value) in self.0.iter().zip(values) {
            slot.store(value, Ordering::Relaxed);
        }
    }
}

pub async fn login_flood(plan: ChatPlan, concurrency: usize) -> Result<(), String> {
    let fd_limit = process::raise_fd_limit();
    plan.check(fd_limit)?;
    if plan.idle() {
        return Err("--rate and --operators must be above 0: the flood is measured against live chats".into());
    }
    let scratch = std::env::temp_dir().join(format!("parley-flood-{}-{}", std::process::id(), crate::util::now()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let result = run(&plan, concurrency, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// The flood, in a process of its own at the lowest CPU priority (`nice -n 19` when there is
/// `nice`): a real flood comes from the attacker's machines, so the attacker's own TLS and HTTP
/// work should not be charged to the chats measured here, on the same two cores.
struct Flood {
    child: tokio::process::Child,
    counts: Arc<FloodCounts>,
    niced: bool,
}

impl Flood {
    async fn start(staff: SocketAddr, cert: &Path, concurrency: usize) -> Result<Flood, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find the parley binary: {e}"))?;
        let niced = std::process::Command::new("nice").arg("true").status().is_ok_and(|s| s.success());
        let mut command = if niced {
            let mut c = tokio::process::Command::new("nice");
            c.args(["-n", "19"]).arg(exe);
            c
        } else {
            tokio::process::Command::new(exe)
        };
        command
            .args(["bench", "flood-clients", "--staff", &staff.to_string(), "--concurrency", &concurrency.to_string()])
            .arg("--cert")
            .arg(cert)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| format!("cannot start the flood process: {e}"))?;
        let stdout = child.stdout.take().ok_or("the flood process has no output")?;
        let counts = Arc::new(FloodCounts::default());
        let seen = Arc::clone(&counts);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let numbers: Vec<u64> = line.split_whitespace().filter_map(|n| n.parse().ok()).collect();
                if let Ok(values) = <[u64; 4]>::try_from(numbers) {
                    seen.set(values);
                }
            }
        });
        Ok(Flood { child, counts, niced })
    }
}

/// `parley bench flood-clients` (hidden, started by `login-flood`): `concurrency` wrong-password
/// sign-ins in flight at once until killed (15 minutes at most), from up to 50,000 loopback
/// addresses; prints the answers so far (401, 429, 503, other) four times a second.
pub async fn flood_clients(staff: SocketAddr, cert: &Path, concurrency: usize) -> Result<(), String> {
    process::raise_fd_limit();
    let connector = tls_connector(cert)?;
    let counts = Arc::new(FloodCounts::default());
    let next = Arc::new(AtomicU64::new(0));
    for _ in 0..concurrency {
        let (counts, next, connector) = (Arc::clone(&counts), Arc::clone(&next), connector.clone());
        tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                let user = format!("nobody-{}", uuid::Uuid::new_v4());
                let source = Some(loopback_source(n % 50_000));
                let answer = login(&connector, staff, source, &user, "wrong password guess").await;
                counts.count(answer.ok().map(|a| a.status));
            }
        });
    }
    let mut out = tokio::io::stdout();
    // Stops by itself even if the bench that started it was killed and the pipe stays open.
    let deadline = Instant::now() + Duration::from_secs(900);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let [a, b, c, d] = counts.snapshot();
        let line = format!("{a} {b} {c} {d}\n");
        if out.write_all(line.as_bytes()).await.is_err() || out.flush().await.is_err() {
            return Ok(()); // the bench has gone
        }
    }
    Ok(())
}

async fn run(plan: &ChatPlan, concurrency: usize, scratch: &Path) -> Result<(), String> {
    // The real argon2 cost, login limit and staff connection rate (the defaults).
    let options = ServerOptions { cheap_argon2: false, login_limit: None };
    let data = scratch.join("data");
    let accounts = plan.accounts();
    process::add_operators(&data, &accounts, PASSWORD, &options)?;
    let server = process::start_server(&data, &options).await?;
    let cookies = sign_in(&server.cert, server.staff, &accounts).await?;
    let connector = tls_connector(&server.cert)?;
    let target = Target { connector, public: server.public, staff: server.staff, cookies };
    let scenario = Scenario::setup(target, plan.visitors, plan.operators, plan.rate, 0.0, false).await?;
    let cpu = || process::usage(server.proc.pid()).map(|u| u.cpu_seconds);
    let before = cpu()?;
    let quiet = scenario.window(plan.duration, false).await;
    let quiet_cpu = cpu()? - before;

    let mut flood = Flood::start(server.staff, &server.cert, concurrency).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let flood_started = Instant::now();
    let first = flood.counts.snapshot();
    let before = cpu()?;
    let flooded = scenario.window(plan.duration, false).await;
    let flood_cpu = cpu()? - before;
    let seconds = flood_started.elapsed().as_secs_f64();
    let last = flood.counts.snapshot();
    let _ = flood.child.kill().await;
    let answered: [u64; 4] = std::array::from_fn(|i| last[i].saturating_sub(first[i]));
    let (lost, _) = scenario.finish().await;
    drop(server);
    let rates = (answered.iter().sum::<u64>() as f64 / seconds, answered[0] as f64 / seconds);
    print(plan, concurrency, &quiet, &flooded, (quiet_cpu, flood_cpu), (rates, answered, flood.niced), lost);
    Ok(())
}

fn print(
    plan: &ChatPlan,
    concurrency: usize,
    quiet: &Window,
    flooded: &Window,
    cpu: (f64, f64),
    flood: ((f64, f64), [u64; 4], bool),
    lost: u64,
) {
    println!(
        "parley bench login-flood --visitors {} --operators {} --rate {} --duration {} --concurrency {concurrency}",
        plan.visitors,
        plan.operators,
        plan.rate,
        plan.duration.as_secs()
    );
    println!("real argon2 cost and login limit (defaults); wrong passwords from up to 50,000 loopback addresses");
    println!();
    println!("| figure | quiet | under the flood | flood ÷ quiet | target |");
    println!("|---|---:|---:|---:|---|");
    let row = |name: &str, a: f64, b: f64, target: String| {
        let r = if a > 0.0 { format!("{:.2}", b / a) } else { "–".into() };
        println!("| {name} | {a:.1} | {b:.1} | {r} | {target} |");
    };
    let (q, f) = (latency(quiet), latency(flooded));
    row(
        "deliveries/s",
        quiet.deliveries.len() as f64 / quiet.seconds,
        flooded.deliveries.len() as f64 / flooded.seconds,
        String::new(),
    );
    row("latency p50 (ms)", q.0, f.0, String::new());
    let ratio = f.2 / q.2.max(f64::MIN_POSITIVE);
    let verdict = if ratio <= P99_RATIO_TARGET { "met".to_owned() } else { format!("**missed**: {ratio:.2} ×") };
    row("latency p99 (ms)", q.2, f.2, format!("≤ {P99_RATIO_TARGET} ×: {verdict}"));
    row("ack p99 (ms)", percentile_ms(&quiet.acks, 99.0), percentile_ms(&flooded.acks, 99.0), String::new());
    row("server CPU seconds per second", cpu.0 / quiet.seconds, cpu.1 / flooded.seconds, "(2 cores)".into());
    let ((attempts, refused), answered, niced) = flood;
    println!("| sign-in attempts/s (answered 401) | | {attempts:.0} ({refused:.0}) | | |");
    let [a, b, c, d] = answered;
    println!("| flood answers in the window: 401 / 429 / 503 busy / other | | {a} / {b} / {c} / {d} | | |");
    println!("| chat messages lost | {lost} | | | 0 |");
    println!();
    let priority = if niced { "`nice -n 19`" } else { "normal priority (no `nice` here)" };
    println!(
        "The flood runs in its own process at {priority}, standing in for the attacker's machines; \
         the server has its defaults, including `server.staff_connections_per_second`."
    );
}
