//! Helpers for tests that drive chats over the real websockets.

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::TestApp;
use crate::websocket::{Client, connect, next_json};

pub const PASSWORD: &str = "correct horse battery staple";

pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub async fn send(ws: &mut Client, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.expect("send frame");
}

/// Reads frames until one of `kind` arrives (others are returned too, for inspection).
pub async fn until(ws: &mut Client, kind: &str) -> (Value, Vec<Value>) {
    let mut skipped = Vec::new();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), next_json(ws))
            .await
            .unwrap_or_else(|_| panic!("no {kind} frame; got {skipped:?}"));
        if frame["type"] == kind {
            return (frame, skipped);
        }
        skipped.push(frame);
    }
}

pub async fn visitor(app: &TestApp) -> Client {
    let addr = app.app.public_addr();
    let mut ws =
        connect(addr, &app.cert_path(), "/ws/visitor", &format!("https://{addr}"), None).await.expect("visitor");
    until(&mut ws, "hello").await;
    ws
}

/// A visitor who ticked "remember this device": the `parley_vid` value the appliance set, and a
/// widget socket whose handshake carries the cookie.
pub async fn remembered_visitor(app: &TestApp) -> (String, Client) {
    let response = app
        .client
        .post(app.public("/widget/tracking"))
        .json(&json!({ "site": "main", "consent": true }))
        .send()
        .await
        .expect("tracking consent");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let vid = crate::tracking::visitor_cookie(&response).expect("parley_vid is set after consent");
    (vid.clone(), visitor_with_cookie(app, &vid).await)
}

/// A widget socket that sends `parley_vid=<vid>` with its handshake.
pub async fn visitor_with_cookie(app: &TestApp, vid: &str) -> Client {
    let addr = app.app.public_addr();
    let cookie = format!("parley_vid={vid}");
    let mut ws = connect(addr, &app.cert_path(), "/ws/visitor", &format!("https://{addr}"), Some(&cookie))
        .await
        .expect("visitor");
    until(&mut ws, "hello").await;
    ws
}

pub async fn operator(app: &TestApp, name: &str) -> Client {
    app.add_user(name, "operator", PASSWORD).await;
    let (cookie, _) = app.login(name, PASSWORD).await;
    let addr = app.app.staff_addr();
    let mut ws =
        connect(addr, &app.cert_path(), "/ws/staff", &format!("https://{addr}"), Some(&cookie)).await.expect("staff");
    until(&mut ws, "hello").await;
    until(&mut ws, "mine").await;
    ws
}

/// Starts a chat; returns (conversation, token).
pub async fn start(ws: &mut Client, name: &str) -> (String, String) {
    send(ws, json!({ "v": 1, "type": "start", "id": uuid(), "site": "main", "name": name, "question": "Where do I pay my council tax?" })).await;
    let (started, _) = until(ws, "started").await;
    (
        started["conversation"].as_str().expect("conversation").to_owned(),
        started["token"].as_str().expect("token").to_owned(),
    )
}

/// An operator accepts a waiting chat; returns the `accepted` frame.
pub async fn accept(staff: &mut Client, conversation: &str) -> Value {
    send(staff, json!({ "v": 1, "type": "accept", "id": uuid(), "conversation": conversation })).await;
    until(staff, "accepted").await.0
}
