//! Departments in real browsers: an administrator sets up a department, bank holidays and a
//! site's look and pre-chat form; a visitor picks a team in the themed widget; an operator
//! assigns an offline request to themselves and answers it by e-mail.

use serde_json::{Value, json};

use super::sign_in;
use super::webdriver::Driver;
use crate::harness::TestApp;
use crate::mail::{SmtpSink, quoted_printable, with_smtp};

const PASSWORD: &str = "correct horse battery staple";

/// Sets a form control's value by script and fires `input` and `change` (time and colour
/// inputs take typed text in a locale-dependent way).
async fn set_value(browser: &Driver, css: &str, value: &str) {
    let script = format!(
        "const e = document.querySelector({css:?}); e.value = {value:?}; \
         e.dispatchEvent(new Event('input', {{bubbles: true}})); e.dispatchEvent(new Event('change', {{bubbles: true}})); return true"
    );
    browser.eval(&script).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_sets_up_departments_holidays_and_the_site() {
    let app = TestApp::spawn().await;
    app.add_user("ada", "administrator", PASSWORD).await;
    app.add_user("olive", "operator", PASSWORD).await;
    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    sign_in(&browser, &app, "ada").await;
    browser.goto(&app.staff("/admin")).await;
    browser.find("#department-form").await;

    // A department with a member and office hours on Monday.
    browser.type_into("#department-key", "council-tax").await;
    browser.type_into("#department-name", "Council tax").await;
    browser.type_into("#department-name-cy", "Treth gyngor").await;
    browser
        .wait_until("return !!document.querySelector('#department-members input[value=\"olive\"]')", "members")
        .await;
    browser.click("#department-members input[value=\"olive\"]").await;
    browser.click("#department-hours-set").await;
    browser.click("#hours-mon-open").await;
    set_value(&browser, "#hours-mon-1-start", "09:00").await;
    set_value(&browser, "#hours-mon-1-end", "17:00").await;
    browser.click("#department-save").await;
    browser
        .wait_until("return !!document.querySelector('#departments-rows tr[data-key=\"council-tax\"]')", "row")
        .await;
    let saved = app.app.state().departments.get("council-tax").expect("saved");
    assert_eq!(saved.name_cy.as_deref(), Some("Treth gyngor"));
    assert_eq!(saved.members.iter().map(|m| m.username.as_str()).collect::<Vec<_>>(), ["olive"]);
    let hours = serde_json::to_value(saved.hours.expect("hours")).expect("json");
    assert_eq!(hours, json!({ "mon": [["09:00", "17:00"]] }));

    // A year of bank holidays for England and Wales.
    set_value(&browser, "#holiday-region", "england-and-wales").await;
    set_value(&browser, "#holiday-year", "2027").await;
    browser.click("#holiday-generate").await;
    browser
        .wait_until("return !!document.querySelector('#holidays-rows tr[data-date=\"2027-12-28\"]')", "holidays")
        .await;
    let holidays = app.app.state().departments.holidays().await.expect("holidays");
    assert_eq!(holidays.len(), 8, "{holidays:?}");

    // The main site offers the department, in a darker colour, with a select field.
    browser.click("#sites-rows tr[data-key=\"main\"] .edit-site").await;
    browser.wait_until("return !!document.getElementById('site-department-council-tax')", "site departments").await;
    browser.click("#site-department-council-tax").await;
    // Too light a colour is refused with the ratio.
    set_value(&browser, "#site-colour", "#ffdd00").await;
    browser.click("#site-save").await;
    browser.wait_text("#sites-error", "contrast").await;
    browser.eval("document.getElementById('site-colour').value = ''; return true").await;
    set_value(&browser, "#site-colour", "#005ea5").await;
    browser.type_into("#site-greeting", "Ask us anything about council tax.").await;
    browser.click("#site-field-add").await;
    browser.type_into("#site-field-1-key", "account").await;
    browser.type_into("#site-field-1-label", "Account type").await;
    set_value(&browser, "#site-field-1-type", "select").await;
    browser.type_into("#site-field-1-options", "Household\nBusiness").await;
    browser.click("#site-save").await;
    browser.wait_until("return document.getElementById('sites-error').hidden", "saved without error").await;
    browser
        .wait_until(
            "return document.querySelector('#sites-rows tr[data-key=\"main\"]')?.textContent.includes('Council tax')",
            "site row shows the department",
        )
        .await;
    let site = app.app.state().sites.get("main").expect("site");
    assert_eq!(site.departments, ["council-tax"]);
    assert_eq!(site.theme.colour.as_deref(), Some("#005ea5"));
    assert_eq!(site.fields.len(), 1);
    assert_eq!(site.fields[0].options, ["Household", "Business"]);
    browser.screenshot("admin-departments").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "administration page: {problems:?}");
    browser.quit().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_pick_a_team_in_the_themed_widget_and_operators_answer_messages_by_email() {
    use parley::service::departments::DepartmentInput;
    use parley::service::sites::{SiteInput, Theme};
    let smtp = SmtpSink::start();
    let app = TestApp::spawn_with(with_smtp(smtp.port)).await;
    app.add_user("olive", "operator", PASSWORD).await;
    let state = app.app.state();
    let input = |name: &str, hours: Value| -> DepartmentInput {
        serde_json::from_value(json!({ "name": name, "members": ["olive"], "hours": hours })).expect("input")
    };
    state.departments.save("tax", input("Council tax", Value::Null)).await.expect("tax");
    state.departments.save("night", input("Night desk", json!({}))).await.expect("night");
    let site = SiteInput {
        name: "Main website".into(),
        origins: vec!["https://www.example.gov.uk".into()],
        departments: vec!["tax".into(), "night".into()],
        theme: Theme {
            colour: Some("#00703c".into()),
            greeting: Some("Ask us about council tax.".into()),
            ..Theme::default()
        },
        ..SiteInput::default()
    };
    state.sites.save("main", site).await.expect("site");

    // The operator signs in, so council tax is available; the night desk is closed.
    let operator = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    sign_in(&operator, &app, "olive").await;
    operator.wait_until("return document.getElementById('max-chats')?.value === '3'", "own chat limit shown").await;

    let visitor = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    visitor.goto(&app.public("/widget/?site=main&lang=en")).await;
    visitor.wait_until("return !document.getElementById('department-field').hidden", "team choice").await;
    let colour =
        visitor.eval("return getComputedStyle(document.getElementById('widget-header')).backgroundColor").await;
    assert_eq!(colour.as_str(), Some("rgb(0, 112, 60)"), "the site's colour");
    visitor.wait_text("#greeting", "Ask us about council tax.").await;
    let night_disabled =
        visitor.eval("return document.querySelector('#department option[value=\"night\"]').disabled").await;
    assert_eq!(night_disabled, Value::Bool(true), "a closed team cannot be picked");
    visitor.screenshot("widget-departments").await;
    let problems = visitor.axe_violations().await;
    assert!(problems.is_empty(), "widget with a team choice: {problems:?}");
    // Submitting without a team names the problem.
    visitor.type_into("#name", "Gwen").await;
    visitor.type_into("#question", "Can I pay in instalments?").await;
    visitor.click("#prechat-form button[type=submit]").await;
    visitor.wait_until("return !document.getElementById('department-error').hidden", "team error").await;
    set_value(&visitor, "#department", "tax").await;
    visitor.click("#prechat-form button[type=submit]").await;
    // Council tax hands chats out automatically: olive gets it.
    let started: Option<String> = loop {
        let row: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT c.public_id, c.operator_id FROM conversations c")
                .fetch_optional(state.store.reader())
                .await
                .expect("row");
        if let Some((id, Some(_))) = row {
            break Some(id);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(started.is_some());
    operator.wait_until("return !!document.querySelector('.chat-panel')", "chat opened for olive").await;

    // A message left for the night desk is assigned and answered from the dashboard.
    let mut ws = crate::chat_support::visitor(&app).await;
    let leave = json!({ "v": 1, "type": "leave_message", "id": crate::chat_support::uuid(), "site": "main",
                        "department": "night", "name": "Huw", "email": "huw@example.org", "text": "Call me after six." });
    crate::chat_support::send(&mut ws, leave).await;
    crate::chat_support::until(&mut ws, "ack").await;
    operator.click("#show-offline").await;
    operator.wait_until("return !!document.querySelector('article.offline-request button.assign-me')", "request").await;
    operator.click("article.offline-request button.assign-me").await;
    operator.wait_text("#offline-status-msg", "assigned to olive").await;
    let id = operator.eval("return document.querySelector('article.offline-request').dataset.id").await;
    let id = id.as_str().expect("id").to_owned();
    operator.type_into(&format!("#offline-reply-{id}"), "We will ring you at 6.30pm.").await;
    operator.screenshot("dashboard-offline-reply").await;
    let problems = operator.axe_violations().await;
    assert!(problems.is_empty(), "offline requests view: {problems:?}");
    operator.click(&format!("article.offline-request[data-id=\"{id}\"] button.send-reply")).await;
    operator.wait_text("#offline-status-msg", "Reply queued for sending").await;
    let mail = quoted_printable(&smtp.wait_for(1)[0]);
    assert!(mail.contains("To: huw@example.org") && mail.contains("We will ring you at 6.30pm."), "{mail}");
    visitor.quit().await;
    operator.quit().await;
    app.stop().await;
}
