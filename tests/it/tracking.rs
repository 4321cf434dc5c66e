//! Tracking (the `parley_vid` cookie): set only after the visitor agrees where the site asks,
//! never where it is off; withdrawal in the widget or by the e-mail link, and a DPO-recorded
//! objection to profiling, stop the visitor being recognised again — and are recorded.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat_support::{operator, remembered_visitor, send, until, uuid, visitor_with_cookie};
use crate::gdpr::Staff;
use crate::harness::{TestApp, error_code};
use crate::websocket::Client;

/// The `parley_vid` value a response sets (None when it sets none, or clears it).
pub fn visitor_cookie(response: &reqwest::Response) -> Option<String> {
    response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let value = c.strip_prefix("parley_vid=")?.split(';').next()?;
        (!value.is_empty()).then(|| value.to_owned())
    })
}

fn sets_any_cookie(response: &reqwest::Response) -> bool {
    response.headers().get_all("set-cookie").iter().next().is_some()
}

/// Starts a chat; returns (conversation id, token).
async fn chat(ws: &mut Client, name: &str) -> (String, String) {
    send(ws, json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": name, "question": "Bins?", "consent": true }))
        .await;
    let (started, _) = until(ws, "started").await;
    (started["conversation"].as_str().expect("id").to_owned(), started["token"].as_str().expect("token").to_owned())
}

/// (visitor key stored?, subject) of a conversation.
async fn linkage(app: &TestApp, conversation: &str) -> (bool, i64) {
    sqlx::query_as("SELECT visitor_key IS NOT NULL, subject_id FROM conversations WHERE public_id = ?1")
        .bind(conversation)
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("conversation")
}

async fn tracking_consents(app: &TestApp, withdrawn: bool) -> i64 {
    let sql = if withdrawn {
        "SELECT count(*) FROM consents WHERE purpose = 'tracking' AND withdrawn_at IS NOT NULL"
    } else {
        "SELECT count(*) FROM consents WHERE purpose = 'tracking' AND withdrawn_at IS NULL"
    };
    sqlx::query_scalar(sql).fetch_one(app.app.state().store.reader()).await.expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_comes_only_after_consent_and_withdrawal_stops_tracking() {
    let app = TestApp::spawn().await;
    let _olive = operator(&app, "olive").await;

    // Loading the widget sets no cookie; asking without consent is refused and sets none.
    for path in ["/widget/config?site=main", "/widget/tracking?site=main", "/widget/?site=main"] {
        let response = app.client.get(app.public(path)).send().await.expect("get");
        assert!(response.status().is_success(), "{path}");
        assert!(!sets_any_cookie(&response), "{path} sets no cookie before consent");
    }
    let refused =
        app.client.post(app.public("/widget/tracking")).json(&json!({ "site": "main", "consent": false })).send().await;
    let refused = refused.expect("post");
    assert!(!sets_any_cookie(&refused));
    assert_eq!(error_code(refused, StatusCode::BAD_REQUEST).await, "consent_required");

    // A made-up id that never consented is not used.
    let mut stranger = visitor_with_cookie(&app, &uuid()).await;
    let (conversation, _) = chat(&mut stranger, "Sam").await;
    assert!(!linkage(&app, &conversation).await.0, "no consent, no visitor id kept");

    // After consent, the same device's chats belong to one person.
    let (vid, mut first) = remembered_visitor(&app).await;
    assert_eq!(tracking_consents(&app, false).await, 1, "the consent is recorded");
    let (one, _) = chat(&mut first, "Nia").await;
    let mut again = visitor_with_cookie(&app, &vid).await;
    let (two, _) = chat(&mut again, "Nia").await;
    let (linked, subject) = linkage(&app, &one).await;
    assert!(linked);
    assert_eq!(linkage(&app, &two).await, (true, subject), "recognised on the second visit");
    let status: Value = app
        .client
        .get(app.public("/widget/tracking?site=main"))
        .header("cookie", format!("parley_vid={vid}"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status, json!({ "tracking": "consent", "remembered": true }));

    // "Forget this device" clears the cookie, records the withdrawal and stops recognition,
    // even if the browser keeps sending the old cookie.
    let forget = app
        .client
        .delete(app.public("/widget/tracking"))
        .header("cookie", format!("parley_vid={vid}"))
        .send()
        .await
        .expect("forget");
    assert_eq!(forget.status(), StatusCode::NO_CONTENT);
    let cleared = forget.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    assert!(cleared.starts_with("parley_vid=;") && cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(tracking_consents(&app, true).await, 1, "the withdrawal is recorded");
    let mut later = visitor_with_cookie(&app, &vid).await;
    let (three, _) = chat(&mut later, "Nia").await;
    let (linked, other) = linkage(&app, &three).await;
    assert!(!linked, "a withdrawn id is not kept");
    assert_ne!(other, subject, "nor used to recognise the person");

    // The link in a transcript e-mail withdraws too, and stops tracking of that person.
    let (vid, mut ws) = remembered_visitor(&app).await;
    let (conversation, token) = chat(&mut ws, "Huw").await;
    let withdrawn = app
        .client
        .post(app.public("/consent/withdraw"))
        .form(&[("conversation", conversation.as_str()), ("token", token.as_str())])
        .send()
        .await
        .expect("withdraw");
    assert_eq!(withdrawn.status(), StatusCode::OK);
    let mut back = visitor_with_cookie(&app, &vid).await;
    let (after, _) = chat(&mut back, "Huw").await;
    assert!(!linkage(&app, &after).await.0, "withdrawal by e-mail link stops tracking");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_stops_tracking_and_a_site_may_turn_it_off() {
    let app = crate::gdpr::spawn(|_| {}).await;
    let _olive = operator(&app, "olive").await;
    let dpo = Staff::new(&app, "dora", "dpo").await;
    let (vid, mut ws) = remembered_visitor(&app).await;
    let (conversation, _) = chat(&mut ws, "Nia").await;
    let (_, subject) = linkage(&app, &conversation).await;

    let path = format!("/api/v1/gdpr/subjects/{subject}/objection");
    let (status, body) = dpo.call(&app, Method::PUT, &path, Some(json!({ "objects": true }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["subject"]["objects_to_profiling"], true);
    assert_eq!(body["subject"]["no_tracking"], true);
    let (status, _) =
        dpo.call(&app, Method::PUT, "/api/v1/gdpr/subjects/999999/objection", Some(json!({ "objects": true }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let mut back = visitor_with_cookie(&app, &vid).await;
    let (after, _) = chat(&mut back, "Nia").await;
    assert!(!linkage(&app, &after).await.0, "an objection stops tracking");
    // Agreeing again in the widget does not override an objection.
    let again = app
        .client
        .post(app.public("/widget/tracking"))
        .header("cookie", format!("parley_vid={vid}"))
        .json(&json!({ "site": "main", "consent": true }))
        .send()
        .await
        .expect("post");
    assert_eq!(visitor_cookie(&again), None);
    assert_eq!(again.json::<Value>().await.expect("json")["remembered"], false);
    let (_, audit) = dpo.call(&app, Method::GET, "/api/v1/audit?limit=1000", None).await;
    assert!(audit.to_string().contains("gdpr.objection"), "the objection is audited");

    // A site set to `off` never sets the cookie.
    let mut site = app.app.state().sites.get("main").expect("main");
    site.tracking = parley::service::sites::Tracking::Off;
    let input = parley::service::sites::SiteInput {
        name: site.name,
        origins: site.origins,
        fields: site.fields,
        departments: site.departments,
        theme: site.theme,
        tracking: site.tracking,
        ..Default::default()
    };
    app.app.state().sites.save("main", input).await.expect("save");
    let off =
        app.client.post(app.public("/widget/tracking")).json(&json!({ "site": "main", "consent": true })).send().await;
    let off = off.expect("post");
    assert!(!sets_any_cookie(&off));
    assert_eq!(error_code(off, StatusCode::CONFLICT).await, "tracking_off");
    app.stop().await;
}
