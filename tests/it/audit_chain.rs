//! Issue #14 point 4: the audit chain is keyed (HMAC-SHA256 under a key wrapped by the KEK), so
//! recomputing it with plain SHA-256 from file access is detected; its head is anchored outside
//! the database (anchor file at start, hourly and on shutdown; backup manifests), so deleting
//! the newest entries is detected by `parley audit verify`; a legacy SHA-256 prefix from before
//! the key existed still verifies up to its recorded boundary.

use std::path::Path;

use sha2::{Digest, Sha256};
use sqlx::Connection;

use crate::cli::{parley, text};
use crate::harness::{TestApp, test_config};
use parley::app::Application;

/// Audit entries from signing in a few times.
async fn some_entries(app: &TestApp, n: usize) {
    app.add_user("aled", "administrator", crate::chat_support::PASSWORD).await;
    for _ in 0..n {
        app.login("aled", crate::chat_support::PASSWORD).await;
    }
}

async fn raw(dir: &Path) -> sqlx::SqliteConnection {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join("parley.db"));
    sqlx::SqliteConnection::connect_with(&options).await.expect("open the stopped server's database")
}

/// The pre-0.18 chain: SHA-256 over the previous hash, the time and the length-prefixed fields.
fn sha_chain(prev: &[u8], at: i64, fields: [Option<&str>; 4]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(at.to_be_bytes());
    for field in fields {
        match field {
            Some(text) => {
                hasher.update([1]);
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
            None => hasher.update([0]),
        }
    }
    hasher.finalize().to_vec()
}

/// Rewrites the whole log as an intruder with file access would: the entry `edit` gets new
/// details and every hash is recomputed with plain SHA-256.
async fn rechain_with_sha256(conn: &mut sqlx::SqliteConnection, edit: i64) {
    type Row = (i64, i64, String, String, Option<String>, Option<String>);
    sqlx::query("DROP TRIGGER IF EXISTS audit_log_no_update").execute(&mut *conn).await.expect("drop");
    let rows: Vec<Row> = sqlx::query_as("SELECT id, at, actor, action, target, details FROM audit_log ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .expect("rows");
    let mut prev = vec![0u8; 32];
    for (id, at, actor, action, target, details) in rows {
        let details = if id == edit { Some("nothing to see".to_owned()) } else { details };
        let hash = sha_chain(&prev, at, [Some(&actor), Some(&action), target.as_deref(), details.as_deref()]);
        sqlx::query("UPDATE audit_log SET details = ?2, prev_hash = ?3, hash = ?4 WHERE id = ?1")
            .bind(id)
            .bind(details)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *conn)
            .await
            .expect("rewrite");
        prev = hash;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_recomputed_with_plain_sha256_is_detected() {
    let app = TestApp::spawn().await;
    some_entries(&app, 3).await;
    let dir = app.stop().await;
    let intact = parley(&["audit", "verify"], dir.path(), None);
    assert!(intact.status.success() && text(&intact).contains("audit log intact"), "{}", text(&intact));

    let mut conn = raw(dir.path()).await;
    rechain_with_sha256(&mut conn, 2).await;
    conn.close().await.expect("close");
    let verify = parley(&["audit", "verify", "--anchor", "/nonexistent/anchor"], dir.path(), None);
    assert!(!verify.status.success(), "{}", text(&verify));
    assert!(text(&verify).contains("entry 1 does not fit the chain"), "{}", text(&verify));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_newest_entries_is_detected_against_the_anchor_file() {
    let app = TestApp::spawn().await;
    some_entries(&app, 4).await;
    let dir = app.stop().await;
    let verify = parley(&["audit", "verify"], dir.path(), None);
    let shown = text(&verify);
    assert!(verify.status.success() && shown.contains("matches") && shown.contains("intact"), "{shown}");

    let mut conn = raw(dir.path()).await;
    sqlx::query("DROP TRIGGER audit_log_no_delete").execute(&mut conn).await.expect("drop");
    sqlx::query("DELETE FROM audit_log WHERE id > (SELECT MAX(id) - 2 FROM audit_log)")
        .execute(&mut conn)
        .await
        .expect("delete the newest");
    conn.close().await.expect("close");
    let verify = parley(&["audit", "verify"], dir.path(), None);
    let shown = text(&verify);
    assert!(!verify.status.success(), "{shown}");
    assert!(shown.contains("truncated") && shown.contains("audit.anchor"), "{shown}");
    // A server started on it does not overwrite the anchor it contradicts.
    Application::build(test_config(dir.path())).await.expect("starts").stop().await;
    let verify = parley(&["audit", "verify"], dir.path(), None);
    let shown = text(&verify);
    assert!(!verify.status.success() && (shown.contains("truncated") || shown.contains("rewritten")), "{shown}");
    // What is left is a valid chain: only the anchor shows the loss.
    let unanchored = parley(&["audit", "verify", "--anchor", "/nonexistent/anchor"], dir.path(), None);
    assert!(unanchored.status.success() && text(&unanchored).contains("no anchor file"), "{}", text(&unanchored));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anchoring_job_anchors_the_head_on_shutdown() {
    let app = TestApp::spawn().await;
    let anchor = app.dir.path().join("audit.anchor");
    some_entries(&app, 2).await;
    let dir = app.stop().await;
    let mut conn = raw(dir.path()).await;
    let (last, hash): (i64, Vec<u8>) = sqlx::query_as("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_one(&mut conn)
        .await
        .expect("head");
    conn.close().await.expect("close");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("audit.anchor")).expect("anchor file")).expect("json");
    assert_eq!((written["entries"].as_i64(), written["mac"].as_str()), (Some(last), Some(hex::encode(&hash).as_str())));
    assert!(last >= 2, "the sign-ins after start (none at start) are in the anchored head: {written}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&anchor).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_anchor_shows_truncation_too() {
    let app = TestApp::spawn().await;
    some_entries(&app, 3).await;
    let head = app.app.state().store.audit_head().await.expect("head").expect("entries");
    let dir = app.stop().await;
    let manifest = dir.path().join("parley-20260101-000000.manifest.json");
    let ahead = serde_json::json!({ "format": 1, "audit_head": { "entries": head.entries + 5, "mac": "00" } });
    std::fs::write(&manifest, ahead.to_string()).expect("manifest");
    let path = manifest.display().to_string();
    let verify = parley(&["audit", "verify", "--manifest", &path], dir.path(), None);
    let shown = text(&verify);
    assert!(!verify.status.success() && shown.contains("truncated") && shown.contains(&path), "{shown}");
    let same = serde_json::json!({ "format": 1, "audit_head": head });
    std::fs::write(&manifest, same.to_string()).expect("manifest");
    let verify = parley(&["audit", "verify", "--manifest", &path], dir.path(), None);
    assert!(verify.status.success() && text(&verify).contains("matches"), "{}", text(&verify));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_sha256_prefix_verifies_up_to_its_recorded_boundary() {
    let app = TestApp::spawn().await;
    some_entries(&app, 2).await;
    let dir = app.stop().await;
    // The database as a version before 0.18 left it: no audit key, a plain SHA-256 chain.
    let mut conn = raw(dir.path()).await;
    sqlx::query("DELETE FROM meta WHERE key LIKE 'audit_key.%' OR key = 'audit_keyed_from'")
        .execute(&mut conn)
        .await
        .expect("forget the key");
    rechain_with_sha256(&mut conn, 0).await;
    let legacy: i64 = sqlx::query_scalar("SELECT MAX(id) FROM audit_log").fetch_one(&mut conn).await.expect("n");
    conn.close().await.expect("close");
    std::fs::remove_file(dir.path().join("audit.anchor")).expect("anchor of the old chain");

    let app = Application::build(test_config(dir.path())).await.expect("upgrade");
    app.state()
        .accounts
        .add_user("bryn", "operator", None, Some(crate::chat_support::PASSWORD.into()))
        .await
        .expect("user");
    app.stop().await;
    let verify = parley(&["audit", "verify"], dir.path(), None);
    let shown = text(&verify);
    assert!(verify.status.success(), "{shown}");
    assert!(shown.contains(&format!("{legacy} legacy SHA-256 entries")), "{shown}");

    // The legacy prefix is protected by the keyed entries after it.
    let mut conn = raw(dir.path()).await;
    sqlx::query("UPDATE audit_log SET details = 'edited' WHERE id = 1").execute(&mut conn).await.expect("edit");
    conn.close().await.expect("close");
    let verify = parley(&["audit", "verify"], dir.path(), None);
    assert!(!verify.status.success() && text(&verify).contains("entry 1 does not fit"), "{}", text(&verify));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_backup_manifest_records_the_audit_head() {
    let keys = tempfile::tempdir().expect("tempdir");
    let (_, recipient) = crate::backup::identity(keys.path(), "backup-key.txt");
    let app = crate::backup::spawn_with_recipient(&recipient, |_| {}).await;
    some_entries(&app, 2).await;
    let state = app.app.state();
    let head = state.store.audit_head().await.expect("head").expect("entries");
    let backups = parley::backup::Backups::new(state.store.clone(), &state.config, Default::default());
    backups.create(parley::backup::Trigger::Manual, "test", None).await.expect("backup");
    let dir = app.stop().await;
    let backup_dir = dir.path().join("backups");
    let manifest = std::fs::read_dir(&backup_dir)
        .expect("backups")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .expect("a manifest");
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).expect("read")).expect("json");
    assert_eq!(written["audit_head"]["entries"].as_i64(), Some(head.entries), "{written}");
    assert_eq!(written["audit_head"]["mac"].as_str(), Some(head.mac.as_str()), "{written}");
    let dir_text = backup_dir.display().to_string();
    let verify = parley(&["audit", "verify", "--backup-dir", &dir_text], dir.path(), None);
    let shown = text(&verify);
    assert!(verify.status.success() && shown.contains("the backup manifest") && shown.contains("matches"), "{shown}");
}
