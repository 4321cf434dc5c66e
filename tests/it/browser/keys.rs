//! The administration page's "Encryption keys" section in a real browser.

use super::sign_in;
use super::webdriver::Driver;
use crate::harness::TestApp;

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_see_the_key_state_but_never_a_key() {
    let app = TestApp::spawn().await;
    app.add_user("ada", "administrator", PASSWORD).await;
    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    sign_in(&browser, &app, "ada").await;
    browser.goto(&app.staff("/admin")).await;
    let fingerprint = app.app.state().store.keks().await.expect("keks")[0].fingerprint.clone();
    browser.wait_text("#keys-rows", &fingerprint).await;
    browser.wait_text("#keys-rows", "In use").await;
    browser.wait_text("#keys-source", "kek.key").await;
    let page = browser.eval("return document.body.innerText").await;
    let key = std::fs::read_to_string(app.dir.path().join("kek.key")).expect("key");
    assert!(!page.as_str().unwrap_or_default().contains(key.trim()), "the key itself is never shown");
    browser.eval("document.getElementById('keys-title').scrollIntoView(); return true").await;
    browser.screenshot("admin-keys").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "administration page with keys: {problems:?}");
    browser.quit().await;
    app.stop().await;
}
