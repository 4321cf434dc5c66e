//! TLS for both listeners: the operator's PEM files or a self-signed certificate generated on
//! first start (valid 397 days, the most browsers and Apple devices accept, and generated again
//! when fewer than 30 days are left), TLS 1.2/1.3 only with the ring provider and the server's
//! cipher order, reloadable without dropping connections.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::version::{TLS12, TLS13};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsConfig;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {message}. Check tls.cert_file / tls.key_file and file permissions.")]
    Read { what: &'static str, path: PathBuf, message: String },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("the private key in {path} is not usable: {message}")]
    BadKey { path: PathBuf, message: String },
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("TLS setup failed: {0}")]
    Setup(String),
}

/// Total validity of a generated certificate (not before to not after): at most 398 days are
/// accepted by Apple devices and the CA/Browser Forum rules, so 397.
pub const GENERATED_VALIDITY_DAYS: i64 = 397;
/// A generated certificate with fewer days than this left is generated again.
pub const RENEW_DAYS_BEFORE: i64 = 30;

/// Installs ring as the process-wide rustls provider (idempotent).
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Where the certificate and key come from.
#[derive(Debug, Clone)]
pub struct CertSource {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    generated: Option<Vec<String>>,
}

impl CertSource {
    pub fn from_config(config: &TlsConfig, data_dir: &Path) -> CertSource {
        if config.has_own_certificate() {
            CertSource { cert_file: config.cert_file.clone(), key_file: config.key_file.clone(), generated: None }
        } else {
            let dir = data_dir.join("tls");
            CertSource {
                cert_file: dir.join("cert.pem"),
                key_file: dir.join("key.pem"),
                generated: Some(config.generated_names.clone()),
            }
        }
    }

    /// Generates the self-signed pair on first start (key file mode 0600), or again when the
    /// generated one is close to its end (or unreadable as X.509), then loads.
    fn load(&self) -> Result<Arc<CertifiedKey>, TlsError> {
        if let Some(names) = &self.generated {
            if !self.cert_file.exists() {
                generate(names, &self.cert_file, &self.key_file)?;
            } else if self.renewal_due() {
                generate(names, &self.cert_file, &self.key_file)?;
                tracing::info!(path = %self.cert_file.display(), "renewed the generated TLS certificate before it expires");
            }
        }
        load_pair(&self.cert_file, &self.key_file)
    }

    /// True for a generated certificate with fewer than `RENEW_DAYS_BEFORE` days left.
    fn renewal_due(&self) -> bool {
        if self.generated.is_none() {
            return false;
        }
        let Ok(first) = CertificateDer::pem_file_iter(&self.cert_file).and_then(|mut certs| certs.next().transpose())
        else {
            return true;
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        first.and_then(|cert| not_after(&cert)).is_none_or(|end| end - now < RENEW_DAYS_BEFORE * 86_400)
    }
}

/// A certificate's notAfter, as Unix time.
pub fn not_after(cert: &CertificateDer<'_>) -> Option<i64> {
    x509_parser::parse_x509_certificate(cert.as_ref()).ok().map(|(_, parsed)| parsed.validity().not_after.timestamp())
}

fn generate(names: &[String], cert_file: &Path, key_file: &Path) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(|e| TlsError::Generate(e.to_string()))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "Parley self-signed certificate");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = params.not_before + time::Duration::days(GENERATED_VALIDITY_DAYS);
    let key = rcgen::KeyPair::generate().map_err(|e| TlsError::Generate(e.to_string()))?;
    let cert = params.self_signed(&key).map_err(|e| TlsError::Generate(e.to_string()))?;
    if let Some(dir) = cert_file.parent() {
        std::fs::create_dir_all(dir).map_err(|source| TlsError::Write { path: dir.to_owned(), source })?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|source| TlsError::Write { path: dir.to_owned(), source })?;
    }
    // Key first, certificate last, each through a temporary file and a rename: an interrupted
    // start leaves no certificate, so the next start generates a fresh pair over the old key.
    for (path, contents) in [(key_file, key.serialize_pem()), (cert_file, cert.pem())] {
        let write_err = |source| TlsError::Write { path: path.to_owned(), source };
        let temporary = path.with_extension("pem.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(write_err)?;
        file.write_all(contents.as_bytes()).and_then(|()| file.sync_all()).map_err(write_err)?;
        std::fs::rename(&temporary, path).map_err(write_err)?;
    }
    tracing::info!(path = %cert_file.display(), "generated a self-signed TLS certificate");
    Ok(())
}

pub fn load_pair(cert_file: &Path, key_file: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Read { what: "certificate", path: cert_file.to_owned(), message: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: cert_file.to_owned() });
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| TlsError::Read {
        what: "private key",
        path: key_file.to_owned(),
        message: e.to_string(),
    })?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| TlsError::BadKey { path: key_file.to_owned(), message: e.to_string() })?;
    let certified = CertifiedKey::new(certs, signing);
    certified.keys_match().map_err(|e| TlsError::BadKey {
        path: key_file.to_owned(),
        message: format!("does not match the certificate: {e}"),
    })?;
    Ok(Arc::new(certified))
}

/// Serves whichever certificate was loaded last; `reload` swaps it for new handshakes only.
#[derive(Debug)]
pub struct CertResolver {
    source: CertSource,
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertResolver {
    pub fn new(source: CertSource) -> Result<Arc<CertResolver>, TlsError> {
        let current = RwLock::new(source.load()?);
        Ok(Arc::new(CertResolver { source, current }))
    }

    /// notAfter of the certificate in use (Unix time), for the metrics.
    pub fn not_after(&self) -> Option<i64> {
        let current = self.current.read().ok()?;
        current.cert.first().and_then(not_after)
    }

    /// Generates the certificate again when it is a generated one close to its end.
    pub fn renew_if_due(&self) -> Result<bool, TlsError> {
        if !self.source.renewal_due() {
            return Ok(false);
        }
        self.reload().map(|()| true)
    }

    /// Re-reads the files. On error the old certificate stays in use.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = self.source.load()?;
        if let Ok(mut current) = self.current.write() {
            *current = fresh;
        }
        Ok(())
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| Arc::clone(&c))
    }
}

/// rustls settings shared by both listeners: TLS 1.3 and 1.2, AEAD suites only, h2 + http/1.1.
pub fn server_config(resolver: Arc<CertResolver>) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13, &TLS12])
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // Our suite order (AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305), not the client's.
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}

/// Checks twice a day whether a generated certificate needs renewing (a server that runs for a
/// year without a restart keeps a valid certificate); new handshakes get the new one.
pub async fn renewal(resolver: Arc<CertResolver>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    const EVERY: Duration = Duration::from_secs(12 * 3600);
    loop {
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = crate::shutdown::wait_for_shutdown(&mut shutdown) => return,
        }
        if let Err(err) = resolver.renew_if_due() {
            tracing::error!(error = %err, "renewing the generated TLS certificate failed; the old one stays in use");
        }
    }
}

/// The provider used everywhere (for clients such as `parley healthcheck`).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
