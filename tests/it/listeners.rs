//! Connection limits on both listeners: slow-header and idle connections are closed in time,
//! HTTP connections reach a maximum age while websockets do not, the public listener caps the
//! connections of one address, the listen backlog is configurable, and an oversized body gets
//! a 413 the client can read on HTTP/1.1 and HTTP/2.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rustls_pki_types::ServerName;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::chat_support::{operator, send, start, until, uuid, visitor};
use crate::harness::{TestApp, error_code, rustls_client_config, tls_connector};

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

async fn open(addr: SocketAddr, cert: &Path) -> Tls {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    tls_connector(cert, true).connect(ServerName::IpAddress(addr.ip().into()), tcp).await.expect("handshake")
}

/// Reads until the server closes the connection (end of stream or reset); returns what came.
async fn until_closed(stream: &mut Tls) -> String {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&seen).into_owned(),
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One full `GET /healthz` on an open HTTP/1.1 connection; returns the response head.
async fn healthz(stream: &mut Tls) -> String {
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.expect("write");
    let mut seen = Vec::new();
    let mut chunk = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("\"ok\"}") {
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "closed before the response: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn short_timeouts(c: &mut parley::config::Config) {
    c.server.header_read_timeout_seconds = 1;
    c.server.idle_timeout_seconds = 1;
    c.server.public_connections_per_ip = 10_000;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_and_idle_connections_are_closed_while_requests_keep_working() {
    let app = TestApp::spawn_with(short_timeouts).await;
    let cert = app.cert_path();
    let mut clients = tokio::task::JoinSet::new();
    // On each listener 100 that trickle a header line forever, 100 that go quiet after one
    // request and leave the connection open: 200 slow-header and 200 idle connections in all.
    for addr in [app.app.public_addr(), app.app.staff_addr()] {
        for n in 0..200 {
            let cert = cert.clone();
            clients.spawn(async move {
                let mut stream = open(addr, &cert).await;
                let started = Instant::now();
                if n % 2 == 0 {
                    let (mut reader, mut writer) = tokio::io::split(stream);
                    writer.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.expect("write");
                    // A header every 200 ms (a slow client), never the blank line that ends them;
                    // the test waits for the server's close.
                    let trickle = async move {
                        loop {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            if writer.write_all(b"X-Slow: 1\r\n").await.is_err() {
                                return;
                            }
                        }
                    };
                    let closed = async move {
                        let mut chunk = [0u8; 1024];
                        while let Ok(n) = reader.read(&mut chunk).await {
                            if n == 0 {
                                return;
                            }
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(10), async {
                        tokio::select! { () = trickle => {}, () = closed => {} }
                    })
                    .await;
                    ("slow", started.elapsed())
                } else {
                    assert!(healthz(&mut stream).await.starts_with("HTTP/1.1 200"));
                    let idle_from = Instant::now();
                    let _ = tokio::time::timeout(Duration::from_secs(10), until_closed(&mut stream)).await;
                    ("idle", idle_from.elapsed())
                }
            });
        }
    }
    // And HTTP/2 connections that send the preface and their settings, then nothing.
    for addr in [app.app.public_addr(), app.app.staff_addr()] {
        for _ in 0..20 {
            let cert = cert.clone();
            clients.spawn(async move {
                let mut config = rustls_client_config(&cert);
                config.alpn_protocols = vec![b"h2".to_vec()];
                let tcp = TcpStream::connect(addr).await.expect("connect");
                let mut stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
                    .connect(ServerName::IpAddress(addr.ip().into()), tcp)
                    .await
                    .expect("handshake");
                assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
                // The client preface, then an empty SETTINGS frame.
                stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0").await.expect("write");
                let started = Instant::now();
                let _ = tokio::time::timeout(Duration::from_secs(10), until_closed(&mut stream)).await;
                ("HTTP/2 idle", started.elapsed())
            });
        }
    }
    // Normal requests keep being answered, on fresh and reused connections, all along.
    let mut answered = 0;
    while !clients.is_empty() {
        tokio::select! {
            done = clients.join_next() => {
                let (kind, open_for) = done.expect("client").expect("client task");
                assert!(
                    open_for < Duration::from_secs(4),
                    "a {kind} connection stayed open {open_for:?} (timeouts are 1 s)"
                );
            }
            response = app.client.get(app.staff("/healthz")).send() => {
                assert_eq!(response.expect("request while the slow clients wait").status(), StatusCode::OK);
                let public = app.client.get(app.public("/healthz")).send().await.expect("public request");
                assert_eq!(public.status(), StatusCode::OK);
                answered += 1;
            }
        }
    }
    assert!(answered > 0, "normal requests were answered meanwhile");
    let metrics = app.client.get(app.staff("/metrics")).send().await.expect("metrics").text().await.expect("text");
    for listener in ["public", "staff"] {
        let line = format!("parley_connections_timed_out_total{{listener=\"{listener}\",reason=\"idle\"}} ");
        let count: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{line} in {metrics}"));
        // The HTTP/2 ones at least (HTTP/1.1 ones may meet hyper's header timeout first).
        assert!(count >= 20, "{listener}: {count} closed for idleness");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_connections_reach_a_maximum_age_but_websockets_stay_open() {
    let app = TestApp::spawn_with(|c| {
        c.server.max_connection_age_seconds = 1;
        c.server.idle_timeout_seconds = 30;
    })
    .await;
    let _staff = operator(&app, "pip").await;
    let mut ws = visitor(&app).await;
    let (conversation, token) = start(&mut ws, "Ada").await;
    // The age counts from the server's accept, before the TLS handshake: start the clock first.
    let opened = Instant::now();
    let mut stream = open(app.app.staff_addr(), &app.cert_path()).await;
    // Requests on one keep-alive connection until the server closes it: after a response with
    // `connection: close`, or between two requests.
    let mut answered = 0;
    loop {
        if stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.is_err() {
            break;
        }
        let mut seen = Vec::new();
        let mut chunk = [0u8; 1024];
        let complete = loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break false,
                Ok(n) => seen.extend_from_slice(&chunk[..n]),
            }
            if String::from_utf8_lossy(&seen).contains("\"ok\"}") {
                break true;
            }
        };
        if !complete {
            break;
        }
        answered += 1;
        if String::from_utf8_lossy(&seen).to_ascii_lowercase().contains("connection: close") {
            until_closed(&mut stream).await;
            break;
        }
        assert!(opened.elapsed() < Duration::from_secs(5), "no close after the maximum age");
    }
    let lived = opened.elapsed();
    assert!(lived >= Duration::from_secs(1) && lived < Duration::from_secs(5), "closed after {lived:?}");
    assert!(answered > 1, "the connection served requests until its age ran out");
    let fresh = app.client.get(app.staff("/healthz")).send().await.expect("a new connection");
    assert_eq!(fresh.status(), StatusCode::OK);
    // The websocket, older than the maximum age by now, still carries the chat.
    let id = uuid();
    send(&mut ws, json!({ "v": 1, "type": "message", "id": id, "conversation": conversation, "token": token, "text": "still here" })).await;
    let (ack, _) = until(&mut ws, "ack").await;
    assert_eq!(ack["id"], id.as_str());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_listener_caps_connections_per_address() {
    let app = TestApp::spawn_with(|c| c.server.public_connections_per_ip = 3).await;
    let addr = app.app.public_addr();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = open(addr, &app.cert_path()).await;
        assert!(healthz(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let http1 = client_for(&app.cert_path(), b"http/1.1");
    let refused = http1.get(app.public("/healthz")).send().await.expect("fourth connection");
    assert_eq!(refused.headers().get("connection").map(|v| v.as_bytes()), Some(&b"close"[..]));
    assert_eq!(error_code(refused, StatusCode::TOO_MANY_REQUESTS).await, "too_many_connections");
    let h2 = client_for(&app.cert_path(), b"h2");
    let refused = h2.get(app.public("/healthz")).send().await.expect("fourth connection over HTTP/2");
    assert_eq!(error_code(refused, StatusCode::TOO_MANY_REQUESTS).await, "too_many_connections");
    // The staff listener has no such cap.
    let staff = app.client.get(app.staff("/healthz")).send().await.expect("staff");
    assert_eq!(staff.status(), StatusCode::OK);
    let metrics = app.client.get(app.staff("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("parley_connections_refused_total{listener=\"public\"} 2"), "{metrics}");
    // A closed connection frees its place (the server notices the close on its own time).
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response =
            client_for(&app.cert_path(), b"http/1.1").get(app.public("/healthz")).send().await.expect("request");
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "the place was not freed");
        tokio::task::yield_now().await;
    }
    app.stop().await;
}

#[tokio::test]
async fn the_listen_backlog_is_configurable() {
    let app = TestApp::spawn_with(|c| c.server.listen_backlog = 777).await;
    let somaxconn: u32 =
        std::fs::read_to_string("/proc/sys/net/core/somaxconn").expect("somaxconn").trim().parse().expect("number");
    let expected = 777.min(somaxconn);
    let output = std::process::Command::new("ss").args(["-ltnH"]).output().expect("ss (iproute2) is installed");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    for addr in [app.app.public_addr(), app.app.staff_addr()] {
        // LISTEN  Recv-Q  Send-Q(=backlog)  Local:port  Peer
        let line = text
            .lines()
            .find(|l| l.split_whitespace().nth(3) == Some(&addr.to_string()))
            .unwrap_or_else(|| panic!("{addr} in {text}"));
        assert_eq!(line.split_whitespace().nth(2), Some(expected.to_string().as_str()), "{line}");
    }
    app.stop().await;
}

/// A reqwest client that speaks only HTTP/1.1 or only HTTP/2 (chosen by ALPN).
fn client_for(cert: &Path, protocol: &[u8]) -> reqwest::Client {
    let mut tls = rustls_client_config(cert);
    tls.alpn_protocols = vec![protocol.to_vec()];
    let builder = reqwest::Client::builder().use_preconfigured_tls(tls);
    let builder = if protocol == b"h2" { builder.http2_prior_knowledge() } else { builder.http1_only() };
    builder.build().expect("client")
}

/// A body sent in chunks without a declared length.
fn streamed(chunks: Vec<Vec<u8>>) -> reqwest::Body {
    let frames = chunks.into_iter().map(|c| Ok::<_, std::io::Error>(hyper::body::Frame::data(bytes::Bytes::from(c))));
    reqwest::Body::wrap(http_body_util::StreamBody::new(futures_util::stream::iter(frames)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_on_http1_and_http2() {
    let app = TestApp::spawn().await;
    for protocol in [&b"http/1.1"[..], &b"h2"[..]] {
        let client = client_for(&app.cert_path(), protocol);
        let expected = if protocol == b"h2" { reqwest::Version::HTTP_2 } else { reqwest::Version::HTTP_11 };
        let name = String::from_utf8_lossy(protocol).into_owned();
        for size in [70 * 1024, 1024 * 1024, 10 * 1024 * 1024] {
            let body = format!("{{\"username\":\"a\",\"password\":\"{}\"}}", "x".repeat(size));
            let response = client
                .post(app.staff("/api/v1/session"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{name}, {size} bytes: the client sees an answer, not {e:?}"));
            assert_eq!(response.version(), expected);
            assert_eq!(error_code(response, StatusCode::PAYLOAD_TOO_LARGE).await, "payload_too_large", "{name} {size}");
        }
        // A body without a declared length (HTTP/1.1 chunked, HTTP/2 without content-length).
        let chunks = (0..64).map(|_| b"x".repeat(16 * 1024)).collect();
        let response = client
            .post(app.staff("/api/v1/session"))
            .header("content-type", "application/json")
            .body(streamed(chunks))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}, streamed: {e:?}"));
        assert_eq!(error_code(response, StatusCode::PAYLOAD_TOO_LARGE).await, "payload_too_large", "{name} streamed");
        // A small streamed body still reaches the route, with its length.
        let small = vec![b"{\"username\":\"nobody\",".to_vec(), b"\"password\":\"wrong password here\"}".to_vec()];
        let response = client
            .post(app.staff("/api/v1/session"))
            .header("content-type", "application/json")
            .body(streamed(small))
            .send()
            .await
            .expect("small streamed body");
        assert_eq!(error_code(response, StatusCode::UNAUTHORIZED).await, "invalid_credentials", "{name}");
        // The connection is still good for the next request.
        let ok = client.get(app.staff("/healthz")).send().await.expect("after the refusals");
        assert_eq!(ok.status(), StatusCode::OK);
    }
    app.stop().await;
}
