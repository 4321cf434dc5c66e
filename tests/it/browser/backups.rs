//! The Backups section and the warning banner, in a real browser: an administrator sees a
//! failed backup on /admin and on the dashboard, makes one that works, and the page passes axe.

use super::PASSWORD;
use super::webdriver::Driver;
use crate::backup::{identity, spawn_with_recipient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_see_backups_and_a_warning_when_one_failed() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (_, recipient) = identity(scratch.path(), "key.txt");
    let blocker = scratch.path().join("a-file");
    std::fs::write(&blocker, b"not a directory").expect("write");
    let app = spawn_with_recipient(&recipient, |c| c.backup.schedule = "daily 02:30".into()).await;
    app.add_user("ada", "administrator", PASSWORD).await;
    let backups = crate::backup::backups(&app);
    backups.create(parley::backup::Trigger::Cli, "cli", Some(blocker.join("backups"))).await.expect_err("fails");

    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    browser.goto(&app.staff("/")).await;
    browser.type_into("#username", "ada").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("#login-form button[type=submit]").await;
    browser.wait_text("#backup-warning", "Backups need attention").await;

    browser.goto(&app.staff("/admin")).await;
    let banner = browser.wait_text("#backup-warning", "failed").await;
    assert!(banner.contains("Not a directory") || banner.contains("not a directory"), "{banner}");
    browser.wait_text("#backups-last", "Last backup failed").await;
    browser.wait_text("#backups-settings", "daily 02:30").await;
    browser.screenshot("admin-backups-failed").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "Backups section: {problems:?}");

    browser.click("#backup-create").await;
    browser.wait_text("#backups-status", "made").await;
    browser.wait_text("#backups-last", "succeeded").await;
    browser.wait_until("return document.getElementById('backup-warning').hidden", "the warning to go").await;
    let rows = browser.eval("return document.querySelectorAll('#backups-rows tr').length").await;
    assert_eq!(rows.as_i64(), Some(1));
    let link = browser.eval("return document.querySelector('#backups-rows a').getAttribute('href')").await;
    assert!(link.as_str().unwrap_or_default().ends_with(".db.age/download"), "{link}");
    browser.eval("document.getElementById('backups').scrollIntoView(); return true").await;
    browser.screenshot("admin-backups").await;
    browser.quit().await;
    app.stop().await;
}
