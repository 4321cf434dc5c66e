//! Websockets: our own upgrade on both listeners, origin and session checks, frame limits and
//! the 1001 close on shutdown.

use std::net::SocketAddr;
use std::path::Path;

use futures_util::{SinkExt, StreamExt};
use rustls_pki_types::ServerName;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::harness::{TestApp, tls_connector};

pub type Client = WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

pub async fn connect(
    addr: SocketAddr,
    cert: &Path,
    path: &str,
    origin: &str,
    cookie: Option<&str>,
) -> Result<Client, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = tls_connector(cert, true)
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let mut request = format!("wss://{addr}{path}").into_client_request().map_err(|e| e.to_string())?;
    request.headers_mut().insert("origin", origin.parse().map_err(|_| "origin")?);
    if let Some(cookie) = cookie {
        request.headers_mut().insert("cookie", cookie.parse().map_err(|_| "cookie")?);
    }
    tokio_tungstenite::client_async(request, tls).await.map(|(ws, _)| ws).map_err(|e| e.to_string())
}

pub async fn next_json(ws: &mut Client) -> Value {
    loop {
        match ws.next().await.expect("frame").expect("ok frame") {
            Message::Text(text) => return serde_json::from_str(&text).expect("json frame"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

pub async fn close_code(ws: &mut Client) -> Option<CloseCode> {
    while let Some(frame) = ws.next().await {
        match frame {
            Ok(Message::Close(frame)) => return frame.map(|f| f.code),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
    None
}

#[tokio::test]
async fn visitor_socket_checks_origin_and_speaks_the_protocol() {
    let app = TestApp::spawn().await;
    let addr = app.app.public_addr();
    let own_origin = format!("https://{addr}");
    let refused = connect(addr, &app.cert_path(), "/ws/visitor", "https://evil.example", None).await;
    assert!(refused.expect_err("foreign origin refused").contains("403"));

    let mut ws = connect(addr, &app.cert_path(), "/ws/visitor", &own_origin, None).await.expect("connect");
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["v"], 1);
    assert_eq!(hello["role"], "visitor");

    ws.send(Message::text(r#"{"v":1,"type":"ping","id":"p1"}"#)).await.expect("send");
    let pong = next_json(&mut ws).await;
    assert_eq!((pong["type"].as_str(), pong["id"].as_str()), (Some("pong"), Some("p1")));

    for (frame, code) in [
        ("{not json", "bad_json"),
        (r#"{"v":1,"type":"teleport"}"#, "unknown_type"),
        (r#"{"type":"ping"}"#, "unsupported_version"),
    ] {
        ws.send(Message::text(frame)).await.expect("send");
        let error = next_json(&mut ws).await;
        assert_eq!(error["type"], "error", "{frame}");
        assert_eq!(error["code"], code, "{frame}");
    }
    // The connection is kept after errors.
    ws.send(Message::text(r#"{"v":1,"type":"ping"}"#)).await.expect("send");
    assert_eq!(next_json(&mut ws).await["type"], "pong");

    // A frame over 16 KiB closes the connection with 1009 (message too big).
    let huge = format!(r#"{{"v":1,"type":"ping","id":"{}"}}"#, "x".repeat(20 * 1024));
    let _ = ws.send(Message::text(huge)).await;
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Size));
    app.stop().await;
}

#[tokio::test]
async fn staff_socket_needs_a_session() {
    let app = TestApp::spawn().await;
    app.add_user("olly", "operator", "correct horse battery staple").await;
    let addr = app.app.staff_addr();
    let origin = format!("https://{addr}");
    let anonymous = connect(addr, &app.cert_path(), "/ws/staff", &origin, None).await;
    assert!(anonymous.expect_err("no session").contains("401"));
    let (cookie, _) = app.login("olly", "correct horse battery staple").await;
    let cross_site = connect(addr, &app.cert_path(), "/ws/staff", "https://evil.example", Some(&cookie)).await;
    assert!(cross_site.expect_err("cross-site refused").contains("403"));
    let mut ws = connect(addr, &app.cert_path(), "/ws/staff", &origin, Some(&cookie)).await.expect("connect");
    assert_eq!(next_json(&mut ws).await["role"], "staff");
    app.stop().await;
}

#[tokio::test]
async fn shutdown_closes_websockets_with_1001() {
    let app = TestApp::spawn().await;
    let addr = app.app.public_addr();
    let mut ws =
        connect(addr, &app.cert_path(), "/ws/visitor", &format!("https://{addr}"), None).await.expect("connect");
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    let stopping = tokio::spawn(app.stop());
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Away));
    drop(ws);
    stopping.await.expect("stopped");
}

#[tokio::test]
async fn signing_out_closes_the_staff_socket() {
    let app = TestApp::spawn().await;
    app.add_user("sid", "operator", "correct horse battery staple").await;
    let (cookie, csrf) = app.login("sid", "correct horse battery staple").await;
    let addr = app.app.staff_addr();
    let mut ws =
        connect(addr, &app.cert_path(), "/ws/staff", &format!("https://{addr}"), Some(&cookie)).await.expect("connect");
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    let out = app
        .client
        .delete(app.staff("/api/v1/session"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 204);
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), close_code(&mut ws)).await;
    assert_eq!(closed.expect("closed promptly"), Some(CloseCode::Policy));
    app.stop().await;
}

#[tokio::test]
async fn widget_connections_are_limited_per_address() {
    let app = TestApp::spawn_with(|c| c.widget.connections_per_minute_per_ip = 3).await;
    let addr = app.app.public_addr();
    let origin = format!("https://{addr}");
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(connect(addr, &app.cert_path(), "/ws/visitor", &origin, None).await.expect("within the limit"));
    }
    let refused = connect(addr, &app.cert_path(), "/ws/visitor", &origin, None).await;
    assert!(refused.is_err_and(|e| e.contains("429")), "the fourth in a minute is refused");
    // (The answer is the JSON `rate_limited` error with Retry-After, as for sign-ins.)
    let metrics = app.client.get(app.staff("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("parley_visitor_connections_limited_total 1"), "{metrics}");
    drop(open);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_fragmented_message_is_closed_with_1009_every_time() {
    // 1009 must also reach a client that is still writing: no reset before the close is read.
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let app = TestApp::spawn().await;
    let addr = app.app.public_addr();
    let origin = format!("https://{addr}");
    for attempt in 0..20 {
        let mut ws = connect(addr, &app.cert_path(), "/ws/visitor", &origin, None).await.expect("connect");
        assert_eq!(next_json(&mut ws).await["type"], "hello");
        // 64 fragments of 4 KiB: each frame is within the limit, the message (256 KiB) is not,
        // and most of it is still on its way when the server refuses it.
        let chunk = "x".repeat(4096);
        let fragments = 64;
        for i in 0..fragments {
            let opcode = OpCode::Data(if i == 0 { Data::Text } else { Data::Continue });
            let frame = Frame::message(chunk.clone().into_bytes(), opcode, i == fragments - 1);
            // Some attempts write every fragment at once, others one by one as a slower client.
            let sent = match attempt % 3 {
                0 => ws.feed(Message::Frame(frame)).await,
                1 => ws.send(Message::Frame(frame)).await,
                _ => {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    ws.send(Message::Frame(frame)).await
                }
            };
            // A reset while the client is still writing is an abnormal close (1006) for most
            // clients: the server must read the rest before it hangs up.
            if let Err(err) = sent {
                panic!("attempt {attempt}: fragment {i} could not be sent: {err}");
            }
        }
        ws.flush().await.unwrap_or_else(|err| panic!("attempt {attempt}: flush: {err}"));
        let code = tokio::time::timeout(std::time::Duration::from_secs(10), close_code(&mut ws)).await;
        assert_eq!(code.expect("closed in time"), Some(CloseCode::Size), "attempt {attempt}");
    }
    app.stop().await;
}
