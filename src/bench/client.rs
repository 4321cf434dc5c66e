//! Connections for the load clients: TLS that trusts exactly the benchmark's certificate, an
//! optional loopback source address (127.x.y.z, so per-address limits see many clients), the
//! websocket handshake, and a minimal HTTP/1.1 POST for signing in.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub type Ws = WebSocketStream<TlsStream<TcpStream>>;

/// A TLS client that trusts only the certificate in `cert_pem` (verification stays on).
pub fn tls_connector(cert_pem: &Path) -> Result<TlsConnector, String> {
    crate::tls::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(cert_pem).map_err(|e| format!("{}: {e}", cert_pem.display()))?;
    for cert in certs {
        roots.add(cert.map_err(|e| format!("{}: {e}", cert_pem.display()))?).map_err(|e| e.to_string())?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The `n`-th loopback source address, 127.0.1.1 onwards (Linux routes all of 127/8 to lo).
pub fn loopback_source(n: usize) -> IpAddr {
    let n = n % (250 * 250);
    IpAddr::from([127, 0, 1 + (n / 250) as u8, 1 + (n % 250) as u8])
}

async fn tls(tls: &TlsConnector, addr: SocketAddr, source: Option<IpAddr>) -> Result<TlsStream<TcpStream>, String> {
    let tcp = match source {
        Some(ip) => {
            let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
            socket.bind(SocketAddr::new(ip, 0)).map_err(|e| format!("bind {ip}: {e}"))?;
            socket.connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?
        }
        None => TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?,
    };
    let _ = tcp.set_nodelay(true);
    tls.connect(ServerName::IpAddress(addr.ip().into()), tcp).await.map_err(|e| format!("TLS to {addr}: {e}"))
}

/// Opens a websocket as a browser would (same-origin `Origin`, optional `Cookie`).
pub async fn connect(
    connector: &TlsConnector,
    addr: SocketAddr,
    source: Option<IpAddr>,
    path: &str,
    cookie: Option<&str>,
) -> Result<Ws, String> {
    let stream = tls(connector, addr, source).await?;
    let mut request = format!("wss://{addr}{path}").into_client_request().map_err(|e| e.to_string())?;
    let headers = request.headers_mut();
    headers.insert("origin", format!("https://{addr}").parse().map_err(|_| "bad origin".to_owned())?);
    if let Some(cookie) = cookie {
        headers.insert("cookie", cookie.parse().map_err(|_| "bad cookie".to_owned())?);
    }
    let config = crate::ws::socket_config().max_message_size(Some(4 << 20)).max_frame_size(Some(4 << 20));
    tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| format!("websocket {path}: {e}"))
}

/// The answer to a sign-in attempt.
pub struct LoginAnswer {
    pub status: u16,
    /// `__Host-parley=…`, ready for a `Cookie` header.
    pub cookie: Option<String>,
}

/// `POST /api/v1/session` over a fresh connection (`Connection: close`).
pub async fn login(
    connector: &TlsConnector,
    staff: SocketAddr,
    source: Option<IpAddr>,
    username: &str,
    password: &str,
) -> Result<LoginAnswer, String> {
    let mut stream = tls(connector, staff, source).await?;
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    let request = format!(
        "POST /api/v1/session HTTP/1.1\r\nHost: {staff}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("sign-in request: {e}"))?;
    let mut answer = Vec::new();
    // A TLS close without close_notify is fine here: the response has been read by then.
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP answer from {staff}"))?;
    let cookie = text
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, value)| value.trim().split(';').next())
        .find(|v| v.starts_with("__Host-parley="))
        .map(str::to_owned);
    Ok(LoginAnswer { status, cookie })
}
