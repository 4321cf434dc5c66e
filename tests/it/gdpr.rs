//! Data-subject requests: one search across every category, erasure that removes a person from
//! every category and stays done after a backup restore, the access log, and the audit chain.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat_support::{PASSWORD, operator, remembered_visitor, send, until, uuid, visitor};
use crate::cli::{BIN, parley, text};
use crate::harness::{TestApp, test_config};
use crate::websocket::Client;

/// A signed-in staff member for API calls.
pub(crate) struct Staff {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

impl Staff {
    pub(crate) async fn new(app: &TestApp, name: &str, role: &str) -> Staff {
        app.add_user(name, role, PASSWORD).await;
        Staff::login(app, name).await
    }

    pub(crate) async fn login(app: &TestApp, name: &str) -> Staff {
        let (cookie, csrf) = app.login(name, PASSWORD).await;
        Staff { cookie, csrf }
    }

    pub(crate) async fn put(&self, app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(app, Method::PUT, path, Some(body)).await
    }

    /// GET that must answer 200.
    pub(crate) async fn get(&self, app: &TestApp, path: &str) -> Value {
        let (status, body) = self.call(app, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    pub(crate) async fn call(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = app
            .client
            .request(method, app.staff(path))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn search(&self, app: &TestApp, by: &str, value: &str) -> (StatusCode, Value) {
        self.call(app, Method::POST, "/api/v1/gdpr/search", Some(json!({ "by": by, "value": value }))).await
    }
}

/// A visitor chats (with e-mail and phone in the pre-chat form) and asks for the transcript;
/// returns the conversation id.
pub(crate) async fn chat(ws: &mut Client, name: &str, email: &str, phone: &str) -> String {
    let start = json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": name, "question": format!("{name} asks about bins"),
                        "answers": { "email": email, "phone": phone } });
    send(ws, start).await;
    let (started, _) = until(ws, "started").await;
    let conversation = started["conversation"].as_str().expect("id").to_owned();
    let token = started["token"].as_str().expect("token").to_owned();
    send(ws, json!({ "v": 1, "type": "email_transcript", "id": uuid(), "conversation": conversation, "token": token, "email": email })).await;
    until(ws, "ack").await;
    conversation
}

pub(crate) async fn leave_message(ws: &mut Client, name: &str, email: &str) {
    let leave = json!({ "v": 1, "type": "leave_message", "id": uuid(), "site": "main", "name": name, "email": email, "text": format!("{name} left a message") });
    send(ws, leave).await;
    until(ws, "ack").await;
}

pub(crate) async fn spawn(extra: impl FnOnce(&mut parley::config::Config) + Send + 'static) -> TestApp {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let app = TestApp::spawn_with(move |c| {
        crate::mail::with_smtp(unused)(c);
        extra(c);
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
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_search_finds_a_person_everywhere_and_erasure_removes_them() {
    let app = spawn(|_| {}).await;
    let _olive = operator(&app, "olive").await;
    let (nia_visitor, mut nia) = remembered_visitor(&app).await;
    let nia_chat = chat(&mut nia, "Nia Jones", "nia@example.org", "07700 900123").await;
    leave_message(&mut nia, "Nia Jones", "NIA@example.org").await;
    let mut huw = visitor(&app).await;
    let huw_chat = chat(&mut huw, "Huw Evans", "huw@example.org", "07700 900999").await;

    let dpo = Staff::new(&app, "dora", "dpo").await;
    let admin = Staff::new(&app, "ada", "administrator").await;
    let clerk = Staff::new(&app, "cleo", "operator").await;

    // Every way of finding Nia finds the same one subject with all of her data, none of Huw's.
    let (status, found) = dpo.search(&app, "email", "nia@example.org").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let subjects = found["subjects"].as_array().expect("subjects").clone();
    assert_eq!(subjects.len(), 1, "{found}");
    let nia_subject = subjects[0]["subject"].as_i64().expect("subject");
    let nia_public = subjects[0]["public_id"].as_str().expect("public id").to_owned();
    assert!(nia_public.len() == 32 && nia_public.bytes().all(|b| b.is_ascii_hexdigit()), "{nia_public}");
    assert_eq!(subjects[0]["conversations"][0]["conversation"], nia_chat.as_str());
    assert_eq!(subjects[0]["conversations"].as_array().map(Vec::len), Some(1));
    assert_eq!(subjects[0]["offline_requests"].as_array().map(Vec::len), Some(1));
    assert_eq!(subjects[0]["mails"].as_array().map(Vec::len), Some(1));
    assert_eq!(subjects[0]["names"], json!(["Nia Jones"]));
    assert!(!found.to_string().contains("Huw"), "nothing about anyone else: {found}");
    for (by, value) in [
        ("phone", "+44 7700 900123"),
        ("name", "  nia   JONES "),
        ("visitor", nia_visitor.as_str()),
        ("conversation", nia_chat.as_str()),
    ] {
        let (status, other) = dpo.search(&app, by, value).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(other["subjects"][0]["subject"], nia_subject, "by {by}: {other}");
    }
    // By IP address: kept truncated to /24 by default, so both visitors (same machine) match.
    let (_, by_ip) = dpo.search(&app, "ip", "127.0.0.1").await;
    assert_eq!(by_ip["subjects"].as_array().map(Vec::len), Some(2), "{by_ip}");
    assert_eq!(by_ip["subjects"][0]["ips"], json!(["127.0.0.0/24"]));
    let (_, by_net) = dpo.search(&app, "ip", "127.0.0.0/24").await;
    assert_eq!(by_net["subjects"].as_array().map(Vec::len), Some(2));
    let (_, none) = dpo.search(&app, "email", "nobody@example.org").await;
    assert_eq!(none["subjects"], json!([]));
    let (status, body) = dpo.search(&app, "conversation", "not-a-uuid").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid")));
    // Who may do what.
    assert_eq!(admin.search(&app, "email", "nia@example.org").await.0, StatusCode::OK);
    assert_eq!(clerk.search(&app, "email", "nia@example.org").await.0, StatusCode::FORBIDDEN);
    let erase = format!("/api/v1/gdpr/subjects/{nia_subject}/erase");
    let (status, _) = admin.call(&app, Method::POST, &erase, Some(json!({ "reason": "request DR-1" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the DPO erases");
    let (status, body) = dpo.call(&app, Method::POST, &erase, Some(json!({ "reason": "  " }))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid")));

    // Viewing the transcript is recorded in the access log.
    let (status, _) = admin.call(&app, Method::GET, &format!("/api/v1/conversations/{nia_chat}/messages"), None).await;
    assert_eq!(status, StatusCode::OK);

    // Erasure: everything of Nia's goes, Huw stays.
    let (status, erased) =
        dpo.call(&app, Method::POST, &erase, Some(json!({ "reason": "erasure request DR-1" }))).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(erased["erased"], json!({ "conversations": 1, "offline_requests": 1, "mails": 1 }));
    let (status, body) = dpo.call(&app, Method::POST, &erase, Some(json!({ "reason": "again" }))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_subject")));
    for (by, value) in [("email", "nia@example.org"), ("name", "Nia Jones"), ("conversation", nia_chat.as_str())] {
        assert_eq!(dpo.search(&app, by, value).await.1["subjects"], json!([]), "by {by}");
    }
    let (_, huw_found) = dpo.search(&app, "conversation", &huw_chat).await;
    assert_eq!(huw_found["subjects"][0]["names"], json!(["Huw Evans"]));
    let store = &app.app.state().store;
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql).bind(nia_subject).fetch_one(store.reader()).await.expect("count")
    };
    assert_eq!(count("SELECT COUNT(*) FROM subjects WHERE id = ?1").await, 0, "the key is destroyed");
    assert_eq!(count("SELECT COUNT(*) FROM subject_index WHERE subject_id = ?1").await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM erasure_ledger WHERE ?1 > 0").await, 1);
    let messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages").fetch_one(store.reader()).await.expect("n");
    assert_eq!(messages, 1, "only Huw's first message is left");

    // The audit log records searches (by what, never the value), views and the erasure.
    let (_, audit) = admin.call(&app, Method::GET, "/api/v1/audit?limit=100", None).await;
    let actions: Vec<&str> = audit.as_array().expect("entries").iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(
        actions.contains(&"gdpr.search") && actions.contains(&"gdpr.erase") && actions.contains(&"view.transcript")
    );
    assert!(!audit.to_string().contains("nia@example.org") && !audit.to_string().contains("Nia"), "{audit}");
    let view = audit.as_array().expect("entries").iter().find(|e| e["action"] == "view.transcript").expect("view");
    assert_eq!(
        (view["actor"].as_str(), view["target"].as_str()),
        (Some("ada"), Some(format!("subject {nia_public}").as_str()))
    );
    let (_, verified) = admin.call(&app, Method::GET, "/api/v1/audit/verify", None).await;
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(clerk.call(&app, Method::GET, "/api/v1/audit", None).await.0, StatusCode::FORBIDDEN);

    // An edited entry breaks the chain (the triggers have to be dropped to edit at all).
    let first_search: i64 = sqlx::query_scalar("SELECT MIN(id) FROM audit_log WHERE action = 'gdpr.search'")
        .fetch_one(store.reader())
        .await
        .expect("id");
    store
        .write(move |conn| {
            Box::pin(async move {
                let refused = sqlx::query("UPDATE audit_log SET details = 'by phone' WHERE id = ?1")
                    .bind(first_search)
                    .execute(&mut *conn)
                    .await;
                assert!(refused.is_err(), "the log is append-only");
                sqlx::query("DROP TRIGGER audit_log_no_update").execute(&mut *conn).await?;
                sqlx::query("UPDATE audit_log SET details = 'by phone' WHERE id = ?1")
                    .bind(first_search)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
        .expect("tamper");
    let (_, verified) = admin.call(&app, Method::GET, "/api/v1/audit/verify", None).await;
    assert_eq!(
        (verified["ok"].as_bool(), verified["first_bad"].as_i64()),
        (Some(false), Some(first_search)),
        "{verified}"
    );
    let dir = app.stop().await;
    let cli = parley(&["audit", "verify"], dir.path(), None);
    assert!(!cli.status.success() && text(&cli).contains(&format!("entry {first_search}")), "{}", text(&cli));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_stays_erased_after_a_backup_is_restored() {
    let keys = tempfile::tempdir().expect("tempdir");
    let identity = age::x25519::Identity::generate();
    let identity_file = keys.path().join("backup-identity.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(&identity_file, format!("{}\n", identity.to_string().expose_secret())).expect("identity");
    }
    let recipient = identity.to_public().to_string();
    let app = spawn(move |c| c.backup.recipients = vec![recipient]).await;
    let _olive = operator(&app, "olive").await;
    let mut nia = visitor(&app).await;
    chat(&mut nia, "Nia Jones", "nia@example.org", "07700 900123").await;
    let mut huw = visitor(&app).await;
    let huw_chat = chat(&mut huw, "Huw Evans", "huw@example.org", "07700 900999").await;
    let dpo = Staff::new(&app, "dora", "dpo").await;

    // Backup first (an administrator's job), then the erasure.
    let admin = Staff::new(&app, "ada", "administrator").await;
    let (status, run) = admin.call(&app, Method::POST, "/api/v1/backups", None).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let backup = app.dir.path().join("backups").join(run["file"].as_str().expect("file"));
    let (_, found) = dpo.search(&app, "email", "nia@example.org").await;
    let subject = found["subjects"][0]["subject"].as_i64().expect("subject");
    let (status, _) = dpo
        .call(&app, Method::POST, &format!("/api/v1/gdpr/subjects/{subject}/erase"), Some(json!({ "reason": "DR-2" })))
        .await;
    assert_eq!(status, StatusCode::OK);
    let dir = app.stop().await;

    // Restore the backup that still holds her.
    let restored = std::process::Command::new(BIN)
        .args(["backup", "restore"])
        .arg(&backup)
        .arg("--identity")
        .arg(&identity_file)
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("PARLEY_CONFIG")
        .output()
        .expect("restore");
    assert!(restored.status.success(), "{}", text(&restored));
    let app = parley::app::Application::build(test_config(dir.path())).await.expect("start after restore");
    let store = &app.state().store;
    assert_eq!(
        store.subjects_by_index(parley::crypto::IndexKind::Email, "nia@example.org").await.expect("search"),
        Vec::<i64>::new()
    );
    let left: Vec<String> =
        sqlx::query_scalar("SELECT public_id FROM conversations").fetch_all(store.reader()).await.expect("rows");
    assert_eq!(left, [huw_chat], "Huw's chat came back, Nia's did not");
    let ledger: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM erasure_ledger WHERE ?1 > 0")
        .bind(subject)
        .fetch_one(store.reader())
        .await
        .expect("ledger");
    assert_eq!(ledger, 1, "the ledger survives the restore");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_is_recorded_with_the_notice_version_and_withdrawn_by_the_link() {
    // Keeping no IP addresses at all is a setting.
    let app = spawn(|c| c.privacy.visitor_ip = parley::config::IpRetention::None).await;
    // Its administrator chose to require consent to the chat (off by default).
    crate::consent::site(&app, "public_task", true, false).await;
    let _olive = operator(&app, "olive").await;
    let version = app.app.state().privacy.version.clone();
    let page = app.client.get(app.public("/privacy")).send().await.expect("privacy").text().await.expect("html");
    assert!(page.contains(&format!("Version {version}")) && page.contains("dpo@example.gov.uk"), "{page}");
    let mut ws = visitor(&app).await;
    let start = json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": "Nia", "question": "Hello?", "consent": true,
                        "answers": { "email": "nia@example.org" } });
    send(&mut ws, start).await;
    let (started, _) = until(&mut ws, "started").await;
    let dpo = Staff::new(&app, "dora", "dpo").await;
    let (_, found) = dpo.search(&app, "email", "nia@example.org").await;
    let consent = &found["subjects"][0]["consents"][0];
    assert_eq!(
        (consent["purpose"].as_str(), consent["notice_version"].as_str()),
        (Some("chat"), Some(version.as_str()))
    );
    assert_eq!(consent["withdrawn_at"], Value::Null);
    assert_eq!(found["subjects"][0]["ips"], json!([]), "no address kept");
    assert_eq!(dpo.search(&app, "ip", "127.0.0.1").await.1["subjects"], json!([]));
    // The withdrawal link (as in the transcript e-mail) marks it withdrawn.
    let withdraw = app
        .client
        .post(app.public("/consent/withdraw"))
        .form(&[
            ("conversation", started["conversation"].as_str().expect("id")),
            ("token", started["token"].as_str().expect("token")),
        ])
        .send()
        .await
        .expect("withdraw");
    assert!(withdraw.status().is_success());
    let (_, found) = dpo.search(&app, "email", "nia@example.org").await;
    assert!(found["subjects"][0]["consents"][0]["withdrawn_at"].is_string(), "{found}");

    // Changing what the notice says publishes a new version; the old one stays on record.
    let dir = app.stop().await;
    let mut config = test_config(dir.path());
    config.privacy.dpo_contact = "data.protection@example.gov.uk".into();
    let app = parley::app::Application::build(config).await.expect("restart");
    assert_ne!(app.state().privacy.version, version);
    let versions = app.state().store.privacy_versions().await.expect("versions");
    assert_eq!(versions.len(), 2, "{versions:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rectification_changes_a_persons_details_everywhere_and_audits_fingerprints_only() {
    let app = spawn(|_| {}).await;
    let _olive = operator(&app, "olive").await;
    let mut ws = visitor(&app).await;
    let conversation = chat(&mut ws, "Nia Jnoes", "nia@exmaple.org", "07700 900123").await;
    leave_message(&mut ws, "Nia Jnoes", "nia@exmaple.org").await;
    let dpo = Staff::new(&app, "dora", "dpo").await;
    let clerk = Staff::new(&app, "cleo", "operator").await;
    let subject =
        dpo.search(&app, "email", "nia@exmaple.org").await.1["subjects"][0]["subject"].as_i64().expect("subject");
    let path = format!("/api/v1/gdpr/subjects/{subject}");
    let fix = json!({ "name": "Nia Jones", "email": "nia@example.org", "phone": "07700 900321" });
    assert_eq!(clerk.call(&app, Method::PATCH, &path, Some(fix.clone())).await.0, StatusCode::FORBIDDEN);
    for bad in [json!({}), json!({ "email": "not an address" }), json!({ "phone": "call me" })] {
        let (status, body) = dpo.call(&app, Method::PATCH, &path, Some(bad.clone())).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid")), "{bad}");
    }
    let (status, fixed) = dpo.call(&app, Method::PATCH, &path, Some(fix)).await;
    assert_eq!(status, StatusCode::OK, "{fixed}");
    assert_eq!(fixed["subject"]["names"], json!(["Nia Jones"]));
    assert_eq!(
        fixed["subject"]["emails"],
        json!(["nia@example.org", "nia@exmaple.org"]),
        "the sent e-mail keeps its address"
    );
    // Found by the new details, not the old ones.
    assert_eq!(dpo.search(&app, "name", "Nia Jones").await.1["subjects"][0]["subject"], subject);
    assert_eq!(dpo.search(&app, "phone", "07700900321").await.1["subjects"][0]["subject"], subject);
    assert_eq!(dpo.search(&app, "name", "Nia Jnoes").await.1["subjects"], json!([]));
    // The chat shows the new name, and the pre-chat answers hold the new address and phone.
    let store = &app.app.state().store;
    let row = store.conversation_by_public_id(&conversation).await.expect("read").expect("row");
    assert_eq!(row.visitor_name, "Nia Jones");
    assert_eq!(store.messages_after(row.id, 0, 10).await.expect("messages")[0].author_name, "Nia Jones");
    let answers = store.visitor_context(row.id).await.expect("context").answers.unwrap_or_default();
    assert!(answers.contains("nia@example.org") && answers.contains("07700 900321"), "{answers}");
    assert!(!answers.contains("exmaple"), "{answers}");
    // The audit log has fingerprints, never the values.
    let (_, audit) = dpo.call(&app, Method::GET, "/api/v1/audit", None).await;
    let entry =
        audit.as_array().expect("entries").iter().find(|e| e["action"] == "gdpr.rectify").expect("entry").clone();
    let details = entry["details"].as_str().unwrap_or_default();
    assert!(details.contains("name ") && details.contains(" -> "), "{details}");
    assert!(!details.contains("Nia") && !details.contains("example"), "{details}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_reports_and_breach_scope_name_the_affected_people() {
    let app = spawn(|_| {}).await;
    let mut olive_ws = operator(&app, "olive").await;
    let mut nia = visitor(&app).await;
    let nia_chat = chat(&mut nia, "Nia Jones", "nia@example.org", "07700 900123").await;
    let mut huw = visitor(&app).await;
    chat(&mut huw, "Huw Evans", "huw@example.org", "07700 900999").await;
    crate::chat_support::accept(&mut olive_ws, &nia_chat).await;
    let olive = Staff { cookie: app.login("olive", PASSWORD).await.0, csrf: String::new() };
    // Olive reads Nia's transcript through the API (a recorded view).
    assert_eq!(
        olive.call(&app, Method::GET, &format!("/api/v1/conversations/{nia_chat}/messages"), None).await.0,
        StatusCode::OK
    );
    let dpo = Staff::new(&app, "dora", "dpo").await;
    let nia_subject =
        dpo.search(&app, "conversation", &nia_chat).await.1["subjects"][0]["subject"].as_i64().expect("subject");

    let (status, access) =
        dpo.call(&app, Method::GET, &format!("/api/v1/gdpr/subjects/{nia_subject}/access"), None).await;
    assert_eq!(status, StatusCode::OK);
    let who: Vec<(&str, &str)> = access
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| (e["actor"].as_str().unwrap_or_default(), e["action"].as_str().unwrap_or_default()))
        .collect();
    assert!(who.contains(&("olive", "view.transcript")) && who.contains(&("dora", "gdpr.search")), "{who:?}");
    assert!(who.contains(&("olive", "view.chat")), "accepting the chat in the dashboard is recorded too: {who:?}");

    // Breach scope for olive's account today: Nia (her chat, her view), not Huw.
    let today = time::OffsetDateTime::now_utc().date();
    let day = format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());
    let (status, scope) =
        dpo.call(&app, Method::GET, &format!("/api/v1/gdpr/breach-scope?from={day}&to={day}&user=olive"), None).await;
    assert_eq!(status, StatusCode::OK, "{scope}");
    let subjects = scope["subjects"].as_array().expect("subjects");
    // Huw only because olive's dashboard queue showed him waiting (the access log).
    assert_eq!(subjects.len(), 2, "{scope}");
    assert_eq!(subjects[1]["reasons"], json!(["ws.queue by olive"]), "{scope}");
    assert_eq!(subjects[0]["subject"], nia_subject);
    assert_eq!(subjects[0]["categories"], json!(["chats", "mails"]));
    let reasons = subjects[0]["reasons"].to_string();
    assert!(reasons.contains("view.transcript by olive") && reasons.contains("chat handled by olive"), "{reasons}");
    // The whole day, everyone: both visitors; as CSV too.
    let (_, all) = dpo.call(&app, Method::GET, &format!("/api/v1/gdpr/breach-scope?from={day}&to={day}"), None).await;
    assert_eq!(all["subjects"].as_array().map(Vec::len), Some(2));
    let csv = app
        .client
        .get(app.staff(&format!("/api/v1/gdpr/breach-scope?from={day}&to={day}&format=csv")))
        .header("cookie", &dpo.cookie)
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.expect("text");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.starts_with("subject,categories,reasons"), "{text}");
    // Bad windows are refused clearly; operators cannot see reports.
    let (status, body) =
        dpo.call(&app, Method::GET, "/api/v1/gdpr/breach-scope?from=2026-12-02&to=2026-12-01", None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_query")));
    assert_eq!(
        olive.call(&app, Method::GET, &format!("/api/v1/gdpr/breach-scope?from={day}&to={day}"), None).await.0,
        StatusCode::FORBIDDEN
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_second_approver_an_erasure_waits_for_a_different_person() {
    let app = spawn(|c| c.privacy.erasure_second_approver = true).await;
    let _olive = operator(&app, "olive").await;
    let mut nia = visitor(&app).await;
    chat(&mut nia, "Nia Jones", "nia@example.org", "07700 900123").await;
    let dora = Staff::new(&app, "dora", "dpo").await;
    let dave = Staff::new(&app, "dave", "dpo").await;
    let (_, found) = dora.search(&app, "email", "nia@example.org").await;
    let subject = found["subjects"][0]["subject"].as_i64().expect("subject");
    let path = format!("/api/v1/gdpr/subjects/{subject}/erase");

    let (status, body) = dora.call(&app, Method::POST, &path, Some(json!({ "reason": "DR-2026-001 erasure" }))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["awaiting_second_approver"], true);
    let (_, still) = dora.search(&app, "email", "nia@example.org").await;
    assert_eq!(still["subjects"].as_array().map(Vec::len), Some(1), "nothing erased yet");
    let (status, body) = dora.call(&app, Method::POST, &path, Some(json!({ "reason": "again" }))).await;
    assert_eq!(status, StatusCode::CONFLICT, "the requester cannot approve their own request");
    assert_eq!(body["code"], "second_approver_needed");

    let (status, body) = dave.call(&app, Method::POST, &path, Some(json!({ "reason": "checked DR-2026-001" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["erased"]["conversations"], 1);
    let (_, gone) = dave.search(&app, "email", "nia@example.org").await;
    assert_eq!(gone["subjects"].as_array().map(Vec::len), Some(0), "{gone}");
    let (_, audit) = dave.call(&app, Method::GET, "/api/v1/audit?limit=1000", None).await;
    let entries = audit.as_array().expect("entries");
    assert!(entries.iter().any(|e| e["action"] == "gdpr.erase_requested" && e["actor"] == "dora"));
    let erase = entries.iter().find(|e| e["action"] == "gdpr.erase").expect("erase audited");
    assert_eq!(erase["actor"], "dave");
    assert!(erase["details"].as_str().is_some_and(|d| d.contains("requested by dora")), "{erase}");
    app.stop().await;
}

/// `parley gdpr erase` as the console user `cli:<user>` (the real OS user, whatever `SUDO_USER`
/// or `USER` say): with a second approver required it only records the request; the same OS user
/// cannot approve it, even claiming another name, and the refusal is audited; a DPO in the
/// dashboard can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_erasure_also_waits_for_a_second_approver() {
    let app = spawn(|c| c.privacy.erasure_second_approver = true).await;
    let _olive = operator(&app, "olive").await;
    let mut nia = visitor(&app).await;
    chat(&mut nia, "Nia Jones", "nia@example.org", "07700 900123").await;
    let dora = Staff::new(&app, "dora", "dpo").await;
    let (_, found) = dora.search(&app, "email", "nia@example.org").await;
    let subject = found["subjects"][0]["subject"].as_i64().expect("subject");
    let public = found["subjects"][0]["public_id"].as_str().expect("public id").to_owned();
    let console_erase = |reason: &str, claimed: &str| {
        std::process::Command::new(BIN)
            .args(["gdpr", "erase", "--subject", &subject.to_string(), "--reason", reason, "--data-dir"])
            .arg(app.dir.path())
            .env_remove("PARLEY_CONFIG")
            .env("SUDO_USER", claimed)
            .env("USER", claimed)
            .env("PARLEY_PRIVACY__ERASURE_SECOND_APPROVER", "true")
            .output()
            .expect("run parley")
    };
    let me = std::process::Command::new("id").arg("-un").output().expect("id");
    let me = format!("cli:{}", String::from_utf8_lossy(&me.stdout).trim());

    let asked = console_erase("DR-2026-007 by post", "ian");
    assert!(asked.status.success(), "{}", text(&asked));
    assert!(text(&asked).contains(&format!("requested as {me}")), "{}", text(&asked));
    let (_, still) = dora.search(&app, "email", "nia@example.org").await;
    assert_eq!(still["subjects"].as_array().map(Vec::len), Some(1), "nothing erased yet");
    let again = console_erase("DR-2026-007 again", "jo");
    assert!(!again.status.success(), "the same OS user cannot approve under another name: {}", text(&again));
    assert!(text(&again).contains("cannot also approve it"), "{}", text(&again));
    let (_, still) = dora.search(&app, "email", "nia@example.org").await;
    assert_eq!(still["subjects"].as_array().map(Vec::len), Some(1), "still nothing erased");

    let path = format!("/api/v1/gdpr/subjects/{subject}/erase");
    let (status, body) = dora.call(&app, Method::POST, &path, Some(json!({ "reason": "checked DR-2026-007" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, audit) = dora.call(&app, Method::GET, "/api/v1/audit?limit=1000", None).await;
    let entries = audit.as_array().expect("entries");
    assert!(entries.iter().any(|e| e["action"] == "gdpr.erase_requested" && e["actor"] == me.as_str()), "{audit}");
    let refused = entries.iter().find(|e| e["action"] == "gdpr.erase_refused").expect("refusal audited");
    assert_eq!(
        (refused["actor"].as_str(), refused["target"].as_str()),
        (Some(me.as_str()), Some(format!("subject {public}").as_str()))
    );
    let erase = entries.iter().find(|e| e["action"] == "gdpr.erase").expect("erase audited");
    assert!(erase["details"].as_str().is_some_and(|d| d.contains(&format!("requested by {me}"))), "{erase}");
    app.stop().await;
}
