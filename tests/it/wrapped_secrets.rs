//! Issue #14 point 3: the chat-token key (and every other named secret) is wrapped by the KEK,
//! so a visitor's resume token cannot be derived from the database files alone — a clear copy
//! left by an older version is wrapped in place on start, and rotation rewraps them all.

use std::path::Path;

use serde_json::json;
use sqlx::Connection;

use crate::chat_support::{send, until, uuid, visitor};
use crate::cli::{parley, text};
use crate::harness::{TestApp, client_trusting, test_config};
use parley::app::Application;

/// HMAC-SHA256(key, start id) as the server makes resume tokens.
fn token_with(key: &[u8], start_id: &str) -> String {
    hex::encode(mac(key, start_id))
}

fn mac(key: &[u8], start_id: &str) -> ring::hmac::Tag {
    ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), start_id.as_bytes())
}

/// The database, `-wal` and `-shm` as they lie on disk.
fn db_files(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["parley.db", "parley.db-wal", "parley.db-shm"] {
        if let Ok(content) = std::fs::read(dir.join(name)) {
            bytes.extend(content);
        }
    }
    bytes
}

/// Every 32-byte key the bytes hold, raw or as 64 hex digits, that makes `token` from
/// `start_id` — what someone holding only the database could try.
fn keys_deriving(bytes: &[u8], start_id: &str, token: &str) -> usize {
    let wanted = hex::decode(token).expect("hex token");
    let derives = |key: &[u8]| mac(key, start_id).as_ref() == wanted.as_slice();
    let raw = bytes.windows(32).filter(|w| derives(w)).count();
    let hex_keys = bytes
        .windows(64)
        .filter(|w| w.iter().all(u8::is_ascii_hexdigit))
        .filter_map(|w| hex::decode(w).ok())
        .filter(|key| derives(key))
        .count();
    raw + hex_keys
}

async fn start_with(ws: &mut crate::websocket::Client, start_id: &str) -> String {
    send(
        ws,
        json!({ "v": 1, "type": "start", "id": start_id, "site": "main", "name": "Nia", "question": "Council tax?" }),
    )
    .await;
    let (started, _) = until(ws, "started").await;
    started["token"].as_str().expect("token").to_owned()
}

async fn raw(dir: &Path) -> sqlx::SqliteConnection {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join("parley.db"));
    sqlx::SqliteConnection::connect_with(&options).await.expect("open the stopped server's database")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_files_hold_no_key_that_derives_chat_tokens() {
    let app = TestApp::spawn().await;
    let _staff = crate::chat_support::operator(&app, "olwen").await;
    let mut ws = visitor(&app).await;
    let start_id = uuid();
    let token = start_with(&mut ws, &start_id).await;
    let dir = app.stop().await;
    let bytes = db_files(dir.path());
    assert!(bytes.len() > 4096, "the database is there");
    // The carver works: the same bytes with a clear key in them give it away.
    let planted = [b"x".as_slice(), hex::encode([7u8; 32]).as_bytes(), &[9u8; 32]].concat();
    assert_eq!(keys_deriving(&planted, &start_id, &token_with(&[7u8; 32], &start_id)), 1);
    assert_eq!(keys_deriving(&planted, &start_id, &token_with(&[9u8; 32], &start_id)), 1);
    assert_eq!(keys_deriving(&bytes, &start_id, &token), 0, "a key in the database files derives the token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_token_key_left_by_an_older_version_is_wrapped_in_place() {
    let app = TestApp::spawn().await;
    let dir = app.stop().await;
    // What versions before 0.18 kept: the key in clear under its bare name.
    let clear: [u8; 32] = rand::random();
    let mut conn = raw(dir.path()).await;
    sqlx::query("DELETE FROM meta WHERE key LIKE 'chat_token_key.%'").execute(&mut conn).await.expect("delete");
    sqlx::query("INSERT INTO meta (key, value) VALUES ('chat_token_key', ?1)")
        .bind(hex::encode(clear))
        .execute(&mut conn)
        .await
        .expect("insert");
    conn.close().await.expect("close");
    assert!(keys_deriving(&db_files(dir.path()), "probe", &token_with(&clear, "probe")) >= 1, "planted");

    let app = Application::build(test_config(dir.path())).await.expect("restart");
    let app = TestApp { app, client: client_trusting(&dir.path().join("tls/cert.pem")), dir };
    let _staff = crate::chat_support::operator(&app, "olwen").await;
    let mut ws = visitor(&app).await;
    let start_id = uuid();
    let token = start_with(&mut ws, &start_id).await;
    assert_eq!(token, token_with(&clear, &start_id), "the same key goes on (tokens already handed out keep working)");
    let names: Vec<String> = sqlx::query_scalar("SELECT key FROM meta WHERE key LIKE 'chat_token_key%'")
        .fetch_all(app.app.state().store.reader())
        .await
        .expect("meta");
    assert!(names.len() == 1 && names[0].starts_with("chat_token_key."), "{names:?}");
    let dir = app.stop().await;
    assert_eq!(keys_deriving(&db_files(dir.path()), &start_id, &token), 0, "the clear copy is gone from the files");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_rewraps_the_named_secrets() {
    let app = TestApp::spawn().await;
    let keyring = app.app.state().store.keyring().expect("keys");
    let token_key = keyring.chat_token_key().expect("token key");
    app.add_user("rhys", "administrator", crate::chat_support::PASSWORD).await;
    let rotated = parley(&["keys", "rotate"], app.dir.path(), None);
    assert!(rotated.status.success(), "{}", text(&rotated));
    let dir = app.stop().await;
    let again = Application::build(test_config(dir.path())).await.expect("restart with the new KEK only");
    let store = &again.state().store;
    assert_eq!(store.keyring().expect("keys").chat_token_key(), Some(token_key), "the chat-token key survives");
    assert!(store.verify_audit().await.expect("verify").is_ok(), "the audit key survives: the chain verifies");
    let current: i64 = sqlx::query_scalar("SELECT id FROM keks WHERE state = 'current'")
        .fetch_one(store.reader())
        .await
        .expect("current");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT key FROM meta WHERE key GLOB '*_key' OR key GLOB '*_key.*' ORDER BY key")
            .fetch_all(store.reader())
            .await
            .expect("meta");
    let expected: Vec<String> =
        ["audit_key", "chat_token_key", "index_key"].iter().map(|n| format!("{n}.{current}")).collect();
    assert_eq!(names, expected, "each secret wrapped under the new KEK only");
    again.stop().await;
}
