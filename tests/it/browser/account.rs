//! "Your account" in a real browser: first sign-in with a generated password forces a change,
//! then an administrator's role forces TOTP enrolment (QR code and recovery codes), then the
//! dashboard opens; the next sign-in asks for a code.

use parley::auth::totp;

use super::webdriver::Driver;
use crate::harness::TestApp;

const NEW_PASSWORD: &str = "plum kettle orbit 1947";

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        buffer = (buffer << 5) | ALPHABET.iter().position(|&a| a == c).expect("base32") as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_password_change_then_totp_enrolment() {
    let app = TestApp::spawn_with(|c| c.auth.totp_required_roles = vec!["administrator".into()]).await;
    let (_, generated) = app.app.state().accounts.add_user("ray", "administrator", None, None).await.expect("user");
    let generated = generated.expect("generated password");
    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;

    browser.goto(&app.staff("/")).await;
    browser.type_into("#username", "ray").await;
    browser.type_into("#password", &generated).await;
    browser.click("#login-form button[type=submit]").await;
    browser.wait_text("#account-required", "choose a new password").await;
    browser.type_into("#current-password", &generated).await;
    browser.type_into("#new-password", "Password1234").await;
    browser.type_into("#repeat-password", "Password1234").await;
    browser.click("#password-form button[type=submit]").await;
    browser.wait_text("#password-error", "commonly used").await;
    browser.eval("document.getElementById('password-form').reset(); return true").await;
    browser.type_into("#current-password", &generated).await;
    browser.type_into("#new-password", NEW_PASSWORD).await;
    browser.type_into("#repeat-password", NEW_PASSWORD).await;
    browser.click("#password-form button[type=submit]").await;

    // The page starts again and now asks for two-factor enrolment.
    browser.wait_text("#account-required", "two-factor sign-in").await;
    browser.click("#totp-start").await;
    browser.wait_until("return document.getElementById('totp-qr').naturalWidth > 0", "QR code drawn").await;
    let secret = browser.wait_text("#totp-secret", "").await;
    let secret = base32_decode(&secret);
    assert_eq!(secret.len(), 20);
    browser.screenshot("account-totp-enrolment").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "TOTP enrolment page: {problems:?}");
    let qr = browser.eval("return document.getElementById('totp-qr').src").await;
    assert!(qr.as_str().unwrap_or_default().starts_with("data:image/svg+xml,"), "QR code from this server: {qr}");

    let step = totp::step_at(parley::util::now());
    browser.type_into("#totp-confirm-code", &format!("{:06}", totp::code_at(&secret, step))).await;
    browser.click("#totp-confirm-form button[type=submit]").await;
    browser.wait_text("#totp-state", "Recovery codes left: 10").await;
    let codes = browser.eval("return document.querySelectorAll('#totp-code-list li').length").await;
    assert_eq!(codes.as_i64(), Some(10));
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "recovery codes: {problems:?}");
    browser.click("#totp-continue").await;
    browser.wait_text("#welcome", "Signed in as ray").await;

    // Sign out; signing in again asks for a code.
    browser.sign_out().await;
    browser.type_into("#username", "ray").await;
    browser.type_into("#password", NEW_PASSWORD).await;
    browser.click("#login-form button[type=submit]").await;
    browser.wait_text("#login-error", "six-digit code").await;
    browser.type_into("#totp-code", &format!("{:06}", totp::code_at(&secret, step + 1))).await;
    browser.click("#login-form button[type=submit]").await;
    browser.wait_text("#welcome", "Signed in as ray").await;

    browser.goto(&app.staff("/#account")).await;
    browser.wait_text("#sessions-body", "This browser").await;
    browser.screenshot("account-page").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "account page: {problems:?}");
    browser.quit().await;
    app.stop().await;
}
