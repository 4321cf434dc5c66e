//! Key management: rotation re-wraps every data key while the server keeps chatting (and can be
//! finished after an interruption); the recovery copy opens with the escrow identity and the
//! Debian `age` tool; `keys show` never prints key bytes.

use serde_json::json;

use crate::chat_support::{accept, operator, send, start, until, uuid, visitor};
use crate::cli::{parley, text};
use crate::harness::{TestApp, test_config};
use parley::app::Application;
use parley::crypto::{KekFile, fingerprint, kek};

async fn keks(app: &Application) -> Vec<(String, String)> {
    app.state().store.keks().await.expect("keks").into_iter().map(|k| (k.fingerprint, k.state)).collect()
}

async fn subjects_on(app: &Application, state: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM subjects s JOIN keks k ON k.id = s.kek_id WHERE k.state = ?1")
        .bind(state)
        .fetch_one(app.state().store.reader())
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_rewraps_every_data_key_while_chats_continue() {
    let app = TestApp::spawn().await;
    let mut staff = operator(&app, "olive").await;
    let mut first = visitor(&app).await;
    let (conversation, _) = start(&mut first, "Nia").await;
    accept(&mut staff, &conversation).await;
    for name in ["Huw", "Ffion"] {
        let mut ws = visitor(&app).await;
        start(&mut ws, name).await;
    }
    let old_key = std::fs::read_to_string(app.dir.path().join("kek.key")).expect("key");
    let before = keks(&app.app).await;
    assert_eq!(before.len(), 1);

    // The CLI rotates in its own process while this server runs.
    let rotated = parley(&["keys", "rotate"], app.dir.path(), None);
    assert!(rotated.status.success(), "{}", text(&rotated));
    assert!(text(&rotated).contains("3 data keys re-wrapped"), "{}", text(&rotated));
    let after = keks(&app.app).await;
    assert_eq!(after[0], (before[0].0.clone(), "retired".to_owned()));
    assert_eq!(after[1].1, "current");
    let new_key = std::fs::read_to_string(app.dir.path().join("kek.key")).expect("key");
    assert_ne!(old_key, new_key, "the key file holds the new key");
    assert!(!app.dir.path().join("kek.key.next").exists());
    assert_eq!(subjects_on(&app.app, "current").await, 3);

    // The running server carries on: old chats readable, new messages and new visitors work.
    send(
        &mut staff,
        json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": "Still here." }),
    )
    .await;
    until(&mut staff, "ack").await;
    let mut late = visitor(&app).await;
    start(&mut late, "Gwen").await;
    assert_eq!(subjects_on(&app.app, "current").await, 4, "a new visitor's key is wrapped by the new KEK");
    let show = parley(&["keys", "show"], app.dir.path(), None);
    let shown = text(&show);
    assert!(shown.contains(&after[1].0) && shown.contains("retired") && shown.contains("no rotation"), "{shown}");
    assert!(!shown.contains(new_key.trim()) && !shown.contains(old_key.trim()), "key bytes are never shown");

    // After a restart with only the new key, everything is readable.
    let dir = app.stop().await;
    let app = Application::build(test_config(dir.path())).await.expect("restart");
    let id: i64 = sqlx::query_scalar("SELECT id FROM conversations WHERE public_id = ?1")
        .bind(&conversation)
        .fetch_one(app.state().store.reader())
        .await
        .expect("id");
    let texts: Vec<String> =
        app.state().store.messages_after(id, 0, 10).await.expect("messages").into_iter().map(|m| m.body).collect();
    assert_eq!(texts, ["Where do I pay my council tax?", "Still here."]);
    let audit: Vec<String> =
        app.state().store.audit_entries(50).await.expect("audit").into_iter().map(|a| a.action).collect();
    assert!(audit.contains(&"keys.rotate.start".to_owned()) && audit.contains(&"keys.rotate.finish".to_owned()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rotation_is_finished_by_running_it_again() {
    let app = TestApp::spawn().await;
    let _staff = operator(&app, "olive").await;
    for name in ["Nia", "Huw", "Ffion"] {
        let mut ws = visitor(&app).await;
        start(&mut ws, name).await;
    }
    let store = app.app.state().store.clone();
    let keyring = store.keyring().expect("keys");
    let source = KekFile { path: app.dir.path().join("kek.key"), credential: false };
    // A rotation that stopped after one data key: the next key exists and one key moved.
    let next = kek::create_key(&source.next_path()).expect("next key");
    let next_id = store.insert_kek(fingerprint(&next), "next").await.expect("next row");
    keyring.ensure_kek(next_id, &fingerprint(&next)).expect("load");
    let batch = store.data_keys_not_on(next_id, 1).await.expect("batch");
    let (subject, old, _, wrapped) = batch[0].clone();
    let moved = keyring.rewrap_dek(subject, old, &wrapped, next_id).expect("rewrap");
    store.store_rewrapped(next_id, vec![(subject, old, moved)]).await.expect("store");
    // Meanwhile a new visitor arrives: their key goes straight to the next KEK.
    let mut ws = visitor(&app).await;
    start(&mut ws, "Gwen").await;
    assert_eq!(subjects_on(&app.app, "next").await, 2);

    // A restart in the middle loads both keys; every chat is readable.
    let dir = app.stop().await;
    let app = Application::build(test_config(dir.path())).await.expect("restart mid-rotation");
    let names: Vec<String> =
        app.state().store.queued_conversations().await.expect("read").into_iter().map(|c| c.visitor_name).collect();
    assert_eq!(names, ["Nia", "Huw", "Ffion", "Gwen"]);
    let shown = text(&parley(&["keys", "show"], dir.path(), None));
    assert!(shown.contains("rotation in progress: 2 of 4"), "{shown}");
    app.stop().await;

    // Running rotate again finishes the job.
    let finished = parley(&["keys", "rotate"], dir.path(), None);
    assert!(finished.status.success(), "{}", text(&finished));
    let app = Application::build(test_config(dir.path())).await.expect("restart after rotation");
    assert_eq!(subjects_on(&app, "current").await, 4);
    assert_eq!(keks(&app).await[1], (fingerprint(&next), "current".to_owned()));
    assert_eq!(app.state().store.queued_conversations().await.expect("read").len(), 4);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recovery_copy_opens_with_the_escrow_identity() {
    let app = TestApp::spawn().await;
    let dir = app.stop().await;
    let escrow = age::x25519::Identity::generate();
    let identity = dir.path().join("escrow.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(&identity, format!("{}\n", escrow.to_string().expose_secret())).expect("identity");
    }
    let recipient = escrow.to_public().to_string();
    let out = dir.path().join("recovery.age");
    let out_arg = out.display().to_string();
    let bad = parley(&["keys", "export-recovery", "--recipient", "age1nope", "--out", &out_arg], dir.path(), None);
    assert!(!bad.status.success() && text(&bad).contains("is not an age recipient"), "{}", text(&bad));
    let done = parley(&["keys", "export-recovery", "--recipient", &recipient, "--out", &out_arg], dir.path(), None);
    assert!(done.status.success(), "{}", text(&done));
    // The Debian age tool opens it with the escrow identity and gets the key file back.
    let opened = std::process::Command::new("age")
        .args(["-d", "-i"])
        .arg(&identity)
        .arg(&out)
        .output()
        .expect("age is installed by scripts/test (Debian package age)");
    assert!(opened.status.success(), "{}", String::from_utf8_lossy(&opened.stderr));
    let key = std::fs::read_to_string(dir.path().join("kek.key")).expect("key");
    assert_eq!(String::from_utf8_lossy(&opened.stdout), key);
    assert!(!std::fs::read_to_string(&out).unwrap_or_default().contains(key.trim()), "not in clear");
    // Never over an existing file.
    let again = parley(&["keys", "export-recovery", "--recipient", &recipient, "--out", &out_arg], dir.path(), None);
    assert!(!again.status.success() && text(&again).contains("exists"), "{}", text(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_state_is_for_administrators_the_dpo_and_auditors() {
    let app = TestApp::spawn().await;
    let mut ws = visitor(&app).await;
    let _staff = operator(&app, "olive").await;
    start(&mut ws, "Nia").await;
    let (operator_cookie, _) = app.login("olive", crate::chat_support::PASSWORD).await;
    let denied = app.client.get(app.staff("/api/v1/keys")).header("cookie", operator_cookie).send().await.expect("get");
    assert_eq!(denied.status(), 403);
    app.add_user("dora", "dpo", crate::chat_support::PASSWORD).await;
    let (cookie, _) = app.login("dora", crate::chat_support::PASSWORD).await;
    let state: serde_json::Value = app
        .client
        .get(app.staff("/api/v1/keys"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(state["data_keys"], 1);
    assert_eq!(state["keks"][0]["state"], "current");
    assert_eq!(state["rotation"], serde_json::Value::Null);
    let key = std::fs::read_to_string(app.dir.path().join("kek.key")).expect("key");
    assert!(!state.to_string().contains(key.trim()), "no key bytes");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_systemd_credential_takes_precedence_and_cannot_be_rotated_by_parley() {
    let app = TestApp::spawn().await;
    let dir = app.stop().await;
    // The service's key, handed over as a systemd credential instead of the file.
    let credentials = tempfile::tempdir().expect("tempdir");
    std::fs::rename(dir.path().join("kek.key"), credentials.path().join("parley-kek")).expect("move key");
    let run = |args: &[&str]| {
        std::process::Command::new(crate::cli::BIN)
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .env("CREDENTIALS_DIRECTORY", credentials.path())
            .env_remove("PARLEY_CONFIG")
            .output()
            .expect("run parley")
    };
    let show = run(&["keys", "show"]);
    let shown = text(&show);
    assert!(show.status.success() && shown.contains("systemd credential"), "{shown}");
    assert!(!dir.path().join("kek.key").exists(), "no key file is created when the credential is used");
    let rotate = run(&["keys", "rotate"]);
    assert!(!rotate.status.success() && text(&rotate).contains("systemd credential"), "{}", text(&rotate));
}
