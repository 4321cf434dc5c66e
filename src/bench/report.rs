//! The table `parley bench chat` prints: parley, the bare relay, the ratio and the target.

use super::run::{ChatPlan, Measured, latency};
use super::stats::percentile_ms;

/// Idle memory goal per visitor connection (issue #9).
pub const IDLE_KIB_TARGET: f64 = 16.0;
pub const THROUGHPUT_RATIO_TARGET: f64 = 0.66;
pub const P99_EXTRA_MS_TARGET: f64 = 5.0;
pub const STORM_SECONDS_TARGET: f64 = 10.0;

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 { format!("{:.2}", a / b) } else { "–".into() }
}

fn verdict(met: bool, miss: String) -> String {
    if met { "met".into() } else { format!("**missed**: {miss}") }
}

pub fn print(plan: &ChatPlan, server: &Measured, relay: &Measured, accounts: usize) {
    let mut flags = format!(
        "--visitors {} --operators {} --rate {} --duration {}",
        plan.visitors,
        plan.operators,
        plan.rate,
        plan.duration.as_secs()
    );
    if plan.churn > 0.0 {
        flags.push_str(&format!(" --churn-percent {}", plan.churn));
    }
    if plan.storm {
        flags.push_str(" --storm");
    }
    println!("parley bench chat {flags}");
    println!(
        "TLS on both sides; loopback; {accounts} operator accounts; clients in this process, server and relay in \
         child processes"
    );
    println!();
    println!("| figure | parley | bare relay | parley ÷ relay | target |");
    println!("|---|---:|---:|---:|---|");
    let row = |name: &str, a: f64, b: f64, digits: usize, target: String| {
        println!("| {name} | {a:.digits$} | {b:.digits$} | {} | {target} |", ratio(a, b));
    };
    row("connections held", server.connections as f64, relay.connections as f64, 0, String::new());
    let per_conn = (server.rss_per_connection_kib(), relay.rss_per_connection_kib());
    let rss = |m: &Measured| m.end.rss_kib as f64 / 1024.0;
    row("process RSS at the end (MiB)", rss(server), rss(relay), 1, String::new());
    let memory_target = if plan.idle() {
        let over = per_conn.0 - IDLE_KIB_TARGET;
        format!("≤ {IDLE_KIB_TARGET} KiB per idle visitor: {}", verdict(over <= 0.0, format!("{over:+.1} KiB")))
    } else {
        "(with chats; the target is for idle visitors)".into()
    };
    row("RSS per connection (KiB)", per_conn.0, per_conn.1, 1, memory_target);
    let cpu = |m: &Measured| m.end.cpu_seconds - m.start.cpu_seconds;
    row("CPU seconds during the run", cpu(server), cpu(relay), 1, "(2 cores = 2 s per second)".into());
    if plan.idle() {
        return;
    }
    let per_s = |m: &Measured| m.window.acked as f64 / m.window.seconds;
    let deliveries = (server.deliveries_per_s(), relay.deliveries_per_s());
    let throughput = deliveries.0 / deliveries.1.max(f64::MIN_POSITIVE);
    row(
        "deliveries/s",
        deliveries.0,
        deliveries.1,
        0,
        format!(
            "≥ {THROUGHPUT_RATIO_TARGET} × relay: {}",
            verdict(throughput >= THROUGHPUT_RATIO_TARGET, format!("{throughput:.2} ×"))
        ),
    );
    row("acks/s", per_s(server), per_s(relay), 0, "(ack after the durable commit)".into());
    let (s, r) = (latency(&server.window), latency(&relay.window));
    row("latency p50 (ms)", s.0, r.0, 1, String::new());
    row("latency p95 (ms)", s.1, r.1, 1, String::new());
    let extra = s.2 - r.2;
    row(
        "latency p99 (ms)",
        s.2,
        r.2,
        1,
        format!(
            "≤ relay + {P99_EXTRA_MS_TARGET} ms: {}",
            verdict(extra <= P99_EXTRA_MS_TARGET, format!("+{extra:.1} ms"))
        ),
    );
    let ack99 = |m: &Measured| percentile_ms(&m.window.acks, 99.0);
    row("ack p99 (ms)", ack99(server), ack99(relay), 1, String::new());
    println!(
        "| messages lost / duplicated | {} / {} | {} / {} | | 0 / 0: {} |",
        server.lost,
        server.duplicates,
        relay.lost,
        relay.duplicates,
        verdict(server.lost == 0 && server.duplicates == 0, "see above".into())
    );
    if let (Some((back, slowest)), Some((relay_back, relay_slowest))) = (server.window.storm, relay.window.storm) {
        println!(
            "| storm: visitors resumed, slowest (s) | {back}, {slowest:.1} | {relay_back}, {relay_slowest:.1} | | \
             all in < {STORM_SECONDS_TARGET} s: {} |",
            verdict(back == plan.visitors && slowest < STORM_SECONDS_TARGET, format!("{back} in {slowest:.1} s"))
        );
    }
    for (who, m) in [("parley", server), ("bare relay", relay)] {
        if !m.errors.is_empty() {
            let mut errors: Vec<String> = m.errors.iter().map(|(code, n)| format!("{code} × {n}")).collect();
            errors.sort();
            println!("\n{who}: errors seen by the clients: {}", errors.join(", "));
        }
    }
    if relay.lost > 0 {
        println!("\nThe bare relay stores nothing, so it cannot replay what a visitor missed while away.");
    }
}
