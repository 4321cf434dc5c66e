//! `parley healthcheck`: GET /readyz on the local staff listener over TLS, trusting exactly the
//! certificate parley serves (read from its configured or generated PEM file).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ConfigArgs;
use crate::tls::CertSource;

const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(clap::Args, Debug)]
pub struct HealthcheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Staff listener to ask (overrides server.staff_addr), e.g. when `serve` was started with
    /// --staff-addr.
    #[arg(long, value_name = "IP:PORT")]
    pub staff_addr: Option<String>,
}

pub async fn run(args: &HealthcheckArgs) -> Result<(), String> {
    let config = args.config.load(None, args.staff_addr.clone()).map_err(|e| e.to_string())?;
    crate::tls::install_crypto_provider();
    let source = CertSource::from_config(&config.tls, &config.server.data_dir);
    let leaf = CertificateDer::pem_file_iter(&source.cert_file)
        .ok()
        .and_then(|mut certs| certs.next())
        .and_then(Result::ok)
        .ok_or_else(|| format!("cannot read the server certificate {}", source.cert_file.display()))?;
    let mut addr = config.server.staff_addr;
    if addr.ip().is_unspecified() {
        let loopback = match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        addr = SocketAddr::new(loopback, addr.port());
    }
    let status = tokio::time::timeout(TIMEOUT, probe(addr, leaf))
        .await
        .map_err(|_| format!("no answer from {addr} within {} s", TIMEOUT.as_secs()))??;
    if status == 200 {
        say!("healthy: https://{addr}/readyz answered 200");
        Ok(())
    } else {
        Err(format!("unhealthy: https://{addr}/readyz answered {status}"))
    }
}

async fn probe(addr: SocketAddr, leaf: CertificateDer<'static>) -> Result<u16, String> {
    let provider = crate::tls::provider();
    let verifier = Arc::new(Pinned { leaf, provider: Arc::clone(&provider) });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}. Is parley running?"))?;
    let name = ServerName::IpAddress(addr.ip().into());
    let mut tls = connector.connect(name, tcp).await.map_err(|e| format!("TLS with {addr} failed: {e}"))?;
    let request =
        format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: parley-healthcheck\r\n\r\n");
    tls.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut head = Vec::with_capacity(512);
    let _ = (&mut tls).take(4096).read_to_end(&mut head).await;
    let text = String::from_utf8_lossy(&head);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "the answer was not HTTP".to_owned())
}

/// Accepts exactly one certificate: the one parley is configured to serve.
#[derive(Debug)]
struct Pinned {
    leaf: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.leaf.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("the server presented a different certificate than parley's".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
