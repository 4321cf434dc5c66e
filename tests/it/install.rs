//! Installation and operations (issue #15, points 9–15): `configtest` checks what `serve`
//! needs, a lost or damaged database is refused with the ways on, the shipped configuration,
//! `healthcheck --staff-addr`, `version --verbose` and a closed standard output.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{BIN, parley, text};
use crate::harness::test_config;

/// `parley ARGS` with the test's cheap password hashing and no inherited config.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("PARLEY_AUTH__ARGON2_MEMORY_KIB", "64")
        .env("PARLEY_AUTH__ARGON2_ITERATIONS", "1")
        .env_remove("PARLEY_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn configtest(config: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["configtest", "--config", config.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    command(&args).output().expect("run configtest")
}

/// Waits for a child to exit by itself; a child still running at the deadline is killed and
/// reported as such (a `serve` that started when it should have refused).
fn exits_within(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("output");
    panic!("still running after {limit:?}, so it did not refuse: {}", text(&output));
}

fn serve(data: &Path) -> Output {
    let child = command(&["serve", "--public-addr", "127.0.0.1:0", "--staff-addr", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .spawn()
        .expect("spawn serve");
    exits_within(child, Duration::from_secs(30))
}

fn self_signed() -> (String, String) {
    let pair = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    (pair.cert.pem(), pair.signing_key.serialize_pem())
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").expect("proc").uid() == 0
}

#[test]
fn configtest_checks_the_certificate_key_pair() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ((cert_a, key_a), (_, key_b)) = (self_signed(), self_signed());
    for (name, pem) in [("a.pem", &cert_a), ("a.key", &key_a), ("b.key", &key_b)] {
        std::fs::write(dir.path().join(name), pem).expect("write pem");
    }
    let data = dir.path().join("data");
    let write_config = |key: &str| {
        let path = dir.path().join(format!("config-{key}.toml"));
        let file = format!(
            "[server]\ndata_dir = \"{}\"\n\n[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            data.display(),
            dir.path().join("a.pem").display(),
            dir.path().join(key).display()
        );
        std::fs::write(&path, file).expect("config");
        path
    };
    let good = configtest(&write_config("a.key"), &[]);
    assert!(good.status.success(), "{}", text(&good));
    assert!(text(&good).contains("the key belongs to the certificate"), "{}", text(&good));

    let mismatched = configtest(&write_config("b.key"), &[]);
    let message = text(&mismatched);
    assert!(!mismatched.status.success(), "a key of another certificate passed: {message}");
    assert!(message.contains("tls.") && message.contains("does not match"), "{message}");

    let missing = configtest(&write_config("nonexistent.key"), &[]);
    assert!(!missing.status.success(), "{}", text(&missing));
    assert!(text(&missing).contains("nonexistent.key"), "{}", text(&missing));
}

#[test]
fn configtest_checks_directories_as_the_service_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    // The service user must be able to enter the parents too; configtest checks that as well.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).expect("chmod");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o500)).expect("chmod");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[server]\ndata_dir = \"{}\"\n", data.display())).expect("config");
    // As root the check is for the service user (here `nobody`, who owns nothing); otherwise for us.
    let user: &[&str] = if is_root() { &["--user", "nobody"] } else { &[] };
    let refused = configtest(&config, user);
    let message = text(&refused);
    assert!(!refused.status.success(), "a read-only data directory passed: {message}");
    assert!(message.contains("server.data_dir") && message.contains("not writable"), "{message}");

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    if is_root() {
        let nobody = Command::new("id").args(["-u", "nobody"]).output().expect("id");
        let uid: u32 = String::from_utf8_lossy(&nobody.stdout).trim().parse().expect("uid of nobody");
        std::os::unix::fs::chown(&data, Some(uid), None).expect("chown");
    }
    let accepted = configtest(&config, user);
    assert!(accepted.status.success(), "{}", text(&accepted));
    let expected = if is_root() { "writable by `nobody` (checked from owner and mode)" } else { "checked by writing" };
    assert!(text(&accepted).contains(expected), "{}", text(&accepted));
}

#[test]
fn a_misspelt_log_level_is_refused_by_configtest_and_serve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    for level in ["warning", "infoo"] {
        let config = dir.path().join("config.toml");
        std::fs::write(&config, format!("[server]\ndata_dir = \"{}\"\n\n[log]\nlevel = \"{level}\"\n", data.display()))
            .expect("config");
        let checked = configtest(&config, &[]);
        let message = text(&checked);
        assert!(!checked.status.success(), "{level} passed: {message}");
        assert!(message.contains("log.level") && message.contains("line 5") && message.contains("warn"), "{message}");
        let child = command(&["serve", "--public-addr", "127.0.0.1:0", "--staff-addr", "127.0.0.1:0", "--config"])
            .arg(&config)
            .spawn()
            .expect("spawn");
        let served = exits_within(child, Duration::from_secs(30));
        assert!(!served.status.success() && text(&served).contains("log.level"), "{}", text(&served));
    }
}

/// A data directory made by `parley init`: key, certificate, database, administrator.
fn initialised() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let init = parley(&["init"], dir.path(), None);
    assert!(init.status.success(), "{}", text(&init));
    assert!(dir.path().join("kek.key").exists() && dir.path().join("parley.db").exists());
    dir
}

fn remove_database(data: &Path) {
    for name in ["parley.db", "parley.db-wal", "parley.db-shm"] {
        let _ = std::fs::remove_file(data.join(name));
    }
}

fn assert_lost_refusal(output: &Output) {
    let message = text(output);
    assert!(!output.status.success(), "{message}");
    assert!(message.contains("parley backup restore") && message.contains("parley init --force"), "{message}");
}

#[test]
fn a_missing_database_beside_a_key_is_refused() {
    let dir = initialised();
    remove_database(dir.path());
    assert_lost_refusal(&serve(dir.path()));
    assert!(!dir.path().join("parley.db").exists(), "serve made no new database");
    assert_lost_refusal(&parley(&["user", "list"], dir.path(), None));
    assert_lost_refusal(&parley(&["init"], dir.path(), None));
}

#[test]
fn an_empty_database_beside_a_key_is_refused_and_init_force_starts_again() {
    let dir = initialised();
    let data = dir.path();
    let old_key = std::fs::read(data.join("kek.key")).expect("key");
    remove_database(data);
    std::fs::write(data.join("parley.db"), b"").expect("zero-byte database");
    assert_lost_refusal(&serve(data));
    assert_eq!(std::fs::metadata(data.join("parley.db")).expect("db").len(), 0, "left as it was");

    let forced = parley(&["init", "--force"], data, None);
    assert!(forced.status.success(), "{}", text(&forced));
    let aside: Vec<_> = std::fs::read_dir(data)
        .expect("list")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("kek.key.replaced-"))
        .collect();
    assert_eq!(aside.len(), 1, "the old key is kept aside");
    assert_eq!(std::fs::read(aside[0].path()).expect("old key"), old_key);
    assert_ne!(std::fs::read(data.join("kek.key")).expect("new key"), old_key, "a new key");
    let list = parley(&["user", "list"], data, None);
    assert!(list.status.success() && text(&list).contains("admin"), "{}", text(&list));
}

#[test]
fn a_damaged_database_names_backup_restore() {
    let dir = initialised();
    remove_database(dir.path());
    std::fs::write(dir.path().join("parley.db"), vec![b'x'; 8192]).expect("garbage");
    for output in [serve(dir.path()), parley(&["user", "list"], dir.path(), None)] {
        let message = text(&output);
        assert!(!output.status.success(), "{message}");
        assert!(message.contains("damaged") && message.contains("parley backup restore"), "{message}");
    }
}

#[tokio::test]
async fn healthcheck_takes_the_staff_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = parley::Application::build(test_config(dir.path())).await.expect("app");
    let staff = app.staff_addr().to_string();
    let data = dir.path().to_owned();
    let check = move |addr: String| {
        let data = data.clone();
        tokio::task::spawn_blocking(move || {
            command(&["healthcheck", "--staff-addr", &addr, "--data-dir"]).arg(&data).output().expect("healthcheck")
        })
    };
    let healthy = check(staff.clone()).await.expect("join");
    assert!(healthy.status.success(), "{}", text(&healthy));
    assert!(text(&healthy).contains(&staff), "{}", text(&healthy));
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let nobody = check(free.to_string()).await.expect("join");
    assert!(!nobody.status.success() && text(&nobody).contains(&free.to_string()), "{}", text(&nobody));
    app.stop().await;
}

/// Runs `parley ARGS` with standard output a pipe whose reading end is already closed.
fn with_closed_stdout(args: &[&str], data: &Path) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    command(args).arg("--data-dir").arg(data).stdout(writer).output().expect("run")
}

#[test]
fn a_closed_standard_output_is_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let init = with_closed_stdout(&["init"], dir.path());
    let stderr = String::from_utf8_lossy(&init.stderr);
    assert!(init.status.success() && !stderr.contains("panicked"), "{stderr}");
    assert!(dir.path().join("initial-admin-password").exists(), "init finished its work: {stderr}");
    for args in [&["configtest"][..], &["user", "list"]] {
        let output = with_closed_stdout(args, dir.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success() && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let help = command(&["--help"]).stdout(writer).output().expect("help");
    assert!(!String::from_utf8_lossy(&help.stderr).contains("panicked"), "{}", text(&help));
}

#[test]
fn version_verbose_names_the_bundled_components() {
    let output = command(&["version", "--verbose"]).output().expect("version");
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains(&format!("parley {}", env!("CARGO_PKG_VERSION"))), "{printed}");
    for prefix in ["SQLite 3.", "rustls 0.23.", "ring 0.17."] {
        assert!(printed.lines().any(|l| l.starts_with(prefix)), "no {prefix} in {printed}");
    }
}

#[test]
fn setting_errors_name_the_setting_and_a_valid_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("config.toml");
    let write = |body: &str| std::fs::write(&config, format!("[server]\ndata_dir = \"{}\"\n{body}", data.display()));
    write("public_addr = \"127.0.0.1:8443\"\n").expect("config");
    let message = text(&configtest(&config, &[]));
    assert!(message.contains("line 3") && message.contains("server.public_addr"), "{message}");
    assert!(!message.contains("embedded defaults"), "{message}");
    write("staff_addr = \"intranet:8443\"\n").expect("config");
    let message = text(&configtest(&config, &[]));
    assert!(message.contains("server.staff_addr") && message.contains("IP:PORT"), "{message}");
    let flag = command(&["serve", "--staff-addr", "8443", "--data-dir"]).arg(&data).output().expect("serve");
    assert!(text(&flag).contains("--staff-addr") && text(&flag).contains("192.0.2.10:8443"), "{}", text(&flag));
}

#[test]
fn the_shipped_configuration_lists_every_default_and_keeps_staff_on_loopback() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("packaging/config.toml")).expect("packaging/config.toml");
    let example = std::fs::read_to_string(root.join("config.example.toml")).expect("config.example.toml");
    let mut section = String::new();
    let mut active = Vec::new();
    for line in example.lines() {
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).to_owned();
            assert!(shipped.lines().any(|l| l == line), "[{section}] missing");
        } else if !line.starts_with('#') && line.contains(" = ") {
            // Every key appears: set for the administrator to choose, or commented with its default.
            let key = line.split(" = ").next().unwrap_or_default();
            if shipped.lines().any(|l| l.starts_with(&format!("{key} = "))) {
                active.push(format!("{section}.{key}"));
            } else {
                assert!(
                    shipped.lines().any(|l| l == format!("# {line}")),
                    "{section}.{key} is neither set nor commented"
                );
            }
        }
    }
    let must_choose = [
        "server.staff_addr",
        "server.organisation",
        "server.public_url",
        "widget.site_origins",
        "privacy.dpo_contact",
        "backup.recipients",
    ];
    assert_eq!(active, must_choose, "only the settings an administrator must choose are set");
    let dir = tempfile::tempdir().expect("tempdir");
    let output = configtest(&root.join("packaging/config.toml"), &["--data-dir", dir.path().to_str().expect("path")]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("staff listener 127.0.0.1:8443"), "{}", text(&output));
}
