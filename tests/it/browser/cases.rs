//! Requests as cases in a real browser: the DPO logs a late request and a new one, sees the
//! overdue one flagged in words, closes it, and sees the open ones on the dashboard.

use super::sign_in;
use super::webdriver::Driver;
use crate::chat_support::PASSWORD;
use crate::harness::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_logs_requests_and_sees_the_deadlines() {
    let app = TestApp::spawn().await;
    app.add_user("dora", "dpo", PASSWORD).await;
    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    sign_in(&browser, &app, "dora").await;
    browser.goto(&app.staff("/admin")).await;
    browser.wait_until("return !document.getElementById('cases-empty').hidden", "no requests yet").await;

    // A request received on 31 January 2024: due 29 February 2024, long overdue.
    browser.eval("const k = document.getElementById('case-kind'); k.value = 'erasure'; return true").await;
    browser.eval("document.getElementById('case-received').value = '2024-01-31'; return true").await;
    browser.type_into("#case-notes", "By letter; ID checked").await;
    browser.click("#case-save").await;
    browser.wait_text("#cases-status", "Request DR-2024-001 logged; the deadline is 2024-02-29.").await;
    browser.wait_text("#cases-rows tr.overdue strong", "Overdue by").await;
    // One received today.
    browser.eval("document.getElementById('case-kind').value = 'access'; return true").await;
    browser.eval("const r = document.getElementById('case-received'); r.value = r.max; return true").await;
    browser.click("#case-save").await;
    browser.wait_until("return document.querySelectorAll('#cases-rows tr').length === 2", "two requests").await;
    let days =
        browser.eval("return document.querySelector('#cases-rows tr:not(.overdue) .days-left').textContent").await;
    assert!(days.as_str().is_some_and(|d| d.ends_with("days left")), "{days}");
    browser.screenshot("admin-requests").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "requests: {problems:?}");

    // The dashboard lists both; closing the late one takes it off.
    browser.goto(&app.staff("/")).await;
    browser.wait_text("#open-cases", "DR-2024-001 (Erasure): Overdue by").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "dashboard with open requests: {problems:?}");
    browser.goto(&app.staff("/admin")).await;
    browser.wait_until("return document.querySelectorAll('#cases-rows tr').length === 2", "listed").await;
    browser.click("#cases-rows tr.overdue button.case-done").await;
    browser.wait_text("#cases-status", "Request DR-2024-001 marked done.").await;
    browser.wait_until("return document.querySelectorAll('#cases-rows tr').length === 1", "one left").await;
    browser.quit().await;
    app.stop().await;
}
