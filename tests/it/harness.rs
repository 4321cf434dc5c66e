//! Test harness: a real server in-process on port 0 with a temporary data directory, and
//! clients that trust exactly its generated certificate over real TLS.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parley::Application;
use parley::config::{CliOverrides, Config, load_from_text};
use reqwest::{Client, Response, StatusCode};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;
use tempfile::TempDir;

pub struct TestApp {
    pub app: Application,
    pub dir: TempDir,
    pub client: Client,
}

/// Configuration for tests: temp data dir, ephemeral loopback ports, cheap argon2.
pub fn test_config(data_dir: &Path) -> Config {
    let env = vec![
        ("PARLEY_SERVER__DATA_DIR".to_owned(), data_dir.display().to_string()),
        ("PARLEY_SERVER__PUBLIC_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("PARLEY_SERVER__STAFF_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("PARLEY_AUTH__ARGON2_MEMORY_KIB".to_owned(), "64".to_owned()),
        ("PARLEY_AUTH__ARGON2_ITERATIONS".to_owned(), "1".to_owned()),
        ("PARLEY_AUTH__LOGIN_ATTEMPTS_PER_MINUTE".to_owned(), "1000".to_owned()),
        // Load tests open thousands of widget sockets from 127.0.0.1.
        ("PARLEY_WIDGET__CONNECTIONS_PER_MINUTE_PER_IP".to_owned(), "1000000".to_owned()),
        // ...and hold more open at once than the per-address cap (tested in listeners.rs).
        ("PARLEY_SERVER__PUBLIC_CONNECTIONS_PER_IP".to_owned(), "0".to_owned()),
        ("PARLEY_AUTH__LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE".to_owned(), "1000".to_owned()),
        // Tests open many staff connections at once; the pacing is tested on its own (auth.rs).
        ("PARLEY_SERVER__STAFF_CONNECTIONS_PER_SECOND".to_owned(), "0".to_owned()),
        // Two-factor sign-in is tested on its own (tests/it/account.rs); other tests sign in with a password.
        ("PARLEY_AUTH__TOTP_REQUIRED_ROLES".to_owned(), "[]".to_owned()),
        ("PARLEY_SERVER__SHUTDOWN_GRACE_SECONDS".to_owned(), "3".to_owned()),
        // Tests pick chats from the queue by hand unless they test automatic routing.
        ("PARLEY_CHAT__ROUTING".to_owned(), "manual".to_owned()),
        ("PARLEY_WIDGET__SITE_ORIGINS".to_owned(), "[\"https://www.example.gov.uk\"]".to_owned()),
    ];
    load_from_text(None, &env, &CliOverrides::default()).expect("test config loads")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = test_config(dir.path());
        adjust(&mut config);
        let cert = match config.tls.has_own_certificate() {
            true => config.tls.cert_file.clone(),
            false => dir.path().join("tls/cert.pem"),
        };
        let app = Application::build(config).await.expect("app builds");
        let client = client_trusting(&cert);
        TestApp { app, dir, client }
    }

    pub fn staff(&self, path: &str) -> String {
        format!("https://{}{path}", self.app.staff_addr())
    }

    pub fn public(&self, path: &str) -> String {
        format!("https://{}{path}", self.app.public_addr())
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("tls/cert.pem")
    }

    /// Creates a local user directly through the service layer.
    pub async fn add_user(&self, name: &str, role: &str, password: &str) {
        self.app.state().accounts.add_user(name, role, None, Some(password.to_owned())).await.expect("user created");
    }

    /// Signs in; returns the `Cookie` header value and the CSRF token.
    pub async fn login(&self, name: &str, password: &str) -> (String, String) {
        let response = self
            .client
            .post(self.staff("/api/v1/session"))
            .json(&serde_json::json!({ "username": name, "password": password }))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), StatusCode::OK, "login as {name}");
        let cookie = session_cookie(&response).expect("session cookie set");
        let body: Value = response.json().await.expect("json");
        let csrf = body["csrf_token"].as_str().expect("csrf token").to_owned();
        (cookie, csrf)
    }

    pub async fn user_count(&self) -> i64 {
        self.app.state().store.count_users().await.expect("count")
    }

    pub async fn session_count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM staff_sessions")
            .fetch_one(self.app.state().store.reader())
            .await
            .expect("count sessions")
    }

    /// Runs one statement through the store's writer: a test setting up a state directly.
    pub async fn execute(&self, sql: &'static str, args: Vec<Arg>) {
        self.app
            .state()
            .store
            .write(move |conn| {
                Box::pin(async move {
                    let mut query = sqlx::query(sql);
                    for arg in args {
                        query = match arg {
                            Arg::Int(value) => query.bind(value),
                            Arg::Text(value) => query.bind(value),
                        };
                    }
                    query.execute(&mut *conn).await.map(|_| ())
                })
            })
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub async fn stop(self) -> TempDir {
        self.app.stop().await;
        self.dir
    }
}

/// A value bound to a statement `TestApp::execute` runs.
pub enum Arg {
    Int(i64),
    Text(String),
}

impl From<i64> for Arg {
    fn from(value: i64) -> Arg {
        Arg::Int(value)
    }
}

impl From<&str> for Arg {
    fn from(value: &str) -> Arg {
        Arg::Text(value.to_owned())
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Arg {
        Arg::Text(value)
    }
}

/// `__Host-parley=…` from a response's Set-Cookie, ready for a `Cookie` header.
pub fn session_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-parley="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

pub fn rustls_client_config(cert_pem: &Path) -> rustls::ClientConfig {
    parley::tls::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cert_pem).expect("cert file") {
        roots.add(cert.expect("cert")).expect("add root");
    }
    rustls::ClientConfig::builder_with_provider(parley::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A reqwest client that trusts only the given certificate (verification stays on).
pub fn client_trusting(cert_pem: &Path) -> Client {
    let mut tls = rustls_client_config(cert_pem);
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Client::builder().use_preconfigured_tls(tls).build().expect("client")
}

/// Asserts the standard error shape and returns the code.
pub async fn error_code(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status, "status for {}", response.url());
    assert_eq!(
        response.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "errors are JSON"
    );
    let body: Value = response.json().await.expect("error body is JSON");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "error has a message: {body}");
    body["code"].as_str().expect("error has a code").to_owned()
}

pub fn tls_connector(cert_pem: &Path, alpn_http1: bool) -> tokio_rustls::TlsConnector {
    let mut config = rustls_client_config(cert_pem);
    if alpn_http1 {
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
    }
    tokio_rustls::TlsConnector::from(Arc::new(config))
}
