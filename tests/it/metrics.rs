//! `/metrics`: the optional bearer token (`metrics.token_file`), and the process, build,
//! certificate and backlog figures.

use std::path::Path;

use parley::config::{CliOverrides, MetricsConfig, load_from_text};
use reqwest::StatusCode;

use crate::harness::{TestApp, error_code};
use crate::mail::with_an_undeliverable_transcript;

/// The `[metrics]` section as `parley serve` loads it from a file naming `token_file`.
fn metrics_section(token_file: &Path) -> Result<MetricsConfig, String> {
    let text = format!("[metrics]\ntoken_file = \"{}\"\n", token_file.display());
    let file = token_file.with_extension("toml");
    load_from_text(Some((&file, &text)), &[], &CliOverrides::default())
        .map(|config| config.metrics)
        .map_err(|e| e.to_string())
}

/// The value of the sample `name` (with its labels, as written) in a metrics text.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no sample {name} in:\n{text}"))
}

#[tokio::test]
async fn a_configured_token_is_required_to_read_the_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("metrics-token");
    let missing = metrics_section(&token_file).expect_err("a missing token file is an error");
    assert!(missing.contains("metrics.token_file"), "names the setting: {missing}");
    std::fs::write(&token_file, "s3cret-scraper-token\n").expect("write token");
    let section = metrics_section(&token_file).expect("config loads");
    let app = TestApp::spawn_with(|c| c.metrics = section).await;
    let url = app.staff("/metrics");
    let none = app.client.get(&url).send().await.expect("metrics");
    assert_eq!(error_code(none, StatusCode::UNAUTHORIZED).await, "metrics_token_required");
    let wrong = app.client.get(&url).bearer_auth("s3cret-scraper-tokem").send().await.expect("metrics");
    assert_eq!(error_code(wrong, StatusCode::UNAUTHORIZED).await, "metrics_token_required");
    let basic = app.client.get(&url).basic_auth("s3cret-scraper-token", None::<&str>).send().await.expect("metrics");
    assert_eq!(error_code(basic, StatusCode::UNAUTHORIZED).await, "metrics_token_required");
    let right = app.client.get(&url).bearer_auth("s3cret-scraper-token").send().await.expect("metrics");
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.expect("text").contains("parley_connections_open"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_process_build_certificate_and_backlogs() {
    // A mail server nobody listens on: the transcript mail stays in the outbox. An operator is
    // online (chats start only then) but takes nothing: routing is manual.
    let (app, _staff, _ws) = with_an_undeliverable_transcript().await;
    let response = app.client.get(app.staff("/metrics")).send().await.expect("metrics, open without a token");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("text");

    assert!(sample(&text, "process_resident_memory_bytes") > 1_048_576.0, "{text}");
    assert!(sample(&text, "process_open_fds") >= 3.0);
    assert!(sample(&text, "process_max_fds") >= sample(&text, "process_open_fds"));
    assert!(sample(&text, "process_cpu_seconds_total") >= 0.0);
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    let started = sample(&text, "process_start_time_seconds");
    assert!(started <= now + 1.0 && started > now - 86_400.0, "started {started}, now {now}");
    let build = format!("parley_build_info{{version=\"{}\",commit=", env!("CARGO_PKG_VERSION"));
    assert!(text.lines().any(|l| l.starts_with(&build) && l.ends_with("} 1")), "{text}");
    for listener in ["public", "staff"] {
        let left = sample(&text, &format!("parley_tls_certificate_expiry_seconds{{listener=\"{listener}\"}}"));
        let days = left / 86_400.0;
        assert!(days > 390.0 && days <= 397.0, "{listener}: {days} days left");
    }
    assert_eq!(sample(&text, "parley_queue_length"), 1.0, "the chat waits in the queue");
    assert_eq!(sample(&text, "parley_mail_outbox_pending"), 1.0, "the transcript waits in the outbox");
    // Every family is announced once, with HELP and TYPE (the exposition format).
    let mut families = std::collections::HashSet::new();
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        assert!(families.insert(line.to_owned()), "{line} twice");
    }
    app.stop().await;
}
