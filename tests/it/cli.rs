//! The `parley` binary's operational commands.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{client_trusting, test_config};

pub const BIN: &str = env!("CARGO_BIN_EXE_parley");

pub fn parley(args: &[&str], data_dir: &Path, stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("PARLEY_AUTH__ARGON2_MEMORY_KIB", "64")
        .env("PARLEY_AUTH__ARGON2_ITERATIONS", "1")
        .env_remove("PARLEY_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run parley");
    if let Some(input) = stdin {
        child.stdin.as_mut().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait")
}

pub fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn configtest_names_the_key_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[server]\nstaff_addr = \"127.0.0.1:9000\"\n").expect("write");
    let output = Command::new(BIN)
        .args(["configtest", "--config"])
        .arg(&good)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("127.0.0.1:9000"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nstaff_addr = \"127.0.0.1:9000\"\n\n[auth]\nsession_idle_minute = 5\n")
        .expect("write");
    let output = Command::new(BIN).args(["configtest", "--config"]).arg(&bad).output().expect("run");
    assert!(!output.status.success());
    let message = text(&output);
    assert!(message.contains("auth.session_idle_minute") && message.contains("line 5"), "{message}");

    let missing = Command::new(BIN).args(["configtest", "--config", "/nonexistent/parley.toml"]).output().expect("run");
    assert!(!missing.status.success());
    assert!(text(&missing).contains("/nonexistent/parley.toml"));
}

#[tokio::test]
async fn user_commands_manage_accounts_that_can_sign_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let added = parley(
        &["user", "add", "Ivy", "--role", "supervisor", "--display-name", "Ivy Jones", "--password-stdin"],
        data,
        Some("a perfectly long passphrase\n"),
    );
    assert!(added.status.success(), "{}", text(&added));
    let generated = parley(&["user", "add", "jack", "--role", "operator"], data, None);
    assert!(generated.status.success(), "{}", text(&generated));
    let password =
        text(&generated).lines().find_map(|l| l.split(": ").nth(1).map(str::to_owned)).expect("password printed");
    assert_eq!(password.len(), 20);

    let duplicate = parley(&["user", "add", "ivy", "--role", "operator"], data, None);
    assert!(!duplicate.status.success());
    assert!(text(&duplicate).contains("already exists"), "{}", text(&duplicate));
    let weak = parley(&["user", "add", "kim", "--role", "operator", "--password-stdin"], data, Some("short\n"));
    assert!(text(&weak).contains("at least 12"), "{}", text(&weak));
    let bad_role = parley(&["user", "add", "kim", "--role", "wizard"], data, None);
    assert!(text(&bad_role).contains("administrator"), "lists the roles: {}", text(&bad_role));

    let list = parley(&["user", "list"], data, None);
    let listing = text(&list);
    assert!(listing.contains("ivy") && listing.contains("Ivy Jones") && listing.contains("jack"), "{listing}");
    assert!(!listing.contains("kim"), "refused accounts were not created");

    let app = parley::Application::build(test_config(data)).await.expect("app");
    let client = client_trusting(&data.join("tls/cert.pem"));
    let login = |name: &'static str, password: String| {
        let client = client.clone();
        let url = format!("https://{}/api/v1/session", app.staff_addr());
        async move {
            client
                .post(url)
                .json(&json!({ "username": name, "password": password }))
                .send()
                .await
                .expect("login")
                .status()
        }
    };
    assert_eq!(login("ivy", "a perfectly long passphrase".into()).await, StatusCode::OK);
    assert_eq!(login("jack", password.clone()).await, StatusCode::OK);

    let reset = parley(&["user", "reset-password", "jack"], data, None);
    assert!(reset.status.success(), "{}", text(&reset));
    let new_password = text(&reset).rsplit(": ").next().map(|s| s.trim().to_owned()).expect("new password");
    assert_eq!(login("jack", password).await, StatusCode::UNAUTHORIZED, "old password stops working");
    assert_eq!(login("jack", new_password).await, StatusCode::OK);

    let disabled = parley(&["user", "disable", "ivy"], data, None);
    assert!(disabled.status.success(), "{}", text(&disabled));
    assert_eq!(login("ivy", "a perfectly long passphrase".into()).await, StatusCode::UNAUTHORIZED);
    let unknown = parley(&["user", "disable", "nobody"], data, None);
    assert!(!unknown.status.success() && text(&unknown).contains("no user named"));
    app.stop().await;
}

#[test]
fn every_command_has_help_with_an_example() {
    for args in [
        vec!["serve", "--help"],
        vec!["configtest", "--help"],
        vec!["healthcheck", "--help"],
        vec!["user", "add", "--help"],
        vec!["user", "disable", "--help"],
        vec!["user", "reset-password", "--help"],
    ] {
        let output = Command::new(BIN).args(&args).output().expect("run");
        assert!(output.status.success(), "{args:?}");
        assert!(text(&output).contains("xample"), "{args:?} has an example: {}", text(&output));
    }
}

#[test]
fn commands_racing_to_create_the_database_all_succeed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("fresh");
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(BIN)
                .args(["user", "add", &format!("racer{i}"), "--role", "operator", "--data-dir"])
                .arg(&data)
                .env("PARLEY_AUTH__ARGON2_MEMORY_KIB", "64")
                .env("PARLEY_AUTH__ARGON2_ITERATIONS", "1")
                .env_remove("PARLEY_CONFIG")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run parley")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("wait");
        assert!(output.status.success(), "{}", text(&output));
    }
    let list = parley(&["user", "list"], &data, None);
    assert_eq!(text(&list).lines().filter(|l| l.starts_with("racer")).count(), 4, "{}", text(&list));
}

#[test]
fn bench_storage_prints_both_rates_and_their_ratio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args(["bench", "storage", "--messages", "300", "--concurrency", "8"])
        .env("TMPDIR", dir.path())
        .output()
        .expect("run parley");
    let printed = text(&out);
    assert!(out.status.success(), "{printed}");
    let rate = |label: &str| -> f64 {
        printed
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split_whitespace().rev().nth(1).or(l.split_whitespace().last()))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {label} figure in {printed}"))
    };
    assert!(rate("encrypted") > 0.0 && rate("plain") > 0.0, "{printed}");
    assert!(printed.contains("ratio encrypted / plain"), "{printed}");
    // The scratch database (in the temp directory) is removed afterwards.
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}
