//! Erasure that really erases: no byte of an erased person's wrapped key or ciphertexts is left
//! in `parley.db`, `-wal` or `-shm` after an erasure, a retention purge and a restore (a carver
//! reads the files as bytes); subject public ids keep a restore from erasing an innocent person
//! who got an erased person's old row id; a restore audits each erasure it applies again. Key
//! snapshots are in `erasure/key_snapshots.rs`.

mod key_snapshots;

use std::path::Path;

use parley::backup::Trigger;
use serde_json::json;
use sqlx::ConnectOptions;

use crate::backup::{backups, identity, spawn_with_recipient};
use crate::chat_support::{operator, send, start, until, uuid, visitor};
use crate::harness::{TestApp, test_config};

/// The byte strings of one data subject that must not survive an erasure: the wrapped data key
/// and every sealed field of their chats and messages, read from the database.
pub struct Traces {
    pub subject: i64,
    pub public_id: String,
    pub conversation: String,
    pub needles: Vec<Vec<u8>>,
}

/// A visitor starts a chat and writes a message; returns what identifies them in the database.
pub async fn chatting_visitor(app: &TestApp, name: &str) -> Traces {
    let mut ws = visitor(app).await;
    let (conversation, _) = start(&mut ws, name).await;
    let text = format!("{name} lives at 4 Privet Drive");
    send(&mut ws, json!({ "v": 1, "type": "message", "id": uuid(), "text": text })).await;
    until(&mut ws, "ack").await;
    traces(app, &conversation).await
}

/// The traces of the subject of `conversation`, read from the live database.
pub async fn traces(app: &TestApp, conversation: &str) -> Traces {
    let db = app.app.state().store.reader();
    let (id, subject): (i64, i64) = sqlx::query_as("SELECT id, subject_id FROM conversations WHERE public_id = ?1")
        .bind(conversation)
        .fetch_one(db)
        .await
        .expect("conversation");
    let (public_id, wrapped): (String, Vec<u8>) =
        sqlx::query_as("SELECT public_id, wrapped_dek FROM subjects WHERE id = ?1")
            .bind(subject)
            .fetch_one(db)
            .await
            .expect("subject");
    let mut needles = vec![wrapped];
    let name: String = sqlx::query_scalar("SELECT visitor_name FROM conversations WHERE id = ?1")
        .bind(id)
        .fetch_one(db)
        .await
        .expect("name");
    needles.push(name.into_bytes());
    let bodies: Vec<(String, String)> =
        sqlx::query_as("SELECT body, author_name FROM messages WHERE conversation_id = ?1 AND author = 'visitor'")
            .bind(id)
            .fetch_all(db)
            .await
            .expect("messages");
    assert!(bodies.len() >= 2, "the question and a message: {bodies:?}");
    for (body, author) in bodies {
        assert!(body.starts_with("e1."), "sealed: {body}");
        needles.push(body.into_bytes());
        needles.push(author.into_bytes());
    }
    Traces { subject, public_id, conversation: conversation.to_owned(), needles }
}

/// Which of `needles` occur anywhere in `parley.db`, `parley.db-wal` and `parley.db-shm` of
/// `data_dir`, as (file, needle index).
pub fn carve(data_dir: &Path, needles: &[Vec<u8>]) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for file in ["parley.db", "parley.db-wal", "parley.db-shm"] {
        let Ok(bytes) = std::fs::read(data_dir.join(file)) else { continue };
        found.extend(carve_bytes(&bytes, needles).into_iter().map(|i| (file.to_owned(), i)));
    }
    found
}

/// The indexes of `needles` that occur in `bytes`.
pub fn carve_bytes(bytes: &[u8], needles: &[Vec<u8>]) -> Vec<usize> {
    (0..needles.len())
        .filter(|&i| !needles[i].is_empty() && bytes.windows(needles[i].len()).any(|w| w == needles[i].as_slice()))
        .collect()
}

/// Copies the WAL into `parley.db` from a connection of our own (as SQLite does by itself
/// every 1000 pages), so the carver also sees what lands in the main file.
pub async fn checkpoint(data_dir: &Path) {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(data_dir.join("parley.db"))
        .connect()
        .await
        .expect("open the live database");
    let (busy, _, _): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut conn).await.expect("checkpoint");
    assert_eq!(busy, 0, "checkpoint done");
    sqlx::Connection::close(conn).await.expect("close");
}

async fn erase(app: &TestApp, subject: i64, actor: &str) {
    parley::service::gdpr::erase(&app.app.state().store, subject, "erasure request", actor).await.expect("erased");
}

/// Makes the chat of `traces` closed long ago, so the retention purge takes it.
async fn expire(app: &TestApp, traces: &Traces) {
    let sql = "UPDATE conversations SET status = 'closed', closed_at = 1 WHERE public_id = ?1";
    app.execute(sql, vec![traces.conversation.as_str().into()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_erased_byte_is_left_in_the_data_directory_after_erase_purge_and_restore() {
    let keys = tempfile::tempdir().expect("tempdir");
    let (identity, recipient) = identity(keys.path(), "key.txt");
    let app = spawn_with_recipient(&recipient, |_| {}).await;
    let _olive = operator(&app, "olive").await;
    let erased = chatting_visitor(&app, "Ann Erased").await;
    let purged = chatting_visitor(&app, "Bob Purged").await;
    let kept = chatting_visitor(&app, "Cat Kept").await;
    let data = app.dir.path().to_owned();
    let backup = backups(&app).create(Trigger::Cli, "cli", None).await.expect("backup");
    checkpoint(&data).await;
    assert!(!carve(&data, &erased.needles).is_empty(), "the carver finds a living person's bytes");

    erase(&app, erased.subject, "dora").await;
    assert_eq!(carve(&data, &erased.needles), [], "nothing of the erased person after the erasure");
    assert!(!carve(&data, &kept.needles).is_empty(), "the others are still there");

    expire(&app, &purged).await;
    let config = app.app.state().config.retention.clone();
    let done = parley::service::retention::purge(&app.app.state().store, &app.app.state().metrics, &config, "test")
        .await
        .expect("purge");
    assert_eq!((done.chats, done.subjects), (1, 1));
    assert_eq!(carve(&data, &purged.needles), [], "nothing of the purged person after the purge");

    let dir = app.stop().await;
    let file = dir.path().join("backups").join(backup.file.expect("file"));
    let restored = parley::backup::restore(dir.path(), &file, &identity, false, "test").await.expect("restores");
    assert_eq!(restored.erased_again, 1, "the backup held the erased person");
    assert_eq!(carve(dir.path(), &erased.needles), [], "nothing of the erased person after the restore");
    assert!(!carve(dir.path(), &kept.needles).is_empty(), "the others are back");
    let mut config = test_config(dir.path());
    config.backup.recipients = vec![recipient];
    let again = parley::Application::build(config).await.expect("starts on the restored database");
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_carver_finds_erased_bytes_when_the_protection_is_off() {
    let app = TestApp::spawn_with(|c| c.database.keep_deleted_bytes = true).await;
    let _olive = operator(&app, "olive").await;
    let in_wal = chatting_visitor(&app, "Ann Inwal").await;
    let in_db = chatting_visitor(&app, "Bea Indb").await;
    let data = app.dir.path().to_owned();
    // Without the WAL truncation the erased bytes stay in parley.db-wal…
    erase(&app, in_wal.subject, "dora").await;
    let found = carve(&data, &in_wal.needles);
    assert!(found.iter().any(|(file, _)| file == "parley.db-wal"), "{found:?}");
    // …and without secure_delete in the free space of parley.db, even after a checkpoint.
    checkpoint(&data).await;
    erase(&app, in_db.subject, "dora").await;
    checkpoint(&data).await;
    let found = carve(&data, &in_db.needles);
    assert!(found.iter().any(|(file, _)| file == "parley.db"), "{found:?}");
    app.stop().await;
}

/// A data subject inserted directly (with a row id the AUTOINCREMENT counter hands out).
async fn add_subject(app: &TestApp) -> i64 {
    app.app
        .state()
        .store
        .write(move |conn| {
            Box::pin(async move {
                let kek: i64 =
                    sqlx::query_scalar("SELECT id FROM keks ORDER BY id LIMIT 1").fetch_one(&mut *conn).await?;
                sqlx::query_scalar(
                    "INSERT INTO subjects (kek_id, wrapped_dek, created_at) VALUES (?1, randomblob(60), unixepoch())
                     RETURNING id",
                )
                .bind(kek)
                .fetch_one(&mut *conn)
                .await
            })
        })
        .await
        .expect("subject added")
}

async fn subject_count(app: &parley::Application, id: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM subjects WHERE id = ?1")
        .bind(id)
        .fetch_one(app.state().store.reader())
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_never_erases_a_new_person_who_got_an_erased_persons_row_id() {
    let keys = tempfile::tempdir().expect("tempdir");
    let (identity, recipient) = identity(keys.path(), "key.txt");
    let app = spawn_with_recipient(&recipient, |_| {}).await;
    let kept = add_subject(&app).await;
    let first = backups(&app).create(Trigger::Cli, "cli", None).await.expect("backup").file.expect("file");
    let erased = add_subject(&app).await;
    erase(&app, erased, "dora").await;
    let dir = app.stop().await;
    let backups_dir = dir.path().join("backups");
    parley::backup::restore(dir.path(), &backups_dir.join(&first), &identity, false, "test").await.expect("restore");

    // The counter came back from the backup: the next person gets the erased person's row id.
    let mut config = test_config(dir.path());
    config.backup.recipients = vec![recipient.clone()];
    let app = parley::Application::build(config.clone()).await.expect("starts");
    let innocent: i64 = app
        .state()
        .store
        .write(move |conn| {
            Box::pin(async move {
                sqlx::query_scalar(
                    "INSERT INTO subjects (kek_id, wrapped_dek, created_at)
                     VALUES ((SELECT id FROM keks LIMIT 1), randomblob(60), unixepoch()) RETURNING id",
                )
                .fetch_one(&mut *conn)
                .await
            })
        })
        .await
        .expect("a new person");
    assert_eq!(innocent, erased, "the row id is reused (the case this test is about)");
    let state = app.state();
    let second = parley::backup::Backups::new(state.store.clone(), &state.config, state.metrics.clone())
        .create(Trigger::Cli, "cli", None)
        .await
        .expect("backup")
        .file
        .expect("file");
    app.stop().await;

    // Restoring (which replays the erasure ledger) leaves the new person alone.
    let restored = parley::backup::restore(dir.path(), &backups_dir.join(&second), &identity, false, "test")
        .await
        .expect("restore");
    assert_eq!(restored.erased_again, 0);
    let app = parley::Application::build(config).await.expect("starts");
    assert_eq!(subject_count(&app, innocent).await, 1, "the new person is intact");
    assert_eq!(subject_count(&app, kept).await, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_audits_each_erasure_it_applies_again_with_the_case_and_the_original_time() {
    let keys = tempfile::tempdir().expect("tempdir");
    let (identity, recipient) = identity(keys.path(), "key.txt");
    let app = spawn_with_recipient(&recipient, |_| {}).await;
    app.add_user("dora", "dpo", crate::chat_support::PASSWORD).await;
    let _olive = operator(&app, "olive").await;
    let person = chatting_visitor(&app, "Ann Erased").await;
    let subject = person.subject;
    app.app
        .state()
        .store
        .write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO gdpr_cases (reference, kind, received_on, deadline, subject_id, created_by, created_at)
                     VALUES ('DR-2026-007', 'erasure', '2026-11-02', '2026-12-02', ?1, 'dora', unixepoch())",
                )
                .bind(subject)
                .execute(&mut *conn)
                .await
                .map(|_| ())
            })
        })
        .await
        .expect("case");
    let backup = backups(&app).create(Trigger::Cli, "cli", None).await.expect("backup").file.expect("file");
    erase(&app, subject, "dora").await;
    let ledger = app.app.state().store.erasure_ledger().await.expect("ledger");
    assert_eq!(ledger.len(), 1);
    let entry = &ledger[0];
    assert_eq!(entry.subject, person.public_id);
    assert_eq!((entry.case_ref.as_deref(), entry.actor_role.as_deref()), (Some("DR-2026-007"), Some("dpo")));
    let audit = app.app.state().store.audit_entries(5).await.expect("audit");
    let erasure = audit.iter().find(|e| e.action == "gdpr.erase").expect("the erasure is audited");
    assert_eq!(erasure.target.as_deref(), Some(format!("subject {}", person.public_id).as_str()));
    let erased_at = parley::util::rfc3339(entry.erased_at);

    let dir = app.stop().await;
    let file = dir.path().join("backups").join(&backup);
    parley::backup::restore(dir.path(), &file, &identity, false, "cli").await.expect("restores");
    let mut config = test_config(dir.path());
    config.backup.recipients = vec![recipient];
    let again = parley::Application::build(config).await.expect("starts");
    let audit = again.state().store.audit_entries(10).await.expect("audit");
    let reapplied: Vec<_> = audit.iter().filter(|e| e.action == "gdpr.erase.reapplied").collect();
    assert_eq!(reapplied.len(), 1, "{audit:?}");
    assert_eq!(reapplied[0].target.as_deref(), Some(format!("subject {}", person.public_id).as_str()));
    let details = reapplied[0].details.as_deref().unwrap_or_default();
    assert!(details.contains("DR-2026-007") && details.contains(&erased_at) && details.contains("dpo"), "{details}");
    assert!(details.contains(&backup), "{details}");
    assert!(!details.contains("Ann"), "no personal data: {details}");
    assert_eq!(again.state().store.erasure_ledger().await.expect("ledger"), ledger, "the ledger is kept as it was");
    again.stop().await;
}
