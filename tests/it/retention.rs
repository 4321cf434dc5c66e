//! Retention: rows created through the real chat and API, aged by SQL updates of their
//! timestamps; the preview counts exactly the expired ones, the purge deletes exactly those (open
//! chats and pending e-mails never), drops subjects left with nothing, and is audited and counted.

use http::{Method, StatusCode};
use serde_json::json;

use crate::chat_support::{accept, operator, send, until, visitor};
use crate::cli::{parley, text};
use crate::gdpr::{Staff, chat, leave_message, spawn};

const DAY: i64 = 86_400;

async fn sql(app: &crate::harness::TestApp, statement: &'static str, days_ago: i64, key: String) {
    let at = parley::util::now() - days_ago * DAY;
    app.execute(statement, vec![at.into(), key.into()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_deletes_exactly_what_is_past_its_retention_period() {
    let app = spawn(|_| {}).await;
    let mut olive = operator(&app, "olive").await;
    let dpo = Staff::new(&app, "dora", "dpo").await;
    let clerk = Staff::new(&app, "cleo", "operator").await;

    // Nia: a chat closed 400 days ago, its transcript mail (sent) and an open offline message
    // from 400 days ago — all expired, so her key goes too.
    let mut nia = visitor(&app).await;
    let nia_chat = chat(&mut nia, "Nia Jones", "nia@example.org", "07700 900123").await;
    leave_message(&mut nia, "Nia Jones", "nia@example.org").await;
    accept(&mut olive, &nia_chat).await;
    send(&mut nia, json!({ "v": 1, "type": "end" })).await;
    until(&mut nia, "closed").await;
    // Huw: a chat closed 10 days ago and a pending e-mail queued 400 days ago — both kept.
    let mut huw = visitor(&app).await;
    let huw_chat = chat(&mut huw, "Huw Evans", "huw@example.org", "07700 900999").await;
    accept(&mut olive, &huw_chat).await;
    send(&mut huw, json!({ "v": 1, "type": "end" })).await;
    until(&mut huw, "closed").await;
    // Ian: a chat still open after 400 days — open chats are never purged.
    let mut ian = visitor(&app).await;
    let ian_chat = chat(&mut ian, "Ian Price", "ian@example.org", "07700 900555").await;
    // Jo: an offline message that arrived 400 days ago but was done 100 days ago — kept.
    let mut jo = visitor(&app).await;
    leave_message(&mut jo, "Jo Bloggs", "jo@example.org").await;

    let store = &app.app.state().store;
    let (nia_subject, jo_offline): (i64, i64) = {
        let nia_subject: i64 = sqlx::query_scalar("SELECT subject_id FROM conversations WHERE public_id = ?1")
            .bind(&nia_chat)
            .fetch_one(store.reader())
            .await
            .expect("subject");
        let jo: i64 = sqlx::query_scalar("SELECT id FROM offline_requests WHERE subject_id != ?1")
            .bind(nia_subject)
            .fetch_one(store.reader())
            .await
            .expect("jo");
        (nia_subject, jo)
    };
    let (status, _) =
        clerk.call(&app, Method::POST, &format!("/api/v1/offline-requests/{jo_offline}/done"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let closed = "UPDATE conversations SET created_at = ?1 - 3600, closed_at = ?1 WHERE public_id = ?2";
    sql(&app, closed, 400, nia_chat.clone()).await;
    sql(&app, closed, 10, huw_chat.clone()).await;
    sql(&app, "UPDATE conversations SET created_at = ?1 WHERE public_id = ?2", 400, ian_chat.clone()).await;
    let nia_rows = "UPDATE offline_requests SET created_at = ?1 WHERE subject_id = CAST(?2 AS INTEGER)";
    sql(&app, nia_rows, 400, nia_subject.to_string()).await;
    let nia_mail = "UPDATE mail_outbox SET created_at = ?1, status = 'sent' WHERE subject_id = CAST(?2 AS INTEGER)";
    sql(&app, nia_mail, 400, nia_subject.to_string()).await;
    let others_mail = "UPDATE mail_outbox SET created_at = ?1 WHERE subject_id != CAST(?2 AS INTEGER)";
    sql(&app, others_mail, 400, nia_subject.to_string()).await;
    sql(
        &app,
        "UPDATE offline_requests SET created_at = ?1 WHERE id = CAST(?2 AS INTEGER)",
        400,
        jo_offline.to_string(),
    )
    .await;
    sql(&app, "UPDATE offline_requests SET done_at = ?1 WHERE id = CAST(?2 AS INTEGER)", 100, jo_offline.to_string())
        .await;

    // The preview counts exactly the expired rows, over the API and the command line.
    let (status, preview) = dpo.call(&app, Method::GET, "/api/v1/gdpr/retention", None).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["chats_days"], 365);
    // Nia is the one subject left with nothing: the dry run says so, and the purge agrees below.
    assert_eq!(preview["would_delete"], json!({ "chats": 1, "offline_requests": 1, "mails": 1, "subjects": 1 }));
    assert_eq!(clerk.call(&app, Method::GET, "/api/v1/gdpr/retention", None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(clerk.call(&app, Method::POST, "/api/v1/gdpr/retention/purge", None).await.0, StatusCode::FORBIDDEN);
    let data_dir = app.dir.path().to_owned();
    let dry = tokio::task::spawn_blocking(move || parley(&["gdpr", "purge", "--dry-run"], &data_dir, None))
        .await
        .expect("cli");
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(text(&dry).contains("1 chats older than 365 days would be deleted"), "{}", text(&dry));
    assert!(text(&dry).contains("1 data subjects would have nothing left"), "{}", text(&dry));
    let before: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM conversations").fetch_one(store.reader()).await.expect("n");
    assert_eq!(before, 3, "a dry run deletes nothing");

    // The purge deletes exactly those, and Nia's key and indexes with them (not into the ledger).
    let (status, purged) = dpo.call(&app, Method::POST, "/api/v1/gdpr/retention/purge", None).await;
    assert_eq!(status, StatusCode::OK, "{purged}");
    assert_eq!(purged["purged"], json!({ "chats": 1, "offline_requests": 1, "mails": 1, "subjects": 1 }));
    let mut left: Vec<String> =
        sqlx::query_scalar("SELECT public_id FROM conversations").fetch_all(store.reader()).await.expect("rows");
    left.sort();
    let mut expected = vec![huw_chat.clone(), ian_chat.clone()];
    expected.sort();
    assert_eq!(left, expected);
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql).bind(nia_subject).fetch_one(store.reader()).await.expect("count")
    };
    assert_eq!(count("SELECT COUNT(*) FROM subjects WHERE id = ?1").await, 0, "the key is destroyed");
    assert_eq!(count("SELECT COUNT(*) FROM subject_index WHERE subject_id = ?1").await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM erasure_ledger WHERE ?1 > 0").await, 0, "not an erasure");
    assert_eq!(count("SELECT COUNT(*) FROM offline_requests WHERE ?1 > 0").await, 1, "Jo's message stays");
    assert_eq!(count("SELECT COUNT(*) FROM mail_outbox WHERE ?1 > 0").await, 2, "pending mails stay");
    let nia_messages: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE conversation_id NOT IN (SELECT id FROM conversations)")
            .fetch_one(store.reader())
            .await
            .expect("messages");
    assert_eq!(nia_messages, 0, "messages go with their chat");
    let (_, after) = dpo.call(&app, Method::GET, "/api/v1/gdpr/retention", None).await;
    assert_eq!(after["would_delete"], json!({ "chats": 0, "offline_requests": 0, "mails": 0, "subjects": 0 }));

    // Audited with counts only, and counted in the metrics.
    let (_, audit) = dpo.call(&app, Method::GET, "/api/v1/audit?limit=100", None).await;
    let entry = audit.as_array().expect("entries").iter().find(|e| e["action"] == "retention.purge").expect("audited");
    assert_eq!(entry["actor"], "dora");
    assert_eq!(entry["details"], "chats 1, offline_requests 1, mails 1, subjects 1");
    let metrics = app.client.get(app.staff("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("parley_retention_purged_total{category=\"chats\"} 1"), "{metrics}");
    assert!(metrics.contains("parley_retention_purged_total{category=\"mails\"} 1"), "{metrics}");
    app.stop().await;
}
