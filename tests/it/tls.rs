//! TLS: generated certificate reuse, validity and renewal, protocol versions, the server's
//! cipher order, reload without dropping connections.

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

/// (notBefore, notAfter) of the first certificate in a PEM file, as Unix time.
fn validity(pem: &Path) -> (i64, i64) {
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::pem_file_iter(pem).expect("pem").next().expect("a cert").expect("cert");
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).expect("X.509");
    (cert.validity().not_before.timestamp(), cert.validity().not_after.timestamp())
}

/// A self-signed pair for 127.0.0.1 that ends `days` from now.
fn pair_ending_in(days: i64, cert_file: &Path, key_file: &Path) {
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(380);
    params.not_after = now + time::Duration::days(days);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    std::fs::write(cert_file, cert.pem()).expect("write cert");
    std::fs::write(key_file, key.serialize_pem()).expect("write key");
}

const DAY: i64 = 86_400;

#[tokio::test]
async fn generated_certificates_last_at_most_397_days_and_are_renewed_before_they_end() {
    let app = TestApp::spawn().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (not_before, not_after) = validity(&app.cert_path());
    assert!(not_after - not_before <= 397 * DAY, "valid {} days", (not_after - not_before) / DAY);
    assert!(not_after - now > 390 * DAY, "{} days left", (not_after - now) / DAY);
    let dir = app.stop().await;

    // A generated certificate with ten days left (as one made a year ago would be).
    let (cert, key) = (dir.path().join("tls/cert.pem"), dir.path().join("tls/key.pem"));
    pair_ending_in(10, &cert, &key);
    let old = std::fs::read(&cert).expect("cert");
    let copy = dir.path().join("old-cert.pem");
    std::fs::write(&copy, &old).expect("keep a copy");
    let again = parley::Application::build(test_config(dir.path())).await.expect("restart");
    assert_ne!(std::fs::read(&cert).expect("cert"), old, "renewed on start");
    let (_, renewed_until) = validity(&cert);
    assert!(renewed_until - now > 390 * DAY, "{} days left after renewal", (renewed_until - now) / DAY);
    let addr = again.staff_addr();
    handshake(addr, &cert, &[&rustls::version::TLS13]).await.expect("the renewed certificate is served");
    assert!(handshake(addr, &copy, &[&rustls::version::TLS13]).await.is_err(), "the old one is not");
    // While running (the twice-daily check): nothing to do for a fresh one, renewed when due.
    assert!(!again.state().tls.renew_if_due().expect("check"), "a fresh certificate is kept");
    pair_ending_in(20, &cert, &key);
    std::fs::write(&copy, std::fs::read(&cert).expect("cert")).expect("keep a copy");
    assert!(again.state().tls.renew_if_due().expect("renew"), "renewed while running");
    handshake(addr, &cert, &[&rustls::version::TLS13]).await.expect("new handshakes get the renewed one");
    assert!(handshake(addr, &copy, &[&rustls::version::TLS13]).await.is_err());
    again.stop().await;

    // The operator's own certificate is never replaced, however close its end.
    let own = tempfile::tempdir().expect("tempdir");
    let (own_cert, own_key) = (own.path().join("cert.pem"), own.path().join("key.pem"));
    pair_ending_in(5, &own_cert, &own_key);
    let before = std::fs::read(&own_cert).expect("own cert");
    let app = TestApp::spawn_with(|c| {
        c.tls.cert_file = own_cert.clone();
        c.tls.key_file = own_key.clone();
    })
    .await;
    handshake(app.app.staff_addr(), &own_cert, &[&rustls::version::TLS13]).await.expect("own certificate served");
    assert_eq!(std::fs::read(&own_cert).expect("own cert"), before);
    app.stop().await;
}

/// The suite the server picks when the client prefers ChaCha20-Poly1305 to AES-128-GCM.
async fn negotiated(
    addr: std::net::SocketAddr,
    cert: &Path,
    version: &'static rustls::SupportedProtocolVersion,
) -> rustls::CipherSuite {
    use rustls::crypto::ring::cipher_suite as suite;
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = vec![
        suite::TLS13_CHACHA20_POLY1305_SHA256,
        suite::TLS13_AES_128_GCM_SHA256,
        suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ];
    let mut store = rustls::RootCertStore::empty();
    for c in rustls_pki_types::pem::PemObject::pem_file_iter(cert).expect("pem") {
        store.add(c.expect("cert")).expect("add");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[version])
        .expect("versions")
        .with_root_certificates(store)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
        .expect("handshake");
    stream.get_ref().1.negotiated_cipher_suite().expect("a suite").suite()
}

#[tokio::test]
async fn the_server_chooses_the_cipher_suite_not_the_client() {
    let app = TestApp::spawn().await;
    for addr in [app.app.public_addr(), app.app.staff_addr()] {
        let tls13 = negotiated(addr, &app.cert_path(), &rustls::version::TLS13).await;
        assert_eq!(tls13, rustls::CipherSuite::TLS13_AES_128_GCM_SHA256, "TLS 1.3 on {addr}");
        let tls12 = negotiated(addr, &app.cert_path(), &rustls::version::TLS12).await;
        assert_eq!(tls12, rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "TLS 1.2 on {addr}");
    }
    app.stop().await;
}
