//! Encryption at rest: personal data never reaches the database file or its WAL in clear text,
//! the key-encryption key is guarded (created 0600, never replaced over existing data, a wrong
//! one refused), and rows written before encryption existed are sealed on start.

use serde_json::{Value, json};

use crate::chat_support::{PASSWORD, accept, operator, send, until, uuid, visitor};
use crate::harness::{TestApp, test_config};
use parley::app::Application;

/// Markers typed by visitors and staff; none may appear in any file byte for byte.
const MARKERS: [&str; 8] = [
    "Zebedee-Q7X4",
    "marker-mail-q7x4@example.org",
    "07700 900461",
    "question-MARKER-51",
    "reply-MARKER-52",
    "note-MARKER-53",
    "offline-MARKER-54",
    "rating-MARKER-55",
];

/// Every file of the data directory (database, WAL, anything else) that contains `needle`.
fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else { continue };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                let lower = needle.to_lowercase();
                let found = |n: &[u8]| bytes.windows(n.len()).any(|w| w == n);
                if found(needle.as_bytes()) || found(lower.as_bytes()) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_never_reaches_the_disk_in_clear() {
    // Mail goes to a port nobody listens on: the transcript stays queued in the outbox.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    // Backups go to an age key whose identity only this test holds.
    let escrow = tempfile::tempdir().expect("tempdir");
    let identity = age::x25519::Identity::generate();
    let identity_file = escrow.path().join("identity.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(&identity_file, format!("{}\n", identity.to_string().expose_secret())).expect("identity");
    }
    let recipient = identity.to_public().to_string();
    let app = TestApp::spawn_with(move |c| {
        crate::mail::with_smtp(unused)(c);
        c.backup.recipients = vec![recipient];
    })
    .await;
    let fields = json!([{ "key": "email", "label": "E-mail", "type": "email" }, { "key": "phone", "label": "Phone", "type": "tel" }]);
    let input = parley::service::sites::SiteInput {
        name: "Main website".into(),
        origins: vec!["https://www.example.gov.uk".into()],
        fields: serde_json::from_value(fields).expect("fields"),
        ..Default::default()
    };
    app.app.state().sites.save("main", input).await.expect("site");
    let mut staff = operator(&app, "olive").await;
    let mut ws = visitor(&app).await;
    let start = json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": MARKERS[0],
                        "question": MARKERS[3], "page": "https://www.example.gov.uk/Zebedee-Q7X4",
                        "answers": { "email": MARKERS[1], "phone": MARKERS[2] } });
    send(&mut ws, start).await;
    let (started, _) = until(&mut ws, "started").await;
    let conversation = started["conversation"].as_str().expect("id").to_owned();
    let token = started["token"].as_str().expect("token").to_owned();
    accept(&mut staff, &conversation).await;
    send(
        &mut staff,
        json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": MARKERS[4] }),
    )
    .await;
    until(&mut staff, "ack").await;
    send(&mut staff, json!({ "v": 1, "type": "note", "id": uuid(), "conversation": conversation, "text": MARKERS[5] }))
        .await;
    until(&mut staff, "ack").await;
    send(&mut ws, json!({ "v": 1, "type": "email_transcript", "id": uuid(), "conversation": conversation, "token": token, "email": MARKERS[1] })).await;
    until(&mut ws, "ack").await;
    send(&mut ws, json!({ "v": 1, "type": "rate", "conversation": conversation, "token": token, "rating": 4, "comment": MARKERS[7] })).await;
    until(&mut ws, "rated").await;
    let leave = json!({ "v": 1, "type": "leave_message", "id": uuid(), "site": "main", "name": MARKERS[0],
                        "email": MARKERS[1], "text": MARKERS[6] });
    send(&mut ws, leave).await;
    until(&mut ws, "ack").await;

    // Staff still read everything in clear through the API.
    let (cookie, _) = app.login("olive", PASSWORD).await;
    let get = |path: String| {
        let request = app.client.get(app.staff(&path)).header("cookie", cookie.clone());
        async move { request.send().await.expect("get").json::<Value>().await.expect("json") }
    };
    let lines = get(format!("/api/v1/conversations/{conversation}/messages")).await;
    let texts: Vec<&str> = lines.as_array().expect("lines").iter().filter_map(|l| l["text"].as_str()).collect();
    assert_eq!(texts, [MARKERS[3], MARKERS[4]]);
    assert_eq!(lines[0]["name"], MARKERS[0]);
    assert_eq!(get("/api/v1/conversations".into()).await[0]["name"], MARKERS[0]);
    assert_eq!(get(format!("/api/v1/conversations/{conversation}/notes")).await[0]["text"], MARKERS[5]);
    let offline = get("/api/v1/offline-requests".into()).await;
    assert_eq!((offline[0]["email"].as_str(), offline[0]["text"].as_str()), (Some(MARKERS[1]), Some(MARKERS[6])));
    app.add_user("ada", "administrator", PASSWORD).await;
    let (admin, csrf) = app.login("ada", PASSWORD).await;
    let outbox: Value = app
        .client
        .get(app.staff("/api/v1/mail-outbox"))
        .header("cookie", admin.clone())
        .send()
        .await
        .expect("outbox")
        .json()
        .await
        .expect("json");
    assert_eq!(outbox[0]["to"], MARKERS[1]);
    // The same visitor (same e-mail) is one data subject across the chat and the message.
    let subjects: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM subjects").fetch_one(app.app.state().store.reader()).await.expect("n");
    assert_eq!(subjects, 1);

    // Nothing typed is in the database file, its WAL or anything else in the data directory,
    // while running (WAL not yet checkpointed) and after a clean stop (checkpointed).
    let check = |when: &str, dir: &std::path::Path| {
        for marker in MARKERS {
            let hits = files_containing(dir, marker);
            assert!(hits.is_empty(), "{when}: `{marker}` found in {hits:?}");
        }
    };
    // A backup, and what it decrypts to with the offline identity.
    let made = app
        .client
        .post(app.staff("/api/v1/backups"))
        .header("cookie", admin)
        .header("x-csrf-token", csrf)
        .send()
        .await
        .expect("backup");
    assert_eq!(made.status(), 201);
    let file: Value = made.json().await.expect("json");
    let backup = app.dir.path().join("backups").join(file["file"].as_str().expect("file"));
    let decrypted = escrow.path().join("restored.db");
    let opened = std::process::Command::new("age")
        .args(["-d", "-i"])
        .arg(&identity_file)
        .arg("-o")
        .arg(&decrypted)
        .arg(&backup)
        .output()
        .expect("age is installed by scripts/test");
    assert!(opened.status.success(), "{}", String::from_utf8_lossy(&opened.stderr));
    let messages: i64 = {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", decrypted.display()))
            .await
            .expect("open the decrypted backup");
        sqlx::query_scalar("SELECT COUNT(*) FROM messages").fetch_one(&mut conn).await.expect("count")
    };
    assert_eq!(messages, 2, "the backup holds the conversation");
    assert!(app.dir.path().join("parley.db-wal").exists());
    check("while running (database, WAL, backups)", app.dir.path());
    check("inside the decrypted backup", escrow.path());
    // The check can fail: the operator's user name is stored in clear on purpose.
    assert!(!files_containing(app.dir.path(), "olive").is_empty(), "the scan finds what is there");
    let dir = app.stop().await;
    check("after stopping", dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_file_is_private_and_never_replaced_over_existing_data() {
    let app = TestApp::spawn().await;
    let kek = app.dir.path().join("kek.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kek).expect("key file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
    }
    let original = std::fs::read_to_string(&kek).expect("read");
    let mut ws = visitor(&app).await;
    let _staff = operator(&app, "olive").await;
    crate::chat_support::start(&mut ws, "Nia").await;
    let dir = app.stop().await;

    // Gone: refused with the recovery route, and no new key is made.
    std::fs::remove_file(&kek).expect("remove");
    let err = Application::build(test_config(dir.path())).await.err().expect("refused").to_string();
    assert!(err.contains("missing") && err.contains("escrow") && err.contains("kek.key"), "{err}");
    assert!(!kek.exists(), "no new key was created over existing data");
    // Another key: refused, naming both fingerprints.
    // (Written owner-only: a key file others can read is refused before its content is looked at.)
    let write = |text: &str| {
        std::fs::write(&kek, text).expect("write");
        #[cfg(unix)]
        std::fs::set_permissions(&kek, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    };
    write(&format!("{}\n", "ab".repeat(32)));
    let err = Application::build(test_config(dir.path())).await.err().expect("refused").to_string();
    assert!(err.contains("does not belong"), "{err}");
    // Not a key at all.
    write("hunter2\n");
    let err = Application::build(test_config(dir.path())).await.err().expect("refused").to_string();
    assert!(err.contains("64 hexadecimal digits"), "{err}");
    // The right key again: the chat is readable.
    write(&original);
    let app = Application::build(test_config(dir.path())).await.expect("starts with its key");
    let rows = app.state().store.queued_conversations().await.expect("read");
    assert_eq!(rows[0].visitor_name, "Nia");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_written_before_encryption_are_sealed_on_start() {
    let app = TestApp::spawn().await;
    let store = app.app.state().store.clone();
    // A conversation, a message, a note, an offline request and a mail as an older version
    // stored them: plain text, no data subject.
    store
        .write(|conn| {
            Box::pin(async move {
                for sql in [
                    "INSERT INTO conversations (id, public_id, start_client_id, visitor_token_hash, site, visitor_name,
                        created_at, last_seq, visitor_key, page_url)
                     VALUES (900, '6b0e0c8e-0000-4000-8000-000000000900', 'legacy-start', X'00', 'main', 'Legacy-Olwen',
                        1, 1, 'legacy-visitor', 'https://www.example.gov.uk/legacy-page')",
                    "INSERT INTO messages (conversation_id, seq, client_id, author, author_name, body, created_at)
                     VALUES (900, 1, 'legacy-start', 'visitor', 'Legacy-Olwen', 'legacy-question-text', 1)",
                    "INSERT INTO notes (conversation_id, client_id, author_name, body, created_at)
                     VALUES (900, 'n1', 'olive', 'legacy-note-text', 1)",
                    "INSERT INTO offline_requests (client_id, site, name, email, body, created_at)
                     VALUES ('o1', 'main', 'Legacy-Olwen', 'legacy@example.org', 'legacy-offline-text', 1)",
                    "INSERT INTO mail_outbox (kind, to_addr, subject, body, next_attempt_at, created_at)
                     VALUES ('transcript', 'legacy@example.org', 'Your chat', 'legacy-mail-text', 1, 1)",
                ] {
                    sqlx::query(sql).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .await
        .expect("legacy rows");
    let dir = app.stop().await;
    let app = Application::build(test_config(dir.path())).await.expect("restart");
    let store = app.state().store.clone();
    let conversation = store.conversation(900).await.expect("read").expect("row");
    assert_eq!(conversation.visitor_name, "Legacy-Olwen");
    assert!(conversation.subject_id.is_some());
    let messages = store.messages_after(900, 0, 10).await.expect("messages");
    assert_eq!(messages[0].body, "legacy-question-text");
    assert_eq!(store.notes(900).await.expect("notes")[0].body, "legacy-note-text");
    let offline = store.offline_requests("open", None, 10).await.expect("offline");
    assert_eq!(offline[0].body, "legacy-offline-text");
    assert_eq!(store.recent_mail(10).await.expect("mail")[0].body, "legacy-mail-text");
    let plain: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM conversations WHERE visitor_name LIKE 'Legacy%' OR subject_id IS NULL)
              + (SELECT COUNT(*) FROM messages WHERE body LIKE 'legacy%')
              + (SELECT COUNT(*) FROM notes WHERE body LIKE 'legacy%')
              + (SELECT COUNT(*) FROM offline_requests WHERE subject_id IS NULL OR email LIKE 'legacy%')
              + (SELECT COUNT(*) FROM mail_outbox WHERE subject_id IS NULL OR body LIKE 'legacy%')",
    )
    .fetch_one(store.reader())
    .await
    .expect("count");
    assert_eq!(plain, 0, "every legacy row is sealed");
    // The offline request and the mail share the e-mail address: one subject.
    let subjects: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT subject_id) FROM (SELECT subject_id FROM offline_requests UNION ALL SELECT subject_id FROM mail_outbox)",
    )
    .fetch_one(store.reader())
    .await
    .expect("n");
    assert_eq!(subjects, 1);
    app.stop().await;
}
