//! Reconnect storm and slow consumer, at sizes the test suite can hold: 1,000 visitors dropped at
//! once resume with nothing lost or duplicated; a client that stops reading is disconnected once
//! its bounded queue fills, while the others keep receiving everything.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parley::bench::chat::{Scenario, Target};
use parley::bench::client::tls_connector;
use parley::bench::stats::Counters;
use parley::config::Routing;
use rustls_pki_types::ServerName;
use serde_json::json;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::harness::TestApp;
use crate::websocket::{Client, connect, next_json};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_visitors_dropped_at_once_resume_without_loss_or_duplicates() {
    let app = TestApp::spawn_with(|c| {
        c.chat.routing = Routing::LeastBusy;
        c.chat.max_chats = 1_000_000;
    })
    .await;
    let mut cookies = Vec::new();
    // Four accounts of ten sockets: each account's `mine` frame stays small.
    for name in ["storm-a", "storm-b", "storm-c", "storm-d"] {
        app.add_user(name, "operator", PASSWORD).await;
        cookies.push(app.login(name, PASSWORD).await.0);
    }
    let target = Target {
        connector: tls_connector(&app.cert_path()).expect("tls"),
        public: app.app.public_addr(),
        staff: app.app.staff_addr(),
        cookies,
    };
    // 1,000 visitors and 40 operator sockets, ~0.5 messages a second each, both directions.
    let (visitors, operators) = (1000, 40);
    let scenario = Scenario::setup(target, visitors, operators, 520.0, 0.0, false).await.expect("set up");
    let counters = &scenario.shared.counters;
    assert_eq!(Counters::get(&counters.started), visitors as u64, "every visitor started a chat");
    assert_eq!(Counters::get(&counters.joined), visitors as u64, "an operator joined every chat");
    // Half-way through, every visitor connection is dropped at once and resumes.
    let window = scenario.window(Duration::from_secs(8), true).await;
    let (resumed, _slowest) = window.storm.expect("storm ran");
    assert_eq!(resumed, visitors, "every visitor resumed");
    assert!(window.sent > 1000, "traffic flowed: {} messages", window.sent);
    assert_eq!(window.acked, window.sent, "every message was acknowledged (after resending)");
    let duplicates = Counters::get(&counters.duplicates);
    let errors = scenario.shared.error_codes.lock().expect("errors").clone();
    let (lost, conversations) = scenario.finish().await;
    assert_eq!(conversations, visitors);
    assert_eq!((lost, duplicates), (0, 0), "nothing lost, nothing twice");
    assert!(errors.is_empty(), "no errors: {errors:?}");
    app.stop().await;
}

/// A staff socket whose receive buffer is tiny and which never reads.
async fn stalled_staff_socket(app: &TestApp, cookie: &str) -> Client {
    let addr = app.app.staff_addr();
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small receive buffer");
    let tcp = socket.connect(addr).await.expect("connect");
    let tls = crate::harness::tls_connector(&app.cert_path(), true)
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
        .expect("tls");
    let mut request = format!("wss://{addr}/ws/staff").into_client_request().expect("request");
    request.headers_mut().insert("origin", format!("https://{addr}").parse().expect("origin"));
    request.headers_mut().insert("cookie", cookie.parse().expect("cookie"));
    tokio_tungstenite::client_async(request, tls).await.expect("websocket").0
}

async fn staff_sockets_open(app: &TestApp) -> i64 {
    let text = app.client.get(app.staff("/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix("parley_websockets_open{listener=\"staff\"} "))
        .and_then(|v| v.parse().ok())
        .expect("staff websocket gauge")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_and_nobody_else_waits() {
    let app = TestApp::spawn().await; // manual routing: every chat stays in the queue
    for name in ["fast", "stalled"] {
        app.add_user(name, "operator", PASSWORD).await;
    }
    let (fast_cookie, _) = app.login("fast", PASSWORD).await;
    let (stalled_cookie, _) = app.login("stalled", PASSWORD).await;
    let staff = app.app.staff_addr();
    let mut fast = connect(staff, &app.cert_path(), "/ws/staff", &format!("https://{staff}"), Some(&fast_cookie))
        .await
        .expect("fast operator");
    let stalled = stalled_staff_socket(&app, &stalled_cookie).await;
    assert_eq!(next_json(&mut fast).await["type"], "hello");
    assert_eq!(staff_sockets_open(&app).await, 2);

    // 800 visitors start a chat each: every start sends the queue (its first 100, and the total) to
    // all staff.
    // Enough, with long names, that the frames outgrow the kernel's send buffer (4 MiB here),
    // the socket's own write buffer (1 MiB) and the outbox (256 frames): queue frames list at
    // most 100 chats, about 20 KiB each here.
    let visitors = 800;
    let public = app.app.public_addr();
    let cert = app.cert_path();
    let mut tasks = tokio::task::JoinSet::new();
    // In batches, each read by the fast operator before the next starts: the one that reads keeps
    // up (it is never more than a batch behind), the stalled one falls ever further behind.
    let mut longest = 0;
    for batch in (0..visitors).collect::<Vec<_>>().chunks(25) {
        for &v in batch {
            let cert = cert.clone();
            tasks.spawn(async move {
                let mut ws =
                    connect(public, &cert, "/ws/visitor", &format!("https://{public}"), None).await.expect("visitor");
                let start = json!({ "v": 1, "type": "start", "id": uuid::Uuid::new_v4(), "site": "main",
                                    "name": format!("V{v} {}", "Long-Surname".repeat(7)), "question": "q" });
                ws.send(Message::text(start.to_string())).await.expect("start");
                // Keep reading (queue positions) until the test ends.
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
        let reached = batch.last().map_or(0, |v| v + 1);
        while longest < reached {
            let frame =
                tokio::time::timeout(Duration::from_secs(60), next_json(&mut fast)).await.expect("queue frames");
            if frame["type"] == "queue" {
                let listed = frame["waiting"].as_array().map_or(0, Vec::len);
                assert!(listed <= parley::service::chat::QUEUE_FRAME_MAX, "a queue frame lists {listed}");
                longest = longest.max(frame["total"].as_u64().expect("total") as usize);
            }
        }
    }
    // The stalled one is disconnected although it has still not read anything.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while staff_sockets_open(&app).await != 1 {
        assert!(std::time::Instant::now() < deadline, "the stalled socket is still open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The reading operator is still connected and answered.
    fast.send(Message::text(r#"{"v":1,"type":"ping","id":"still-here"}"#)).await.expect("ping");
    loop {
        let frame = next_json(&mut fast).await;
        if frame["type"] == "pong" {
            assert_eq!(frame["id"], "still-here");
            break;
        }
    }
    // What the stalled socket finally reads ends: the server closed it.
    let mut stalled = stalled;
    let drained =
        tokio::time::timeout(Duration::from_secs(20), async { while let Some(Ok(_)) = stalled.next().await {} }).await;
    assert!(drained.is_ok(), "the stalled socket's stream ends");
    tasks.abort_all();
    app.stop().await;
}
