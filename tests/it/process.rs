//! The real binary as a child process: sd_notify READY/WATCHDOG/RELOADING/STOPPING, SIGHUP,
//! SIGTERM with websockets closed 1001, and `parley healthcheck` before and after.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::BIN;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

struct Server {
    child: Child,
    env: Vec<(String, String)>,
}

impl Server {
    fn command(&self, args: &[&str], data: &Path) -> Command {
        let mut command = Command::new(BIN);
        command.args(args).arg("--data-dir").arg(data).env_remove("PARLEY_CONFIG");
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command
    }

    fn signal(&self, name: &str) {
        let status =
            Command::new("kill").args([format!("-{name}"), self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }
}

/// Waits for a datagram containing `needle`, collecting everything received.
fn expect_notify(socket: &UnixDatagram, needle: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            seen.push(text.clone());
            if text.contains(needle) {
                return;
            }
        }
    }
    panic!("no {needle} from sd_notify; got {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_notifies_systemd_reloads_and_stops_gracefully() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    let (public, staff) = (free_port(), free_port());
    let env: Vec<(String, String)> = vec![
        ("PARLEY_SERVER__PUBLIC_ADDR".into(), format!("127.0.0.1:{public}")),
        ("PARLEY_SERVER__STAFF_ADDR".into(), format!("127.0.0.1:{staff}")),
        ("PARLEY_AUTH__ARGON2_MEMORY_KIB".into(), "64".into()),
        ("PARLEY_AUTH__ARGON2_ITERATIONS".into(), "1".into()),
    ];
    let mut server = Server { child: Command::new("true").spawn().expect("placeholder"), env };
    let _ = server.child.wait();
    server.child = server
        .command(&["serve"], &data)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start parley serve");
    let mut seen = Vec::new();
    expect_notify(&socket, "READY=1", &mut seen);
    expect_notify(&socket, "WATCHDOG=1", &mut seen);

    let health = server.command(&["healthcheck"], &data).output().expect("healthcheck");
    assert!(health.status.success(), "{}", String::from_utf8_lossy(&health.stderr));

    server.signal("HUP");
    expect_notify(&socket, "RELOADING=1", &mut seen);
    expect_notify(&socket, "READY=1", &mut seen);
    let health = server.command(&["healthcheck"], &data).output().expect("healthcheck");
    assert!(health.status.success(), "still healthy after SIGHUP");

    // A visitor websocket open during SIGTERM is closed with 1001 (going away).
    let cert = data.join("tls/cert.pem");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{public}").parse().expect("addr");
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let tls = crate::harness::tls_connector(&cert, true)
        .connect(rustls_pki_types::ServerName::IpAddress(addr.ip().into()), tcp)
        .await
        .expect("tls");
    let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
        "wss://{addr}/ws/visitor"
    ))
    .expect("req");
    request.headers_mut().insert("origin", format!("https://{addr}").parse().expect("origin"));
    let (mut ws, _) = tokio_tungstenite::client_async(request, tls).await.expect("websocket");
    use futures_util::StreamExt;
    let hello = ws.next().await.expect("hello").expect("ok");
    assert!(hello.to_text().unwrap_or_default().contains("hello"));

    server.signal("TERM");
    let mut close = None;
    while let Some(Ok(message)) = ws.next().await {
        if let tokio_tungstenite::tungstenite::Message::Close(frame) = message {
            close = frame.map(|f| u16::from(f.code));
            break;
        }
    }
    assert_eq!(close, Some(1001));
    expect_notify(&socket, "STOPPING=1", &mut seen);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "parley did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut server.child.stderr.take().expect("stderr"), &mut stderr).expect("read log");
    assert!(stderr.contains("TLS certificate reloaded"), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");

    let health = server.command(&["healthcheck"], &data).output().expect("healthcheck");
    assert!(!health.status.success(), "healthcheck fails when nothing is running");
}
