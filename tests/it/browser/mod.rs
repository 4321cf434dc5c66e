//! Real-browser tests (Chromium via chromedriver). Screenshots land in
//! `target/tmp/screenshots/` for a person to look at.

mod account;
mod backups;
mod cases;
mod chat;
mod departments;
mod gdpr;
mod keys;
mod users;
mod webdriver;

use crate::harness::TestApp;
use webdriver::Driver;

const PASSWORD: &str = "correct horse battery staple";

/// Signs `name` in on the staff dashboard and waits for the welcome line.
pub(super) async fn sign_in(browser: &Driver, app: &TestApp, name: &str) {
    browser.goto(&app.staff("/")).await;
    browser.type_into("#username", name).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("#login-form button[type=submit]").await;
    browser.wait_text("#welcome", &format!("Signed in as {name}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_and_out_in_a_browser() {
    let app = TestApp::spawn().await;
    app.add_user("pat", "administrator", PASSWORD).await;
    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;

    browser.goto(&app.staff("/")).await;
    browser.find("#login-form").await;
    browser.screenshot("dashboard-sign-in").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "sign-in page: {problems:?}");
    // The check itself can fail: an unlabelled field is reported.
    browser
        .eval("const i = document.createElement('input'); i.id = 'unlabelled'; document.body.append(i); return true")
        .await;
    let problems = browser.axe_violations().await;
    assert!(problems.iter().any(|p| p.contains("#unlabelled")), "axe reports a missing label: {problems:?}");
    browser.eval("document.getElementById('unlabelled').remove(); return true").await;
    // A wrong password shows the server's message and keeps the form.
    browser.type_into("#username", "pat").await;
    browser.type_into("#password", "not the right one").await;
    browser.click("#login-form button[type=submit]").await;
    browser.wait_text("#login-error", "user name or password is wrong").await;

    browser.eval("document.getElementById('password').value = ''").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("#login-form button[type=submit]").await;
    browser.wait_text("#welcome", "Signed in as pat").await;
    browser.wait_text("#who", "(administrator)").await;
    browser.screenshot("dashboard-signed-in").await;
    assert_eq!(app.session_count().await, 1);
    // The session cookie is HttpOnly: page scripts cannot read it.
    let cookies = browser.eval("return document.cookie").await;
    assert_eq!(cookies.as_str(), Some(""), "cookie hidden from scripts");

    browser.goto(&app.staff("/admin")).await;
    browser.wait_text("#status", "Signed in as pat").await;
    browser.screenshot("admin").await;

    browser.sign_out().await;
    browser.wait_text("#login-title", "Sign in").await;
    assert_eq!(app.session_count().await, 0, "sign-out ended the session");
    browser.quit().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_shows_the_widget_launcher() {
    let app = TestApp::spawn_with(|c| c.demo = true).await;
    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    browser.goto(&app.public("/demo")).await;
    browser.click("body > button").await;
    let frame_visible = browser.eval("return !document.querySelector('iframe').hidden").await;
    assert_eq!(frame_visible.as_bool(), Some(true));
    // The iframe (same origin as the demo page) loads; its websocket says hello and, with no
    // operator online, the widget offers the "leave a message" form.
    let offline =
        "return document.querySelector('iframe').contentDocument?.getElementById('offline')?.hidden === false";
    browser.wait_until(offline, "widget connected and showing the offline form").await;
    let snippet = browser.eval("return document.querySelector('pre').textContent").await;
    assert!(snippet.as_str().unwrap_or_default().contains(&app.app.public_addr().to_string()), "{snippet}");
    browser.screenshot("demo-widget-open").await;
    browser.quit().await;
    app.stop().await;
}
