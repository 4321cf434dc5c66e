//! Lawful basis and consent: chat runs on the site's lawful basis without a consent box, optional
//! purposes are recorded one by one, a site may still require consent; the withdrawal link comes
//! only with a consent, says what it does and is audited. Also the versioned privacy notice, the
//! key file's permissions, phone search forms, the retention and export audit points, and
//! refused erasures being audited.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat_support::{operator, send, until, uuid, visitor};
use crate::cli::{parley, text};
use crate::gdpr::{Staff, spawn};
use crate::harness::{TestApp, test_config};
use crate::mail::{SmtpSink, quoted_printable, with_smtp};
use crate::websocket::Client;

/// Saves site `main` with the e-mail and phone fields and these consent settings.
pub(crate) async fn site(app: &TestApp, basis: &str, require_consent: bool, ask_marketing: bool) {
    let fields = json!([{ "key": "email", "label": "E-mail", "type": "email" }, { "key": "phone", "label": "Phone", "type": "tel" }]);
    let input = json!({ "name": "Main website", "origins": ["https://www.example.gov.uk"], "fields": fields,
                        "lawful_basis": basis, "require_consent": require_consent, "ask_marketing": ask_marketing });
    let input: parley::service::sites::SiteInput = serde_json::from_value(input).expect("site input");
    app.app.state().sites.save("main", input).await.expect("site");
}

/// Sends a start with `extra` merged in; returns the `started` or `error` frame.
pub(crate) async fn start(ws: &mut Client, name: &str, extra: Value) -> Value {
    let mut frame = json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": name, "question": "Bins?" });
    for (k, v) in extra.as_object().expect("object") {
        frame[k] = v.clone();
    }
    send(ws, frame).await;
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), crate::websocket::next_json(ws))
            .await
            .expect("no started or error frame");
        if next["type"] == "started" || next["type"] == "error" {
            return next;
        }
    }
}

/// The consent ledger of the conversation: (purpose, notice version, withdrawn).
async fn ledger(app: &TestApp, conversation: &str) -> Vec<(String, String, bool)> {
    sqlx::query_as(
        "SELECT purpose, notice_version, withdrawn_at IS NOT NULL FROM consents
         WHERE conversation_id = (SELECT id FROM conversations WHERE public_id = ?1) ORDER BY id",
    )
    .bind(conversation)
    .fetch_all(app.app.state().store.reader())
    .await
    .expect("consents")
}

async fn widget_config(app: &TestApp) -> Value {
    app.client.get(app.public("/widget/config?site=main")).send().await.expect("config").json().await.expect("json")
}

async fn mail_of(ws: &mut Client, conversation: &str, token: &str, email: &str) {
    send(ws, json!({ "v": 1, "type": "email_transcript", "id": uuid(), "conversation": conversation, "token": token, "email": email })).await;
    until(ws, "ack").await;
}

async fn erase(app: &TestApp, who: &Staff, subject: i64) -> (StatusCode, Value) {
    let path = format!("/api/v1/gdpr/subjects/{subject}/erase");
    who.call(app, Method::POST, &path, Some(json!({ "reason": "DR-1" }))).await
}

async fn audit(app: &TestApp, action: &str) -> Vec<parley::store::AuditRow> {
    let entries = app.app.state().store.audit_entries(1000).await.expect("audit");
    entries.into_iter().filter(|e| e.action == action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_runs_on_the_lawful_basis_and_consent_is_asked_only_for_optional_purposes() {
    let app = spawn(|_| {}).await;
    let _olive = operator(&app, "olive").await;
    let version = app.app.state().privacy.version.clone();
    let config = widget_config(&app).await;
    assert_eq!(
        (&config["lawful_basis"], &config["require_consent"], &config["ask_marketing"]),
        (&json!("public_task"), &json!(false), &json!(false)),
        "by default: public task, no consent box: {config}"
    );

    // No consent given: the chat starts, and nothing is in the ledger (an old widget's
    // `consent: true` is not recorded where the site does not ask for it).
    let mut ws = visitor(&app).await;
    let plain = start(&mut ws, "Nia", json!({})).await;
    assert_eq!(plain["type"], "started", "{plain}");
    let conversation = plain["conversation"].as_str().expect("id").to_owned();
    assert_eq!(ledger(&app, &conversation).await, vec![]);
    let mut ws = visitor(&app).await;
    let old = start(&mut ws, "Owen", json!({ "consent": true })).await;
    assert_eq!(ledger(&app, old["conversation"].as_str().expect("id")).await, vec![]);
    // Marketing is refused where the site does not offer it.
    let mut ws = visitor(&app).await;
    let refused = start(&mut ws, "Pat", json!({ "consents": ["marketing"] })).await;
    assert_eq!((refused["type"].as_str(), refused["code"].as_str()), (Some("error"), Some("invalid")), "{refused}");

    // Offered: each purpose is its own row with the notice version; the transcript request adds one.
    site(&app, "legitimate_interests", false, true).await;
    let config = widget_config(&app).await;
    assert_eq!((&config["lawful_basis"], &config["ask_marketing"]), (&json!("legitimate_interests"), &json!(true)));
    let mut ws = visitor(&app).await;
    let started =
        start(&mut ws, "Rhys", json!({ "consents": ["marketing"], "answers": { "email": "rhys@example.org" } })).await;
    let conversation = started["conversation"].as_str().expect("id").to_owned();
    let token = started["token"].as_str().expect("token").to_owned();
    send(&mut ws, json!({ "v": 1, "type": "email_transcript", "id": uuid(), "conversation": conversation, "token": token, "email": "rhys@example.org" })).await;
    until(&mut ws, "ack").await;
    assert_eq!(
        ledger(&app, &conversation).await,
        vec![("marketing".into(), version.clone(), false), ("transcript".into(), version.clone(), false)]
    );

    // A site that requires consent refuses a start without it; the old `consent: true` still works.
    site(&app, "public_task", true, false).await;
    assert_eq!(widget_config(&app).await["require_consent"], true);
    let mut ws = visitor(&app).await;
    let refused = start(&mut ws, "Sian", json!({})).await;
    assert_eq!(refused["code"], "consent_required", "{refused}");
    let agreed = start(&mut ws, "Sian", json!({ "consent": true })).await;
    assert_eq!(ledger(&app, agreed["conversation"].as_str().expect("id")).await, vec![("chat".into(), version, false)]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_consent_brings_a_withdrawal_link_which_says_what_it_does_and_is_audited() {
    let smtp = SmtpSink::start();
    let app = TestApp::spawn_with(with_smtp(smtp.port)).await;
    site(&app, "public_task", false, true).await;
    let _olive = operator(&app, "olive").await;
    let ids = |frame: &Value| {
        (frame["conversation"].as_str().expect("id").to_owned(), frame["token"].as_str().expect("token").to_owned())
    };

    // Nia gave no consent: her transcript has no withdrawal link.
    let mut nia = visitor(&app).await;
    let (nia_chat, nia_token) = ids(&start(&mut nia, "Nia", json!({})).await);
    mail_of(&mut nia, &nia_chat, &nia_token, "nia@example.org").await;
    // Huw agreed to marketing contact: his has one, naming what it withdraws.
    let mut huw = visitor(&app).await;
    let (huw_chat, huw_token) = ids(&start(&mut huw, "Huw", json!({ "consents": ["marketing"] })).await);
    mail_of(&mut huw, &huw_chat, &huw_token, "huw@example.org").await;
    let mails: Vec<String> = smtp.wait_for(2).iter().map(|m| quoted_printable(m)).collect();
    let nia_mail = mails.iter().find(|m| m.contains("To: nia@example.org")).expect("nia's mail");
    let huw_mail = mails.iter().find(|m| m.contains("To: huw@example.org")).expect("huw's mail");
    assert!(!nia_mail.contains("/consent/withdraw"), "no consent, no link: {nia_mail}");
    assert!(nia_mail.contains("/privacy"), "{nia_mail}");
    let link = format!("https://chat.example.gov.uk/consent/withdraw?conversation={huw_chat}&token={huw_token}");
    assert!(huw_mail.contains(&link), "{huw_mail}");
    assert!(
        huw_mail.contains("contacting you about related services") && huw_mail.contains("does not delete the chat"),
        "{huw_mail}"
    );

    // The page says what will be withdrawn and that the chat is not deleted; Nia's has nothing.
    let page = |chat: &str, token: &str| {
        let path = format!("/consent/withdraw?conversation={chat}&token={token}");
        let request = app.client.get(app.public(&path));
        async move { request.send().await.expect("page").text().await.expect("html") }
    };
    let huw_page = page(&huw_chat, &huw_token).await;
    assert!(
        huw_page.contains("contacting you about related services") && huw_page.contains("does not delete this chat"),
        "{huw_page}"
    );
    assert!(huw_page.contains("Withdraw my consent"), "{huw_page}");
    let nia_page = page(&nia_chat, &nia_token).await;
    assert!(nia_page.contains("Nothing to withdraw") && !nia_page.contains("<form"), "{nia_page}");
    assert!(page(&huw_chat, "forged").await.contains("Link not recognised"));

    // Withdrawing is recorded in the ledger and audited with ids and purposes only.
    let form = [("conversation", huw_chat.as_str()), ("token", huw_token.as_str())];
    let done = app.client.post(app.public("/consent/withdraw")).form(&form).send().await.expect("post");
    assert_eq!(done.status(), 200);
    assert!(done.text().await.expect("html").contains("contacting you about related services"));
    let version = app.app.state().privacy.version.clone();
    assert_eq!(
        ledger(&app, &huw_chat).await,
        vec![("marketing".into(), version.clone(), true), ("transcript".into(), version, true)]
    );
    let withdrawn = audit(&app, "consent.withdrawn").await;
    assert_eq!(withdrawn.len(), 1, "{withdrawn:?}");
    assert_eq!(withdrawn[0].actor, "visitor");
    assert_eq!(withdrawn[0].target.as_deref(), Some(format!("conversation {huw_chat}").as_str()));
    assert_eq!(withdrawn[0].details.as_deref(), Some("purposes: marketing"));
    assert!(!format!("{withdrawn:?}").contains("huw@"), "no personal data in the audit entry");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notice_names_what_is_kept_and_earlier_versions_stay_readable() {
    let app = spawn(|c| c.privacy.visitor_ip = parley::config::IpRetention::Full).await;
    let first = app.app.state().privacy.version.clone();
    let get = |path: String, accept: &'static str| {
        let request = app.client.get(app.public(&path)).header("accept", accept);
        async move {
            let response = request.send().await.expect("privacy");
            (response.status(), response.text().await.expect("body"))
        }
    };
    let (status, page) = get("/privacy".into(), "text/html").await;
    assert_eq!(status, StatusCode::OK);
    for words in [
        "referrer",
        "rating",
        "We keep the IP address your chat comes from",
        "days after we have dealt with it",
        "days after it is sent",
    ] {
        assert!(page.contains(words), "{words}: {page}");
    }
    let dir = app.stop().await;

    // A new setting publishes a new version; the earlier one is served as it was.
    let mut config = test_config(dir.path());
    config.privacy.visitor_ip = parley::config::IpRetention::None;
    let app = TestApp {
        app: parley::app::Application::build(config).await.expect("restart"),
        client: crate::harness::client_trusting(&dir.path().join("tls/cert.pem")),
        dir,
    };
    assert_ne!(first, app.app.state().privacy.version);
    let (status, now) = get_page(&app, "/privacy", "text/html").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        now.contains("We do not keep the IP address") && now.contains(&format!("/privacy?version={first}")),
        "{now}"
    );
    let (status, old) = get_page(&app, &format!("/privacy?version={first}"), "text/html").await;
    assert_eq!(status, StatusCode::OK);
    assert!(old.contains("We keep the IP address your chat comes from") && old.contains("earlier version"), "{old}");
    assert!(old.contains(&format!("Version {first}")), "{old}");
    let (status, missing) = get_page(&app, "/privacy?version=000000000000", "text/html").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing.contains("not found"), "{missing}");
    let (status, json) = get_page(&app, "/privacy?version=000000000000", "application/json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let json: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["code"], "unknown_version", "{json}");
    app.stop().await;
}

async fn get_page(app: &TestApp, path: &str, accept: &str) -> (StatusCode, String) {
    let response = app.client.get(app.public(path)).header("accept", accept).send().await.expect("get");
    (response.status(), response.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_file_others_can_read_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let dir = app.stop().await;
    let kek = dir.path().join("kek.key");
    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let err = parley::app::Application::build(test_config(dir.path())).await.err().expect("refused").to_string();
    assert!(err.contains("chmod 600") && err.contains("kek.key"), "{err}");
    let check = parley(&["configtest"], dir.path(), None);
    assert!(!check.status.success() && text(&check).contains("chmod 600"), "{}", text(&check));
    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let app = parley::app::Application::build(test_config(dir.path())).await.expect("starts once private");
    app.stop().await;
    let check = parley(&["configtest"], dir.path(), None);
    assert!(check.status.success(), "{}", text(&check));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_search_matches_international_and_trunk_forms() {
    let app = spawn(|_| {}).await;
    let _olive = operator(&app, "olive").await;
    let mut ws = visitor(&app).await;
    let started = start(&mut ws, "Nia", json!({ "answers": { "phone": "+44 (0)7700 900123" } })).await;
    assert_eq!(started["type"], "started", "{started}");
    let dpo = Staff::new(&app, "dora", "dpo").await;
    for form in ["07700 900123", "447700900123", "+44 7700 900123", "+44 (0)7700 900123"] {
        let (status, found) =
            dpo.call(&app, Method::POST, "/api/v1/gdpr/search", Some(json!({ "by": "phone", "value": form }))).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["subjects"].as_array().map(Vec::len), Some(1), "{form}: {found}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_erasures_and_failed_exports_are_audited_as_such() {
    let app = spawn(|_| {}).await;
    let _olive = operator(&app, "olive").await;
    let mut ws = visitor(&app).await;
    start(&mut ws, "Nia", json!({ "answers": { "email": "nia@example.org" } })).await;
    let dpo = Staff::new(&app, "dora", "dpo").await;
    let clerk = Staff::new(&app, "cleo", "operator").await;
    let (_, found) = dpo
        .call(&app, Method::POST, "/api/v1/gdpr/search", Some(json!({ "by": "email", "value": "nia@example.org" })))
        .await;
    let subject = found["subjects"][0]["subject"].as_i64().expect("subject");
    let (status, body) = erase(&app, &clerk, subject).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, _) = erase(&app, &dpo, subject + 1000).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let refused = audit(&app, "gdpr.erase_refused").await;
    let seen: Vec<_> = refused.iter().map(|e| (e.actor.as_str(), e.details.as_deref().unwrap_or_default())).collect();
    assert!(seen.contains(&("cleo", "permission denied")), "{seen:?}");
    assert!(seen.contains(&("dora", "no such data subject")), "{seen:?}");
    let dir = app.stop().await;

    // An export that cannot be written is not audited as an export.
    let out = dir.path().join("taken.json");
    std::fs::write(&out, "already here").expect("write");
    let args = ["gdpr", "export", "--subject", &subject.to_string(), "--format", "json", "--out"];
    let cli = parley(&[&args[..], &[out.to_str().expect("path")]].concat(), dir.path(), None);
    assert!(!cli.status.success() && text(&cli).contains("must not exist"), "{}", text(&cli));
    assert_eq!(std::fs::read_to_string(&out).expect("read"), "already here", "left alone");
    let fresh = dir.path().join("fresh.json");
    let cli = parley(&[&args[..], &[fresh.to_str().expect("path")]].concat(), dir.path(), None);
    assert!(cli.status.success(), "{}", text(&cli));
    let app = parley::app::Application::build(test_config(dir.path())).await.expect("restart");
    let exports: Vec<_> = app
        .state()
        .store
        .audit_entries(1000)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.action == "gdpr.export")
        .collect();
    assert_eq!(exports.len(), 1, "only the written file is audited: {exports:?}");
    assert!(
        exports[0].actor.starts_with("cli:") && exports[0].details.as_deref().is_some_and(|d| d.contains("file")),
        "{exports:?}"
    );
    app.stop().await;
}
