//! `parley bench login-flood`: chat latency with and without a flood of wrong-password sign-ins
//! (`POST /api/v1/session`) from many loopback addresses, so the per-address login limit does
//! not stop it and every attempt costs a real argon2 hash (the server's configured cost). Shows
//! whether bounded hashing (`auth.max_concurrent_hashes`) keeps chats from being starved.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::chat::{Scenario, Target, Window};
use super::client::{login, loopback_source, tls_connector};
use super::process::{self, ServerOptions};
use super::run::{ChatPlan, PASSWORD, latency, sign_in};
use super::stats::percentile_ms;

/// Degradation of chat p99 allowed under the flood (issue #5).
pub const P99_RATIO_TARGET: f64 = 1.5;

#[derive(Default)]
struct FloodCounts {
    refused: AtomicU64,
    limited: AtomicU64,
    other: AtomicU64,
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

async fn run(plan: &ChatPlan, concurrency: usize, scratch: &std::path::Path) -> Result<(), String> {
    // The real argon2 cost and the real per-address login limit.
    let options = ServerOptions { cheap_argon2: false, login_limit: None };
    let data = scratch.join("data");
    let accounts = plan.accounts();
    process::add_operators(&data, &accounts, PASSWORD, &options)?;
    let server = process::start_server(&data, &options).await?;
    let cookies = sign_in(&server.cert, server.staff, &accounts).await?;
    let connector = tls_connector(&server.cert)?;
    let target = Target { connector: connector.clone(), public: server.public, staff: server.staff, cookies };
    let scenario = Scenario::setup(target, plan.visitors, plan.operators, plan.rate, 0.0, false).await?;
    let cpu = || process::usage(server.proc.pid()).map(|u| u.cpu_seconds);
    let before = cpu()?;
    let quiet = scenario.window(plan.duration, false).await;
    let quiet_cpu = cpu()? - before;

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(FloodCounts::default());
    let next = Arc::new(AtomicU64::new(0));
    let mut flooders = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (stop, counts, next, connector) =
            (Arc::clone(&stop), Arc::clone(&counts), Arc::clone(&next), connector.clone());
        let staff = server.staff;
        flooders.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                let user = format!("nobody-{}", uuid::Uuid::new_v4());
                let counter =
                    match login(&connector, staff, Some(loopback_source(n % 50_000)), &user, "wrong password guess")
                        .await
                    {
                        Ok(answer) if answer.status == 401 => &counts.refused,
                        Ok(answer) if answer.status == 429 => &counts.limited,
                        _ => &counts.other,
                    };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let flood_started = Instant::now();
    let total =
        |c: &FloodCounts| [&c.refused, &c.limited, &c.other].iter().map(|a| a.load(Ordering::Relaxed)).sum::<u64>();
    let (attempts0, refused0) = (total(&counts), counts.refused.load(Ordering::Relaxed));
    let before = cpu()?;
    let flooded = scenario.window(plan.duration, false).await;
    let flood_cpu = cpu()? - before;
    let seconds = flood_started.elapsed().as_secs_f64();
    let attempts = (total(&counts) - attempts0) as f64 / seconds;
    let refused = (counts.refused.load(Ordering::Relaxed) - refused0) as f64 / seconds;
    stop.store(true, Ordering::Relaxed);
    while flooders.join_next().await.is_some() {}
    let (lost, _) = scenario.finish().await;
    drop(server);
    print(plan, concurrency, &quiet, &flooded, (quiet_cpu, flood_cpu), (attempts, refused, &counts), lost);
    Ok(())
}

fn print(
    plan: &ChatPlan,
    concurrency: usize,
    quiet: &Window,
    flooded: &Window,
    cpu: (f64, f64),
    flood: (f64, f64, &FloodCounts),
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
    let (attempts, refused, counts) = flood;
    println!("| sign-in attempts/s (answered 401) | | {attempts:.0} ({refused:.0}) | | |");
    println!(
        "| flood answers in total: 401 / 429 / other | | {} / {} / {} | | |",
        counts.refused.load(Ordering::Relaxed),
        counts.limited.load(Ordering::Relaxed),
        counts.other.load(Ordering::Relaxed)
    );
    println!("| chat messages lost | {lost} | | | 0 |");
}
