//! `Application::build(config)`: opens storage, loads TLS, binds both listeners (port 0 works,
//! for tests), starts serving, and returns a handle with the bound addresses. `stop` shuts down
//! gracefully: stop accepting, close websockets with 1001, drain connections, flush the writer.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::http::assets::Assets;
use crate::ratelimit::KeyedLimiter;
use crate::service::accounts::Accounts;
use crate::service::chat::Chat;
use crate::service::departments::{DepartmentError, Departments};
use crate::service::mail::Mailer;
use crate::service::sites::{SiteError, Sites};
use crate::shutdown::TaskCounter;
use crate::store::Store;
use crate::telemetry::{Metrics, Surface};
use crate::tls::CertResolver;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Keys(#[from] crate::crypto::KekError),
    #[error(transparent)]
    Keyring(#[from] crate::store::KeyringError),
    #[error(transparent)]
    Hash(#[from] crate::auth::password::HashError),
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    #[error("cannot set up the widget sites: {0}")]
    Sites(#[from] SiteError),
    #[error("cannot load the departments: {0}")]
    Departments(#[from] DepartmentError),
    #[error("cannot set up Active Directory / LDAP sign-in: {0}")]
    Directory(#[from] crate::service::directory::DirectoryError),
    #[error(
        "cannot listen on {addr} ({which} listener): {source}. Is another program using the port, or does binding a port below 1024 need CAP_NET_BIND_SERVICE?"
    )]
    Bind { which: &'static str, addr: SocketAddr, source: std::io::Error },
}

/// Everything a request handler may use; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<StateInner>);

pub struct StateInner {
    pub config: Config,
    pub store: Store,
    pub accounts: Accounts,
    pub chat: Chat,
    pub mailer: Mailer,
    pub metrics: Metrics,
    pub assets: Assets,
    pub tls: Arc<CertResolver>,
    pub login_limiter: KeyedLimiter,
    /// Visitor websocket connections per IP address (`widget.connections_per_minute_per_ip`).
    pub visitor_limiter: KeyedLimiter,
    /// The websites allowed to embed the widget.
    pub sites: Sites,
    /// Teams with members, routing modes and business hours.
    pub departments: Departments,
    /// Roles, their permissions and login restrictions.
    pub roles: crate::service::roles::Roles,
    /// The privacy notice in force (published at start).
    pub privacy: crate::service::privacy::Notice,
    /// Flips to true when the server starts shutting down.
    pub shutdown: watch::Receiver<bool>,
    /// Long-lived tasks (websockets) that shutdown waits for.
    pub tasks: TaskCounter,
}

impl std::ops::Deref for AppState {
    type Target = StateInner;
    fn deref(&self) -> &StateInner {
        &self.0
    }
}

pub struct Application {
    state: AppState,
    public_addr: SocketAddr,
    staff_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    _serve_lock: crate::backup::FileLock,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, AppError> {
        crate::tls::install_crypto_provider();
        let data_dir = config.server.data_dir.clone();
        crate::store::prepare_data_dir(&data_dir)?;
        // Held while serving: `parley backup restore` refuses to replace the database meanwhile.
        let serve_lock = crate::backup::FileLock::serve(&data_dir).await?;
        let metrics = Metrics::default();
        let source = crate::crypto::KekFile::from_config(&config);
        let (store, keyring) = Store::open_with_keys(&data_dir, &config.database, metrics.clone(), &source).await?;
        crate::store::seal_legacy_rows(&store).await?;
        // Entries a command or a restore wrote without the audit key join the chain now.
        store.chain_pending_audit().await?;
        let directory = crate::service::directory::Directory::from_config(&config.ldap)?;
        let roles = crate::service::roles::Roles::load(store.clone()).await?;
        let accounts = Accounts::new(store.clone(), &config.auth)?.with_directory(directory).with_roles(roles.clone());
        // Wrapped by the KEK in the database: tokens cannot be derived from the file alone.
        let token_key = keyring.chat_token_key().ok_or(crate::store::StoreError::NoKeys)?;
        let mailer = Mailer::new(store.clone(), &config);
        let departments = Departments::load(store.clone()).await?;
        let chat = Chat::new(
            store.clone(),
            Arc::new(crate::realtime::hub::Hub::default()),
            departments.clone(),
            metrics.clone(),
            token_key,
            &config.chat,
        );
        let tls = CertResolver::new(crate::tls::CertSource::from_config(&config.tls, &data_dir))?;
        let acceptor = TlsAcceptor::from(crate::tls::server_config(Arc::clone(&tls))?);
        let backlog = config.server.listen_backlog;
        let bind = |which, addr| {
            crate::http::serve::bind(addr, backlog).map_err(|source| AppError::Bind { which, addr, source })
        };
        let public = bind("public", config.server.public_addr)?;
        let staff = bind("staff", config.server.staff_addr)?;
        let local =
            |l: &TcpListener, which, addr| l.local_addr().map_err(|source| AppError::Bind { which, addr, source });
        let public_addr = local(&public, "public", config.server.public_addr)?;
        let staff_addr = local(&staff, "staff", config.server.staff_addr)?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let sites = Sites::load(store.clone(), departments.clone(), &config).await?;
        let privacy = crate::service::privacy::publish(&store, &config).await?;
        let login_limiter = KeyedLimiter::per_minute(config.auth.login_attempts_per_minute);
        let visitor_limiter = KeyedLimiter::per_minute(config.widget.connections_per_minute_per_ip);
        let state = AppState(Arc::new(StateInner {
            config,
            store,
            accounts,
            chat,
            mailer,
            metrics,
            assets: Assets::load(),
            tls,
            login_limiter,
            visitor_limiter,
            sites,
            departments,
            roles,
            privacy,
            shutdown: shutdown_rx.clone(),
            tasks: TaskCounter::default(),
        }));
        let mut tasks = JoinSet::new();
        tasks.spawn(crate::backup::scheduler(
            state.store.clone(),
            state.config.clone(),
            state.metrics.clone(),
            shutdown_rx.clone(),
        ));
        tasks.spawn(crate::service::retention::scheduler(
            state.store.clone(),
            state.config.retention.clone(),
            state.metrics.clone(),
            shutdown_rx.clone(),
        ));
        tasks.spawn(crate::tls::renewal(Arc::clone(&state.tls), shutdown_rx.clone()));
        let anchor = crate::service::audit::anchor_path(&state.config.server.data_dir);
        tasks.spawn(crate::service::audit::scheduler(state.store.clone(), anchor, shutdown_rx.clone()));
        let sender = state.mailer.spawn_sender(shutdown_rx.clone());
        tasks.spawn(async move {
            let _ = sender.await;
        });
        let public_routes = crate::http::public_routes(state.clone());
        let staff_routes = crate::http::staff_routes(state.clone());
        tasks.spawn(crate::http::serve::serve(
            public,
            acceptor.clone(),
            public_routes,
            Surface::Public,
            state.clone(),
            shutdown_rx.clone(),
            0,
        ));
        tasks.spawn(crate::http::serve::serve(
            staff,
            acceptor,
            staff_routes,
            Surface::Staff,
            state.clone(),
            shutdown_rx,
            state.config.server.staff_connections_per_second,
        ));
        tracing::info!(%public_addr, %staff_addr, "listening");
        Ok(Application { state, public_addr, staff_addr, shutdown, tasks, _serve_lock: serve_lock })
    }

    pub fn public_addr(&self) -> SocketAddr {
        self.public_addr
    }

    pub fn staff_addr(&self) -> SocketAddr {
        self.staff_addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Re-reads the TLS certificate and key; open connections keep theirs.
    pub fn reload_tls(&self) -> Result<(), AppError> {
        self.state.tls.reload()?;
        tracing::info!("TLS certificate reloaded");
        Ok(())
    }

    /// Graceful shutdown; returns when connections are drained and the database is flushed.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
        let grace = std::time::Duration::from_secs(self.state.config.server.shutdown_grace_seconds);
        if tokio::time::timeout(grace, self.state.tasks.idle()).await.is_err() {
            tracing::warn!("websockets still open after the grace period");
        }
        self.state.store.close().await;
        tracing::info!("stopped");
    }
}
