//! The Data requests and Audit log sections in a real browser: the DPO finds a person, reads
//! their transcript, erases them with a reason, and checks the audit chain.

use serde_json::json;

use super::sign_in;
use super::webdriver::Driver;
use crate::chat_support::{PASSWORD, operator, send, start, until, uuid, visitor};
use crate::harness::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_finds_reads_and_erases_a_persons_data() {
    let app = TestApp::spawn().await;
    let _olive = operator(&app, "olive").await;
    let mut ws = visitor(&app).await;
    let (conversation, _) = start(&mut ws, "Nia").await;
    let leave = json!({ "v": 1, "type": "leave_message", "id": uuid(), "site": "main", "name": "Nia",
                        "email": "nia@example.org", "text": "Please call me." });
    send(&mut ws, leave).await;
    until(&mut ws, "ack").await;
    app.add_user("dora", "dpo", PASSWORD).await;
    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    sign_in(&browser, &app, "dora").await;
    browser.goto(&app.staff("/admin")).await;
    browser.find("#gdpr-form").await;

    // Search by the conversation id: her chat and (by name) nothing else.
    browser.eval("const s = document.getElementById('gdpr-by'); s.value = 'conversation'; s.dispatchEvent(new Event('change')); return true").await;
    browser.type_into("#gdpr-value", &conversation).await;
    browser.click("#gdpr-search").await;
    browser.wait_until("return !!document.querySelector('article.gdpr-subject')", "a subject found").await;
    let subject = browser.eval("return document.querySelector('article.gdpr-subject').dataset.subject").await;
    let subject = subject.as_str().expect("subject").to_owned();
    browser.click("article.gdpr-subject button.view-transcript").await;
    browser.wait_text("#gdpr-transcript-lines", "Where do I pay my council tax?").await;
    browser.screenshot("admin-data-requests").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "data requests: {problems:?}");

    // Export: four download links that answer with the file.
    let formats = browser
        .eval("return [...document.querySelectorAll('article.gdpr-subject a.export-download')].map((a) => a.dataset.format).join(' ')")
        .await;
    assert_eq!(formats.as_str(), Some("json csv xlsx pdf"));
    let fetched = browser
        .eval("const x = new XMLHttpRequest(); x.open('GET', document.querySelector('a.export-download[data-format=pdf]').href, false); x.send(); return x.status + ' ' + x.getResponseHeader('content-type')")
        .await;
    assert_eq!(fetched.as_str(), Some("200 application/pdf"));
    // Her chat gave no address (her offline message is another data subject's), so no e-mail form.
    browser.wait_text("article.gdpr-subject .gdpr-no-address", "No e-mail address is known").await;

    // Rectification: only the name is filled in; the entry is redrawn with the new name.
    browser.click("#gdpr-transcript-close").await;
    browser.click("article.gdpr-subject button.correct-subject").await;
    browser.click("article.gdpr-subject button.confirm-correct").await;
    browser.wait_text(&format!("#gdpr-correct-{subject}-error"), "at least one").await;
    browser.type_into(&format!("#gdpr-correct-name-{subject}"), "Nia Pryce").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "correction form: {problems:?}");
    browser.click("article.gdpr-subject button.confirm-correct").await;
    browser.wait_text("#gdpr-status", "are corrected").await;
    browser.wait_text("article.gdpr-subject dl.details", "Nia Pryce").await;
    let name: String = sqlx::query_scalar("SELECT action FROM audit_log WHERE action = 'gdpr.rectify'")
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("rectification audited");
    assert_eq!(name, "gdpr.rectify");

    // Who has seen her data: the transcript view above, by dora.
    browser.click("article.gdpr-subject button.access-report").await;
    browser.wait_text(&format!("#gdpr-access-{subject}"), "view.transcript").await;
    let expanded =
        browser.eval("return document.querySelector('button.access-report').getAttribute('aria-expanded')").await;
    assert_eq!(expanded.as_str(), Some("true"));

    // Breach scope for today, for dora's account: Nia is in it, with her chats.
    let today = parley::util::rfc3339(parley::util::now());
    let today = &today[..10];
    browser
        .eval(&format!(
            "for (const id of ['breach-from', 'breach-to']) document.getElementById(id).value = '{today}'; return true"
        ))
        .await;
    browser.type_into("#breach-user", "dora").await;
    browser.click("#breach-show").await;
    browser.wait_text(&format!("#breach-rows tr[data-subject='{subject}']"), "Chats").await;
    let csv = browser
        .eval("const x = new XMLHttpRequest(); x.open('GET', document.getElementById('breach-csv').href, false); x.send(); return x.status + ' ' + x.responseText")
        .await;
    let csv = csv.as_str().unwrap_or_default();
    assert!(csv.starts_with("200 subject,categories,reasons") && csv.contains(&format!("\r\n{subject},")), "{csv}");
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "breach scope: {problems:?}");
    browser.type_into("#breach-user", "x").await;
    browser.click("#breach-show").await;
    browser.wait_text("#breach-status", "No one").await;

    // Erase, with a reason.
    browser.click("article.gdpr-subject button.erase-subject").await;
    browser.type_into(&format!("#gdpr-reason-{subject}"), "Erasure request DR-7").await;
    browser.click("article.gdpr-subject button.confirm-erase").await;
    browser.wait_text("#gdpr-status", "Erased: 1 chats").await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM conversations")
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("count");
    assert_eq!(left, 0);

    // The audit log lists it and its chain is intact.
    browser.click("#audit-refresh").await;
    browser.wait_text("#audit-rows", "gdpr.erase").await;
    browser.click("#audit-verify").await;
    browser.wait_text("#audit-status", "The audit log is intact").await;
    browser.quit().await;
    app.stop().await;
}
