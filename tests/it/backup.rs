//! Encrypted backups: create from the Backups API, list, verify with the operator's identity,
//! restore with the erasure ledger replayed; a backup opens with the Debian `age` tool; the
//! `parley backup` commands against a running server. Faults are in `backup/faults.rs`.

mod faults;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use age::secrecy::ExposeSecret;
use parley::Application;
use parley::backup::{BackupError, Backups, Trigger};
use parley::config::Config;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{ConnectOptions, Connection};

use crate::cli::BIN;
use crate::harness::{TestApp, client_trusting, test_config};

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A fresh age identity written like `age-keygen` does; returns (identity file, public key).
pub fn identity(dir: &Path, name: &str) -> (PathBuf, String) {
    let identity = age::x25519::Identity::generate();
    let path = dir.join(name);
    let public = identity.to_public().to_string();
    let text = format!("# public key: {public}\n{}\n", identity.to_string().expose_secret());
    std::fs::write(&path, text).expect("write identity");
    (path, public)
}

pub async fn spawn_with_recipient(recipient: &str, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let recipient = recipient.to_owned();
    TestApp::spawn_with(move |c| {
        c.backup.recipients = vec![recipient];
        adjust(c);
    })
    .await
}

pub fn backups(app: &TestApp) -> Backups {
    let state = app.app.state();
    Backups::new(state.store.clone(), &state.config, state.metrics.clone())
}

/// Signs in a new administrator; returns (cookie, CSRF token).
pub async fn admin(app: &TestApp) -> (String, String) {
    app.add_user("root", "administrator", ADMIN_PASSWORD).await;
    app.login("root", ADMIN_PASSWORD).await
}

pub async fn get_backups(app: &TestApp, cookie: &str) -> Value {
    let response =
        app.client.get(app.staff("/api/v1/backups")).header("cookie", cookie).send().await.expect("list backups");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

/// "Back up now" as an administrator.
pub async fn post_backup(app: &TestApp, cookie: &str, csrf: &str) -> reqwest::Response {
    let request = app.client.post(app.staff("/api/v1/backups")).header("cookie", cookie).header("x-csrf-token", csrf);
    request.send().await.expect("create a backup")
}

pub fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read file")))
}

/// A data subject with one conversation, inserted directly (ids are what the ledger knows).
async fn add_subject(app: &TestApp, public_id: &str) -> i64 {
    let public_id = public_id.to_owned();
    app.app
        .state()
        .store
        .write(move |conn| {
            Box::pin(async move {
                let kek: i64 =
                    sqlx::query_scalar("SELECT id FROM keks ORDER BY id LIMIT 1").fetch_one(&mut *conn).await?;
                let subject: i64 = sqlx::query_scalar(
                    "INSERT INTO subjects (kek_id, wrapped_dek, created_at) VALUES (?1, zeroblob(60), 0) RETURNING id",
                )
                .bind(kek)
                .fetch_one(&mut *conn)
                .await?;
                sqlx::query(
                    "INSERT INTO conversations (public_id, start_client_id, visitor_token_hash, site, visitor_name,
                     created_at, subject_id) VALUES (?1, ?1, x'00', 'main', 'e1.sealed', 0, ?2)",
                )
                .bind(public_id)
                .bind(subject)
                .execute(&mut *conn)
                .await?;
                Ok(subject)
            })
        })
        .await
        .expect("subject added")
}

/// What an erasure does: a ledger entry and the subject's rows gone.
async fn erase(app: &TestApp, subject: i64) {
    app.app
        .state()
        .store
        .write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO erasure_ledger (subject, erased_at, case_ref) SELECT public_id, 1, 'test' FROM subjects WHERE id = ?1",
                )
                    .bind(subject)
                    .execute(&mut *conn)
                    .await?;
                parley::store::erasure::erase_subject_rows(conn, subject).await
            })
        })
        .await
        .expect("erased");
}

async fn count(app: &Application, sql: &'static str, id: i64) -> i64 {
    sqlx::query_scalar(sql).bind(id).fetch_one(app.state().store.reader()).await.expect("count")
}

#[tokio::test]
async fn backup_list_verify_and_restore_keep_erased_people_erased() {
    let keys = tempfile::tempdir().expect("tempdir");
    let (identity, recipient) = identity(keys.path(), "backup-key.txt");
    let app = spawn_with_recipient(&recipient, |_| {}).await;
    let (cookie, csrf) = admin(&app).await;
    let erased = add_subject(&app, "conversation-of-the-erased").await;
    let kept = add_subject(&app, "conversation-kept").await;

    let created = post_backup(&app, &cookie, &csrf).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let run: Value = created.json().await.expect("json");
    assert_eq!(run["status"], "ok", "{run}");
    let file = run["file"].as_str().expect("file name").to_owned();
    assert!(file.starts_with("parley-") && file.ends_with(".db.age"), "{file}");
    let path = app.dir.path().join("backups").join(&file);
    assert_eq!(run["sha256"].as_str(), Some(sha256_of(&path).as_str()));

    let listed = get_backups(&app, &cookie).await;
    assert_eq!(listed["backups"][0]["file"], file.as_str(), "{listed}");
    assert_eq!(listed["backups"][0]["problem"], Value::Null, "{listed}");
    assert_eq!(listed["last_run"]["status"], "ok");
    assert_eq!(listed["warning"], Value::Null);
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(path.with_file_name(file.replace(".db.age", ".manifest.json"))).expect("manifest"),
    )
    .expect("manifest json");
    assert_eq!(manifest["schema_version"], parley::store::known_schema_version());
    assert_eq!(manifest["recipients"][0], recipient.as_str());

    // The encrypted file downloads as it is, and the download is audited.
    let download = app
        .client
        .get(app.staff(&format!("/api/v1/backups/{file}/download")))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.headers()["content-disposition"].to_str().unwrap_or_default().contains(&file));
    assert_eq!(download.bytes().await.expect("body").to_vec(), std::fs::read(&path).expect("read"));
    let sneaky = app
        .client
        .get(app.staff("/api/v1/backups/..%2Fparley.db/download"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("download");
    assert_eq!(crate::harness::error_code(sneaky, StatusCode::BAD_REQUEST).await, "bad_name");

    // Erased after the backup was made.
    erase(&app, erased).await;

    let verified = parley::backup::verify(&path, &identity).await.expect("verifies");
    assert!(verified.database_size > 0 && !verified.newer_than_binary);

    let data = app.dir.path().to_owned();
    let refused = parley::backup::restore(&data, &path, &identity, false, "test").await.expect_err("server running");
    assert!(matches!(refused, BackupError::ServiceRunning(_)), "{refused}");
    assert!(refused.to_string().contains("stop the service first"), "{refused}");

    let dir = app.stop().await;
    let restored = parley::backup::restore(dir.path(), &path, &identity, false, "test").await.expect("restores");
    assert_eq!((restored.ledger_entries, restored.erased_again), (1, 1));
    assert!(!dir.path().join("parley.db-wal").exists());

    let mut config = test_config(dir.path());
    config.backup.recipients = vec![recipient];
    let again = Application::build(config).await.expect("starts on the restored database");
    assert_eq!(count(&again, "SELECT COUNT(*) FROM subjects WHERE id = ?1", erased).await, 0, "stays erased");
    assert_eq!(count(&again, "SELECT COUNT(*) FROM conversations WHERE subject_id = ?1", erased).await, 0);
    assert_eq!(count(&again, "SELECT COUNT(*) FROM subjects WHERE id = ?1", kept).await, 1, "the rest is back");
    assert_eq!(count(&again, "SELECT COUNT(*) FROM conversations WHERE subject_id = ?1", kept).await, 1);
    assert_eq!(count(&again, "SELECT COUNT(*) FROM erasure_ledger WHERE ?1 > 0", erased).await, 1);
    let store = &again.state().store;
    let audit = store.audit_entries(5).await.expect("audit");
    assert_eq!(audit[0].action, "backup.restore", "{audit:?}");
    assert_eq!(audit[0].target.as_deref(), Some(file.as_str()));
    assert!(store.verify_audit().await.expect("verify").is_ok(), "the audit chain is intact");
    let runs = store.backup_runs(5).await.expect("runs");
    assert_eq!((runs[0].status.as_str(), runs[0].file.as_deref()), ("ok", Some(file.as_str())));
    again.stop().await;
}

#[tokio::test]
async fn a_backup_decrypts_with_the_age_command_line_tool() {
    let keys = tempfile::tempdir().expect("tempdir");
    let key = keys.path().join("key.txt");
    let made = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .expect("age-keygen runs: install the Debian package `age` (./scripts/test does)");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let text = std::fs::read_to_string(&key).expect("key file");
    let recipient = text.lines().find_map(|l| l.strip_prefix("# public key: ")).expect("public key line").to_owned();
    let app = spawn_with_recipient(&recipient, |_| {}).await;
    let run = backups(&app).create(Trigger::Cli, "cli", None).await.expect("backup");
    let file = app.dir.path().join("backups").join(run.file.expect("file"));

    let plain = keys.path().join("decrypted.db");
    let output =
        Command::new("age").arg("-d").arg("-i").arg(&key).arg("-o").arg(&plain).arg(&file).output().expect("age");
    assert!(output.status.success(), "age -d: {}", String::from_utf8_lossy(&output.stderr));
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&plain)
        .read_only(true)
        .connect()
        .await
        .expect("a SQLite database");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.expect("check");
    assert_eq!(check, "ok");
    let version: i64 =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&mut conn).await.expect("v");
    assert_eq!(version, parley::store::known_schema_version());
    conn.close().await.expect("close");
    app.stop().await;
}

fn parley(args: &[&str], data: &Path, recipient: &str) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("PARLEY_BACKUP__RECIPIENTS", format!("[\"{recipient}\"]"))
        .env_remove("PARLEY_CONFIG")
        .output()
        .expect("run parley")
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr)
}

#[tokio::test]
async fn backup_commands_work_next_to_the_server_and_restore_waits_for_it_to_stop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (identity, recipient) = identity(dir.path(), "key.txt");

    let created = parley(&["backup", "create"], &data, &recipient);
    assert!(created.status.success(), "{}", text(&created));
    assert!(text(&created).contains("backup written"), "{}", text(&created));
    let list = parley(&["backup", "list"], &data, &recipient);
    let listing = text(&list);
    assert!(list.status.success(), "{listing}");
    let file = listing.split_whitespace().find(|w| w.ends_with(".db.age")).expect("a backup listed").to_owned();
    assert!(listing.contains("last run: ok (cli)"), "{listing}");
    let path = data.join("backups").join(&file);
    let path_text = path.display().to_string();
    let id_text = identity.display().to_string();

    let mut config = test_config(&data);
    config.backup.recipients = vec![recipient.clone()];
    let app = Application::build(config).await.expect("server");
    let again = parley(&["backup", "create"], &data, &recipient);
    assert!(again.status.success(), "a backup while serving: {}", text(&again));
    let refused = parley(&["backup", "restore", &path_text, "--identity", &id_text], &data, &recipient);
    assert!(!refused.status.success());
    let message = text(&refused);
    assert!(message.contains("parley is running") && message.contains("not changed"), "{message}");

    let audit = app.state().store.audit_entries(10).await.expect("audit");
    assert_eq!(audit[0].action, "backup.restore.failed", "{audit:?}");
    let client = client_trusting(&data.join("tls/cert.pem"));
    app.state().accounts.add_user("root", "administrator", None, Some(ADMIN_PASSWORD.into())).await.expect("admin");
    let login = client
        .post(format!("https://{}/api/v1/session", app.staff_addr()))
        .json(&serde_json::json!({ "username": "root", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("login");
    let cookie = crate::harness::session_cookie(&login).expect("cookie");
    let status = |client: reqwest::Client, cookie: String| {
        let url = format!("https://{}/api/v1/backups", app.staff_addr());
        async move {
            let response = client.get(url).header("cookie", cookie).send().await.expect("status");
            response.json::<Value>().await.expect("json")
        }
    };
    let shown = status(client.clone(), cookie.clone()).await;
    let warning = shown["warning"].as_str().unwrap_or_default();
    assert!(warning.contains("restore failed") && warning.contains("running"), "{shown}");
    assert_eq!(shown["backups"].as_array().map(Vec::len), Some(2), "{shown}");

    let verified = parley(&["backup", "verify", &path_text, "--identity", &id_text], &data, &recipient);
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(text(&verified).contains("backup OK"), "{}", text(&verified));
    assert_eq!(status(client, cookie).await["warning"], Value::Null, "a good verify clears the warning");
    app.stop().await;

    for args in [["backup", "create", "--help"], ["backup", "verify", "--help"], ["backup", "restore", "--help"]] {
        let help = Command::new(BIN).args(args).output().expect("help");
        assert!(help.status.success() && text(&help).contains("xample"), "{args:?}: {}", text(&help));
    }
}
