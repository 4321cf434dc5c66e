//! Live chat in real browsers: a visitor on a host page of another origin, an operator in the
//! dashboard, messages both ways, an XSS attempt, rating, transcript e-mail; and the offline path.

use std::net::SocketAddr;

use parley::service::sites::SiteInput;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::webdriver::Driver;
use crate::harness::TestApp;

const PASSWORD: &str = "correct horse battery staple";

/// A plain HTTP server on another loopback port: the organisation's own website, whose page
/// embeds the widget from the appliance.
fn host_site(listener: TcpListener, appliance: SocketAddr, lang: &str) -> tokio::task::JoinHandle<()> {
    let page = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>Council home</title></head>\
         <body><h1>Example Council</h1><p>Pay, report, apply.</p>\
         <script src=\"https://{appliance}/widget.js\" data-site=\"main\" async></script></body></html>"
    );
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let page = page.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    })
}

fn texts_js(selector: &str) -> String {
    format!("[...document.querySelectorAll('{selector}')].map(e => e.textContent)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_and_operator_chat_in_browsers() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let host = listener.local_addr().expect("addr");
    let smtp = crate::mail::SmtpSink::start();
    let app = TestApp::spawn_with(|c| {
        crate::mail::with_smtp(smtp.port)(c);
        c.widget.site_origins = vec![format!("http://{host}")];
    })
    .await;
    let site = host_site(listener, app.app.public_addr(), "en");
    let topic: Vec<parley::service::prechat::Field> = serde_json::from_value(serde_json::json!([
        { "key": "topic", "label": "Topic", "type": "select", "required": true, "options": ["Bins", "Council tax"] }
    ]))
    .expect("fields");
    let input = SiteInput {
        name: "Main website".into(),
        origins: vec![format!("http://{host}")],
        fields: topic,
        ..SiteInput::default()
    };
    app.app.state().sites.save("main", input).await.expect("site");
    app.add_user("olive", "operator", PASSWORD).await;
    let key = app.dir.path().join("tls/key.pem");
    let operator = Driver::start(&key).await;
    let visitor = Driver::start(&key).await;

    operator.goto(&app.staff("/")).await;
    operator.type_into("#username", "olive").await;
    operator.type_into("#password", PASSWORD).await;
    operator.click("#login-form button[type=submit]").await;
    operator.find("#queue").await;
    operator.wait_until("return !!document.querySelector('#queue li.empty')", "empty queue shown").await;

    visitor.goto(&format!("http://{host}/")).await;
    visitor.click("body > button").await;
    visitor.enter_frame("iframe").await;
    visitor
        .wait_until("return document.getElementById('status').textContent.startsWith('Connected')", "widget connected")
        .await;
    visitor.screenshot("widget-prechat").await;
    // Submitting empty shows the validation messages.
    visitor.click("#prechat-form button[type=submit]").await;
    visitor.wait_text("#name-error", "Enter your name").await;
    let problems = visitor.axe_violations().await;
    assert!(problems.is_empty(), "widget form (with errors shown): {problems:?}");
    visitor.wait_text("#field-topic-error", "Topic").await;
    visitor.type_into("#name", "Ann Visitor").await;
    visitor.eval("const s = document.getElementById('field-topic'); s.value = 'Bins'; s.dispatchEvent(new Event('change')); return true").await;
    visitor.type_into("#question", "When is my bin collected?").await;
    // No consent box by default: the lawful basis is shown with the privacy notice link instead.
    visitor.wait_text("#basis", "public task").await;
    let hidden = visitor.eval("return document.getElementById('consent-field').hidden").await;
    assert_eq!(hidden, serde_json::Value::Bool(true), "no mandatory consent box");
    visitor.click("#prechat-form button[type=submit]").await;
    visitor.wait_text("#status", "queue").await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM conversations")
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("row");
    let answers = app.app.state().store.visitor_context(id).await.expect("context").answers;
    assert!(answers.unwrap_or_default().contains("\"value\":\"Bins\""), "the extra answer was stored");

    operator.wait_until("return !!document.querySelector('#queue button.accept')", "visitor in queue").await;
    operator.screenshot("dashboard-queue").await;
    operator.click("#queue button.accept").await;
    operator.wait_until("return [...document.querySelectorAll('.chat-panel li.msg .text')].some(e => e.textContent === 'When is my bin collected?')", "question shown").await;
    visitor.wait_text("#status", "olive").await;
    // The visitor details: the page the chat started on and the extra pre-chat answer.
    operator.wait_text(".chat-panel .visitor-page", &format!("http://{host}/")).await;
    operator.wait_text(".chat-panel .visitor-panel", "Bins").await;

    let reply = operator.eval("return document.querySelector('.chat-panel textarea').id").await;
    let reply = format!("#{}", reply.as_str().expect("reply box id"));
    operator.type_into(&reply, "Every Tuesday.").await;
    operator.click(".chat-panel button.send").await;
    operator.screenshot("dashboard-reply-sent").await;
    visitor
        .wait_until(
            &format!("return ({}).includes('Every Tuesday.')", texts_js("#messages li.msg .text")),
            "reply at visitor",
        )
        .await;

    let xss = "<img src=x onerror=alert(1)>";
    visitor.type_into("#reply", xss).await;
    visitor.click("#send").await;
    operator
        .wait_until(
            &format!("return ({}).includes('{xss}')", texts_js(".chat-panel li.msg .text")),
            "xss text at operator",
        )
        .await;
    let images = operator.eval("return document.querySelectorAll('.chat-panel img').length").await;
    assert_eq!(images, Value::from(0), "the message was shown as text, not markup");
    operator.screenshot("dashboard-chat").await;
    visitor.screenshot("widget-chat").await;
    let problems = operator.axe_violations().await;
    assert!(problems.is_empty(), "dashboard with a chat open: {problems:?}");
    let problems = visitor.axe_violations().await;
    assert!(problems.is_empty(), "widget chat view: {problems:?}");

    visitor.click("#end-chat").await;
    visitor.wait_until("return !document.getElementById('ended').hidden", "ended view").await;
    visitor.click("#rating-5").await;
    visitor.click("#rating-form button[type=submit]").await;
    visitor.wait_until("return !document.getElementById('rating-thanks').hidden", "rating thanks").await;
    visitor.type_into("#mail-email", "ann@example.org").await;
    visitor.click("#mail-form button[type=submit]").await;
    visitor.wait_text("#mail-result", "on its way").await;
    visitor.screenshot("widget-ended").await;
    let problems = visitor.axe_violations().await;
    assert!(problems.is_empty(), "widget ended view: {problems:?}");
    let mail = crate::mail::quoted_printable(&smtp.wait_for(1)[0]);
    assert!(mail.contains("To: ann@example.org") && mail.contains("olive: Every Tuesday."), "{mail}");
    let stored: Option<i64> = sqlx::query_scalar("SELECT rating FROM conversations")
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("row");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut rating = stored;
    while rating.is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        rating = sqlx::query_scalar("SELECT rating FROM conversations")
            .fetch_one(app.app.state().store.reader())
            .await
            .expect("row");
    }
    assert_eq!(rating, Some(5));
    operator.wait_until("return !!document.querySelector('.chat-panel .ended')", "operator sees the end").await;

    visitor.quit().await;
    operator.quit().await;
    site.abort();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_operator_online_the_widget_takes_a_message() {
    let app = TestApp::spawn_with(|c| c.demo = true).await;
    let visitor = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    visitor.goto(&app.public("/widget/?site=main&lang=cy")).await;
    visitor.wait_until("return !document.getElementById('offline').hidden", "offline form").await;
    let heading = visitor.eval("return document.getElementById('offline-title').textContent").await;
    assert_eq!(heading.as_str(), Some("Gadewch neges i ni"), "Welsh strings");
    visitor.type_into("#offline-name", "Bryn").await;
    visitor.type_into("#offline-email", "not-an-address").await;
    visitor.type_into("#offline-text", "Ffoniwch fi yn ôl, os gwelwch yn dda.").await;
    visitor.click("#offline-form button[type=submit]").await;
    visitor.wait_text("#offline-email-error", "enw@enghraifft.org").await;
    visitor.eval("document.getElementById('offline-email').value = ''").await;
    visitor.type_into("#offline-email", "bryn@example.org").await;
    visitor.click("#offline-form button[type=submit]").await;
    visitor.wait_until("return !document.getElementById('offline-thanks').hidden", "thanks").await;
    visitor.screenshot("widget-offline-cy").await;
    let problems = visitor.axe_violations().await;
    assert!(problems.is_empty(), "Welsh offline form: {problems:?}");
    let stored: Vec<(String, String)> = app
        .app
        .state()
        .store
        .offline_requests("open", None, 10)
        .await
        .expect("rows")
        .into_iter()
        .map(|r| (r.email, r.body))
        .collect();
    assert_eq!(stored, vec![("bryn@example.org".to_owned(), "Ffoniwch fi yn ôl, os gwelwch yn dda.".to_owned())]);
    visitor.quit().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_refuses_pages_it_is_not_allowed_on() {
    let app = TestApp::spawn().await; // site "main" allows only https://www.example.gov.uk
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let host = listener.local_addr().expect("addr");
    let site = host_site(listener, app.app.public_addr(), "en");
    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    browser.goto(&format!("http://{host}/")).await;
    browser.wait_until("return document.documentElement.dataset.parleyWidget === 'refused'", "refusal").await;
    let frames = browser.eval("return document.querySelectorAll('iframe, button').length").await;
    assert_eq!(frames, Value::from(0), "nothing was added to the page");
    browser.quit().await;
    site.abort();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_routing_history_and_offline_requests() {
    use crate::chat_support::{send, start, until, uuid, visitor};
    let app = TestApp::spawn_with(|c| c.chat.routing = parley::config::Routing::LeastBusy).await;
    // A message left while nobody was online.
    let mut early = visitor(&app).await;
    let leave = serde_json::json!({ "v": 1, "type": "leave_message", "id": uuid(), "site": "main", "name": "Ivo", "email": "ivo@example.org", "text": "Please ring me about parking permits." });
    send(&mut early, leave).await;
    until(&mut early, "ack").await;

    app.add_user("tess", "operator", PASSWORD).await;
    let operator = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    operator.goto(&app.staff("/")).await;
    operator.type_into("#username", "tess").await;
    operator.type_into("#password", PASSWORD).await;
    operator.click("#login-form button[type=submit]").await;
    operator.find("#queue").await;
    // The queue arrives after the server registered this operator as connected and available.
    operator.wait_until("return !!document.querySelector('#queue li.empty')", "queue received").await;
    operator
        .wait_until(
            "return document.getElementById('availability')?.getAttribute('aria-pressed') === 'true'",
            "available",
        )
        .await;

    // Least-busy routing: the chat opens in a tab without anyone pressing Accept.
    let mut ws = visitor(&app).await;
    let (conversation, _) = start(&mut ws, "Jay").await;
    let (accepted, _) = until(&mut ws, "accepted").await;
    assert_eq!(accepted["operator"], "tess");
    operator
        .wait_until("return [...document.querySelectorAll('.chat-panel li.msg .text')].some(e => e.textContent.includes('council tax'))", "routed chat tab")
        .await;
    operator.click(".chat-panel button.close-chat").await;
    let (closed, _) = until(&mut ws, "closed").await;
    assert_eq!(closed["conversation"], conversation.as_str());

    operator.click("#show-history").await;
    operator.click("#history-search").await;
    operator.wait_until("return !!document.querySelector('#history-rows button.view-transcript')", "history row").await;
    operator.click("#history-rows button.view-transcript").await;
    operator
        .wait_until("return [...document.querySelectorAll('#transcript-lines li.line .text')].some(e => e.textContent.includes('council tax'))", "transcript")
        .await;
    operator.screenshot("dashboard-history").await;
    let problems = operator.axe_violations().await;
    assert!(problems.is_empty(), "stored chats view: {problems:?}");

    operator.click("#show-offline").await;
    operator
        .wait_until("return [...document.querySelectorAll('article.offline-request p.text')].some(e => e.textContent.includes('parking permits'))", "offline request")
        .await;
    operator.screenshot("dashboard-offline").await;
    let problems = operator.axe_violations().await;
    assert!(problems.is_empty(), "offline requests view: {problems:?}");
    operator.click("article.offline-request button.mark-done").await;
    operator.wait_text("#offline-status-msg", "Marked as done").await;
    let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM offline_requests WHERE status = 'open'")
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("count");
    assert_eq!(open, 0);
    operator.quit().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administration_pages_and_the_canned_response_picker() {
    use crate::chat_support::{send, start, until, uuid, visitor};
    let app = TestApp::spawn().await;
    app.add_user("ada", "administrator", PASSWORD).await;
    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    browser.goto(&app.staff("/")).await;
    browser.type_into("#username", "ada").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("#login-form button[type=submit]").await;
    browser.wait_text("#welcome", "Signed in as ada").await;

    browser.goto(&app.staff("/admin")).await;
    browser.find("#site-form").await;
    browser.type_into("#site-key", "libraries").await;
    browser.type_into("#site-name", "Libraries").await;
    browser.type_into("#site-origins", "https://libraries.example.gov.uk").await;
    browser
        .eval("const s = document.getElementById('site-basis'); s.value = 'legitimate_interests'; s.dispatchEvent(new Event('change')); return true")
        .await;
    browser.click("#site-require-consent").await;
    browser.click("#site-save").await;
    browser
        .wait_until("return !!document.querySelector('#sites-rows tr[data-key=\"libraries\"]')", "site listed")
        .await;
    let saved = app.app.state().sites.get("libraries").expect("saved");
    assert_eq!(saved.origins, vec!["https://libraries.example.gov.uk".to_owned()]);
    assert_eq!(
        (saved.lawful_basis, saved.require_consent, saved.ask_marketing),
        (parley::service::consent::LawfulBasis::LegitimateInterests, true, false),
        "lawful basis and consent set in the admin page"
    );
    browser.type_into("#canned-shortcut", "hours").await;
    browser.type_into("#canned-text", "We are open 9 to 5.").await;
    browser.click("#canned-shared").await;
    browser.click("#canned-add").await;
    browser
        .wait_until(
            "return document.getElementById('canned-rows').textContent.includes('We are open 9 to 5.')",
            "canned listed",
        )
        .await;
    browser.screenshot("admin").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "administration page: {problems:?}");

    // An operator (here the administrator) uses the shortcut in a reply.
    browser.goto(&app.staff("/")).await;
    browser.wait_until("return !!document.querySelector('#queue li.empty')", "queue received").await;
    let mut ws = visitor(&app).await;
    let (conversation, _) = start(&mut ws, "Lou").await;
    browser.wait_until("return !!document.querySelector('#queue button.accept')", "visitor waiting").await;
    browser.click("#queue button.accept").await;
    let reply = format!("#reply-{conversation}");
    browser.find(&reply).await;
    browser.type_into(&reply, "/hou").await;
    browser.wait_until("return !!document.querySelector('.canned-list .canned-option')", "picker open").await;
    browser.type_into(&reply, "\u{E007}").await;
    browser
        .wait_until(
            &format!("return document.querySelector('{reply}').value === 'We are open 9 to 5.'"),
            "response inserted",
        )
        .await;
    browser.click(".chat-panel button.send").await;
    let (message, _) = until(&mut ws, "message").await;
    assert_eq!(message["text"], "We are open 9 to 5.");
    send(&mut ws, serde_json::json!({ "v": 1, "type": "message", "id": uuid(), "text": "Thanks" })).await;
    browser.quit().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_and_transfers_from_the_dashboard() {
    use crate::chat_support::{operator, send, start, until, visitor};
    let app = TestApp::spawn().await;
    let mut colleague = operator(&app, "cal").await;
    app.add_user("dee", "operator", PASSWORD).await;
    let browser = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    browser.goto(&app.staff("/")).await;
    browser.type_into("#username", "dee").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("#login-form button[type=submit]").await;
    browser.wait_until("return !!document.querySelector('#queue li.empty')", "queue received").await;
    let mut ws = visitor(&app).await;
    let (conversation, _) = start(&mut ws, "Eli").await;
    browser.wait_until("return !!document.querySelector('#queue button.accept')", "visitor waiting").await;
    browser.click("#queue button.accept").await;
    browser.find(&format!("#note-{conversation}")).await;

    browser.type_into(&format!("#note-{conversation}"), "Asked about a missed collection").await;
    browser.click(".chat-panel button.add-note").await;
    browser.wait_until("return [...document.querySelectorAll('.chat-panel li.note .text')].some(e => e.textContent === 'Asked about a missed collection')", "note saved").await;
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM conversations").fetch_one(app.app.state().store.reader()).await.expect("id");
    let notes: Vec<String> =
        app.app.state().store.notes(id).await.expect("notes").into_iter().map(|n| n.body).collect();
    assert_eq!(notes, ["Asked about a missed collection"]);

    // A colleague who is not signed in cannot take it; cal can.
    browser.type_into(&format!("#transfer-to-{conversation}"), "nobody").await;
    browser.click(".chat-panel button.transfer").await;
    browser.wait_text(&format!("#transfer-{conversation}-error"), "not signed in").await;
    browser.eval(&format!("document.getElementById('transfer-to-{conversation}').value = ''; return true")).await;
    browser.type_into(&format!("#transfer-to-{conversation}"), "cal").await;
    browser.type_into(&format!("#transfer-note-{conversation}"), "bins team").await;
    browser.click(".chat-panel button.transfer").await;
    let (assigned, _) = until(&mut colleague, "assigned").await;
    assert_eq!(
        (assigned["conversation"].as_str(), assigned["from"].as_str()),
        (Some(conversation.as_str()), Some("dee"))
    );
    // The visitor first heard that dee accepted, then that cal took over.
    while until(&mut ws, "accepted").await.0["operator"] != "cal" {}
    browser.wait_until("return !!document.querySelector('.chat-panel .ended')", "panel ended after transfer").await;
    browser.screenshot("dashboard-transferred").await;
    let problems = browser.axe_violations().await;
    assert!(problems.is_empty(), "chat panel with notes and transfer: {problems:?}");
    send(&mut colleague, serde_json::json!({ "v": 1, "type": "join", "conversation": conversation, "last_seq": 0 }))
        .await;
    let (note, _) = until(&mut colleague, "note").await;
    assert_eq!(note["text"], "Asked about a missed collection");
    browser.quit().await;
    app.stop().await;
}

/// A long queue: the dashboard lists the 100 longest-waiting visitors and says how many more
/// wait; taking one moves the next into the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_queue_lists_the_first_hundred_and_counts_the_rest() {
    let app = TestApp::spawn().await;
    app.add_user("olive", "operator", PASSWORD).await;
    // The operator is online (the dashboard is open), so visitors may start chats.
    let operator = Driver::start(&app.dir.path().join("tls/key.pem")).await;
    super::sign_in(&operator, &app, "olive").await;
    operator.wait_until("return !!document.querySelector('#queue li.empty')", "empty queue shown").await;
    let mut visitors = Vec::new();
    for n in 0..102 {
        let mut ws = crate::chat_support::visitor(&app).await;
        crate::chat_support::start(&mut ws, &format!("Visitor {n}")).await;
        visitors.push(ws);
    }
    operator.wait_text("#queue li.more", "and 2 more waiting").await;
    let listed = operator.eval("return document.querySelectorAll('#queue button.accept').length").await;
    assert_eq!(listed.as_i64(), Some(100));
    let problems = operator.axe_violations().await;
    assert!(problems.is_empty(), "long queue: {problems:?}");
    operator.click("#queue button.accept").await;
    operator.wait_text("#queue li.more", "and 1 more waiting").await;
    let last =
        operator.eval("return document.querySelector('#queue li.more').previousElementSibling.textContent").await;
    assert!(last.as_str().unwrap_or_default().contains("Visitor 100"), "the next one moved up: {last}");
    operator.quit().await;
    app.stop().await;
}
