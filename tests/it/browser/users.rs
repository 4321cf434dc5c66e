//! The administration page's Staff accounts, Roles and Audit report sections in a real browser:
//! an administrator makes a custom role through the permission matrix, adds a user with it,
//! sees the one-time password, disables the user and finds it all in the filtered audit report.

use super::sign_in;
use super::webdriver::Driver;
use crate::harness::TestApp;

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_makes_a_role_and_a_user_and_audits_it() {
    let app = TestApp::spawn().await;
    app.add_user("ada", "administrator", PASSWORD).await;
    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    sign_in(&browser, &app, "ada").await;
    browser.goto(&app.staff("/admin")).await;
    browser.wait_text("#roles-rows", "auditor").await;
    browser.wait_text("#users-rows", "ada").await;

    // A custom role with two permissions ticked in the matrix.
    browser.type_into("#role-name", "case-reader").await;
    browser.type_into("#role-description", "Reads stored chats and the audit log").await;
    browser.click("#perm-stored_chats-view").await;
    browser.click("#perm-audit-view").await;
    // Limited to the holders' own teams (the labelled scope field).
    let label = browser.eval("return document.querySelector('label[for=role-scope]').textContent").await;
    assert_eq!(label.as_str(), Some("Chats, offline requests and transcripts"));
    browser.eval("document.getElementById('role-scope').value = 'own_teams'; return true").await;
    browser.click("#role-save").await;
    browser.wait_text("#roles-status", "Role case-reader saved.").await;
    browser.wait_text("tr[data-role='case-reader']", "Stored chats: View").await;
    browser.wait_text("tr[data-role='case-reader']", "Own teams only").await;
    let mut granted = app.app.state().roles.permissions("case-reader").names();
    granted.sort();
    assert_eq!(granted, ["audit.view", "stored_chats.view"]);
    assert_eq!(app.app.state().roles.scope("case-reader"), parley::domain::Scope::OwnTeams);
    // Built-in roles show their fixed permissions read-only.
    browser.click("tr[data-role='operator'] button.edit-role").await;
    let locked = browser.eval("return document.getElementById('perm-chats-view').disabled && document.getElementById('perm-chats-view').checked").await;
    assert_eq!(locked.as_bool(), Some(true), "built-in permissions are shown ticked and read-only");
    let scope = browser.eval("const s = document.getElementById('role-scope'); return s.disabled && s.value").await;
    assert_eq!(scope.as_str(), Some("all"), "built-in roles reach all teams, read-only");
    browser.click("#role-cancel").await;

    // A user with that role (offered in the role list once the role exists); the one-time
    // password is shown once and takes the focus.
    browser
        .wait_until(
            "return [...document.getElementById('user-new-role').options].some((o) => o.value === 'case-reader')",
            "the new role offered for users",
        )
        .await;
    browser.type_into("#user-new-name", "cara").await;
    browser.type_into("#user-new-display", "Cara Evans").await;
    browser.eval("document.getElementById('user-new-role').value = 'case-reader'; return true").await;
    browser.click("#user-create").await;
    browser.wait_text("#users-status", "User cara added.").await;
    browser.wait_text("#users-password", "One-time password for cara").await;
    let password = browser.eval("return document.getElementById('users-password-value').textContent").await;
    let password = password.as_str().expect("password").to_owned();
    assert!(password.len() >= 12, "{password:?}");
    let focused = browser.eval("return document.activeElement.id").await;
    assert_eq!(focused.as_str(), Some("users-password"));
    let cara = app.app.state().store.user_by_name("cara").await.expect("read").expect("cara exists");
    assert_eq!(cara.role, "case-reader");
    // The password shown is the one that works.
    let login = app
        .client
        .post(app.staff("/api/v1/session"))
        .json(&serde_json::json!({ "username": "cara", "password": password }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), reqwest::StatusCode::OK, "the one-time password signs in");
    browser.screenshot("admin-users-password").await;
    browser.click("#users-password-done").await;
    let hidden = browser.eval("return document.getElementById('users-password').hidden && document.getElementById('users-password-value').textContent === ''").await;
    assert_eq!(hidden.as_bool(), Some(true), "the password is gone once done");

    // Disable, after confirming.
    browser.click("tr[data-user='cara'] button.user-disable").await;
    browser.click("tr[data-user='cara'] button.user-confirm-disable").await;
    browser.wait_text("#users-status", "User cara disabled.").await;
    browser.wait_text("tr[data-user='cara']", "Disabled").await;
    let cara = app.app.state().store.user_by_name("cara").await.expect("read").expect("cara exists");
    assert!(cara.disabled, "disabled in the database");

    // The audit report filtered by action shows what happened, and only that.
    browser.type_into("#audit-action", "user.").await;
    browser.click("#audit-apply").await;
    browser.wait_text("#audit-rows", "user.update").await;
    let shown = browser
        .eval("return [...document.querySelectorAll('#audit-rows tr td code')].map((c) => c.textContent).join(' ')")
        .await;
    let shown = shown.as_str().unwrap_or_default().to_owned();
    assert!(shown.contains("user.create"), "{shown}");
    assert!(shown.split(' ').all(|a| a.starts_with("user.")), "only user. entries: {shown}");
    // The CSV link follows the filter and answers with the same entries.
    let csv = browser
        .eval("const x = new XMLHttpRequest(); x.open('GET', document.getElementById('audit-csv').href, false); x.send(); return x.status + '\\n' + x.responseText")
        .await;
    let csv = csv.as_str().unwrap_or_default().to_owned();
    assert!(csv.starts_with("200\nid,time,actor,action,target,details\r\n"), "{csv}");
    assert!(csv.contains(",ada,user.update,user cara,disabled"), "{csv}");
    assert!(!csv.contains("role.create"), "{csv}");

    // No accessibility violations with the Users and Roles sections open (the edit forms too).
    browser.click("tr[data-user='cara'] button.user-edit").await;
    browser.click("tr[data-role='case-reader'] button.edit-role").await;
    browser.eval("document.getElementById('role-hours-set').click(); document.getElementById('role-hours-mon-open').click(); return true").await;
    browser.eval("document.getElementById('users-title').scrollIntoView(); return true").await;
    browser.screenshot("admin-users").await;
    browser.eval("document.getElementById('roles-title').scrollIntoView(); return true").await;
    browser.screenshot("admin-roles").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "administration page with users and roles: {problems:?}");
    browser.quit().await;
    app.stop().await;
}
