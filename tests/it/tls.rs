//! TLS: generated certificate reuse, protocol versions, reload without dropping connections.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{TestApp, client_trusting, test_config};

#[tokio::test]
async fn generated_certificate_is_private_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let cert = std::fs::read(app.cert_path()).expect("cert written");
    let key_mode = std::fs::metadata(app.dir.path().join("tls/key.pem")).expect("key").permissions().mode() & 0o777;
    assert_eq!(key_mode, 0o600);
    let dir = app.stop().await;
    let again = parley::Application::build(test_config(dir.path())).await.expect("restart");
    assert_eq!(std::fs::read(dir.path().join("tls/cert.pem")).expect("cert"), cert, "same certificate after restart");
    let client = client_trusting(&dir.path().join("tls/cert.pem"));
    let ok = client.get(format!("https://{}/healthz", again.staff_addr())).send().await.expect("request");
    assert_eq!(ok.status(), 200);
    again.stop().await;
    // A key left without its certificate (interrupted first start) gets a fresh pair.
    std::fs::remove_file(dir.path().join("tls/cert.pem")).expect("remove cert");
    let third = parley::Application::build(test_config(dir.path())).await.expect("regenerates");
    assert_ne!(std::fs::read(dir.path().join("tls/cert.pem")).expect("cert"), cert, "a new certificate");
    third.stop().await;
}

async fn handshake(
    addr: std::net::SocketAddr,
    cert: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<(), String> {
    let mut store = rustls::RootCertStore::empty();
    for c in rustls_pki_types::pem::PemObject::pem_file_iter(cert).expect("pem") {
        store.add(c.expect("cert")).expect("add");
    }
    let config = rustls::ClientConfig::builder_with_provider(parley::tls::provider())
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(store)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::IpAddress(addr.ip().into());
    connector.connect(name, tcp).await.map(|_| ()).map_err(|e| e.to_string())
}

#[tokio::test]
async fn tls12_and_tls13_only() {
    let app = TestApp::spawn().await;
    for addr in [app.app.staff_addr(), app.app.public_addr()] {
        handshake(addr, &app.cert_path(), &[&rustls::version::TLS12]).await.expect("TLS 1.2 works");
        handshake(addr, &app.cert_path(), &[&rustls::version::TLS13]).await.expect("TLS 1.3 works");
        // rustls cannot speak TLS 1.1, so ask the openssl command-line client.
        // On the blocking pool: the server shares this test's runtime.
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new("openssl")
                .args(["s_client", "-connect", &addr.to_string(), "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"])
                .stdin(std::process::Stdio::null())
                .output()
        })
        .await
        .expect("join")
        .expect("openssl is installed by scripts/test");
        let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "TLS 1.1 must be refused: {text}");
        assert!(text.contains("alert handshake failure") && text.contains("Cipher is (NONE)"), "{text}");
    }
    app.stop().await;
}

fn write_pair(dir: &Path, common_name: &str) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    std::fs::write(dir.join("own-cert.pem"), cert.pem()).expect("write cert");
    std::fs::write(dir.join("own-key.pem"), key.serialize_pem()).expect("write key");
    std::fs::write(dir.join(format!("{common_name}.pem")), cert.pem()).expect("keep copy");
    cert.der().to_vec()
}

async fn get_healthz(stream: &mut tokio_rustls::client::TlsStream<TcpStream>) -> String {
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.expect("write");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !String::from_utf8_lossy(&buf).contains("\"ok\"}") {
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed early: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&buf).to_string()
}

#[tokio::test]
async fn reload_swaps_the_certificate_without_dropping_connections() {
    let certs = tempfile::tempdir().expect("tempdir");
    write_pair(certs.path(), "first");
    let own_cert = certs.path().join("own-cert.pem");
    let own_key = certs.path().join("own-key.pem");
    let app = TestApp::spawn_with(|c| {
        c.tls.cert_file = own_cert.clone();
        c.tls.key_file = own_key.clone();
    })
    .await;
    let addr = app.app.staff_addr();
    let first = certs.path().join("first.pem");
    let connector = crate::harness::tls_connector(&first, true);
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let mut open =
        connector.connect(ServerName::IpAddress(addr.ip().into()), tcp).await.expect("handshake with first cert");
    assert!(get_healthz(&mut open).await.starts_with("HTTP/1.1 200"));

    // A broken file is refused and the old certificate stays in use.
    std::fs::write(&own_key, "not a key").expect("break key");
    assert!(app.app.reload_tls().is_err());
    handshake(addr, &first, &[&rustls::version::TLS13]).await.expect("old certificate still served");

    write_pair(certs.path(), "second");
    app.app.reload_tls().expect("reload");
    let second = certs.path().join("second.pem");
    handshake(addr, &second, &[&rustls::version::TLS13]).await.expect("new connections get the new certificate");
    assert!(
        handshake(addr, &first, &[&rustls::version::TLS13]).await.is_err(),
        "the old certificate is gone for new connections"
    );
    assert!(
        get_healthz(&mut open).await.starts_with("HTTP/1.1 200"),
        "the connection opened before the reload still works"
    );
    app.stop().await;
}
