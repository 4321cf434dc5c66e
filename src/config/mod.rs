//! Typed configuration: the embedded `config.example.toml` is the default, then the operator's
//! file, then `PARLEY_*` environment variables, then command-line flags (see `load`).

mod ldap;
mod level;
mod load;
mod removed;
mod secret;

pub use ldap::{GroupRole, LdapConfig};
pub use load::{CliOverrides, ConfigError, load, load_from_text};
pub use secret::Secret;

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// The embedded default configuration (also shipped as `/etc/parley/config.toml`).
pub const EXAMPLE: &str = include_str!("../../config.example.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub tls: TlsConfig,
    pub widget: WidgetConfig,
    pub chat: ChatConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub smtp: SmtpConfig,
    pub privacy: PrivacyConfig,
    pub keys: KeysConfig,
    pub backup: BackupConfig,
    pub retention: RetentionConfig,
    pub log: LogConfig,
    pub ldap: LdapConfig,
    pub metrics: MetricsConfig,
    /// Set by `serve --demo`; never read from a file.
    #[serde(skip)]
    pub demo: bool,
    /// Warnings about keys this release ignores (see `removed.rs`); printed by configtest,
    /// logged by serve.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub public_addr: SocketAddr,
    pub staff_addr: SocketAddr,
    pub max_body_bytes: u64,
    pub shutdown_grace_seconds: u64,
    /// New connections a second the staff listener starts TLS for (after a burst of 4×); 0: no limit.
    pub staff_connections_per_second: u32,
    pub organisation: String,
    pub public_url: String,
    /// Seconds a new connection gets to finish its TLS handshake.
    pub tls_handshake_timeout_seconds: u64,
    /// Seconds a client gets to send a request's headers (HTTP/1.1).
    pub header_read_timeout_seconds: u64,
    /// Seconds a connection may stay open with no request in progress (both protocols).
    pub idle_timeout_seconds: u64,
    /// Seconds after which an HTTP connection is asked to close (websockets are exempt).
    pub max_connection_age_seconds: u64,
    /// Seconds between HTTP/2 pings on a quiet connection; one unanswered for as long closes it.
    pub http2_keepalive_seconds: u64,
    /// Open connections one IP address may hold on the public listener; 0: no limit.
    pub public_connections_per_ip: u32,
    /// Pending connections the kernel queues for each listener (`listen(2)` backlog).
    pub listen_backlog: u32,
}

impl ServerConfig {
    /// Base URL of the public listener for links in e-mails, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("https://{}", self.public_addr)
        } else {
            self.public_url.trim_end_matches('/').to_owned()
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub generated_names: Vec<String>,
    pub hsts_max_age_seconds: u64,
}

impl TlsConfig {
    /// True when the operator supplied their own certificate.
    pub fn has_own_certificate(&self) -> bool {
        !self.cert_file.as_os_str().is_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetConfig {
    pub site_origins: Vec<String>,
    /// Visitor websocket connections one IP address may open per minute (with bursts that size).
    pub connections_per_minute_per_ip: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    pub operator_grace_seconds: u64,
    pub routing: Routing,
    pub max_chats: u32,
    /// Hours after a chat ends during which the visitor may still have its transcript e-mailed
    /// (0: only while it is open).
    pub transcript_email_window_hours: u32,
    /// Transcript e-mails one conversation may request at most (0: none).
    pub transcript_emails_per_conversation: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Routing {
    Manual,
    LeastBusy,
    RoundRobin,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub read_connections: u32,
    pub busy_timeout_ms: u64,
    pub commit_max_batch: usize,
    /// Tests only (never read from a file or the environment): switches off `secure_delete`
    /// and the WAL truncation after erasures, to show the carving tests can fail.
    #[serde(skip)]
    #[doc(hidden)]
    pub keep_deleted_bytes: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub session_idle_minutes: u64,
    pub session_absolute_hours: u64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub max_concurrent_hashes: usize,
    pub login_attempts_per_minute: u32,
    pub login_attempts_per_account_per_minute: u32,
    pub password_max_age_days: u64,
    pub lockout_threshold: u32,
    pub lockout_max_minutes: u64,
    pub totp_required_roles: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    pub password: Secret,
    pub password_file: PathBuf,
    pub from: String,
    pub ca_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    pub controller: String,
    pub dpo_contact: String,
    pub lawful_basis: String,
    pub data_location: String,
    pub visitor_ip: IpRetention,
    /// An erasure needs a second person with the erasure permission to approve it.
    pub erasure_second_approver: bool,
}

/// How much of a visitor's IP address is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpRetention {
    None,
    Truncated,
    Full,
}

impl IpRetention {
    /// The form an address is kept (and searched) in: IPv4 /24, IPv6 /48 when truncated.
    pub fn keep(self, ip: std::net::IpAddr) -> Option<String> {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        match (self, ip) {
            (IpRetention::None, _) => None,
            (IpRetention::Full, ip) => Some(ip.to_string()),
            (IpRetention::Truncated, IpAddr::V4(v4)) => {
                let [a, b, c, _] = v4.octets();
                Some(format!("{a}.{b}.{c}.0/24"))
            }
            (IpRetention::Truncated, IpAddr::V6(v6)) => {
                let s = v6.segments();
                Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    pub kek_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    pub dir: PathBuf,
    pub recipients: Vec<String>,
    pub schedule: String,
    pub keep_last: u32,
    pub max_age_days: u32,
    /// Key snapshots (the data keys, kept apart from each backup): at most this many…
    pub key_snapshot_keep_last: u32,
    /// …and none older than this (the newest always stays).
    pub key_snapshot_retention_days: u32,
}

/// Days to keep each category of personal data (0 = forever); see docs/gdpr.md, "Retention".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    pub chats_days: u32,
    pub offline_days: u32,
    pub mail_days: u32,
}

impl Config {
    /// The KEK file: `keys.kek_file`, else `<data_dir>/kek.key`.
    pub fn kek_file(&self) -> PathBuf {
        if self.keys.kek_file.as_os_str().is_empty() {
            self.server.data_dir.join("kek.key")
        } else {
            self.keys.kek_file.clone()
        }
    }

    /// The backup directory: `backup.dir`, else `<data_dir>/backups`.
    pub fn backup_dir(&self) -> PathBuf {
        if self.backup.dir.as_os_str().is_empty() {
            self.server.data_dir.join("backups")
        } else {
            self.backup.dir.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub level: String,
    pub format: LogFormat,
}

/// `/metrics` on the staff listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// File holding the bearer token scrapers must send; empty: `/metrics` is open.
    pub token_file: PathBuf,
    /// Read from `token_file` at load.
    #[serde(skip)]
    pub token: Secret,
}

impl Config {
    /// The embedded defaults alone.
    pub fn embedded() -> Result<Config, ConfigError> {
        load_from_text(None, &[], &CliOverrides::default())
    }

    /// Checks that go beyond types. Returns (dotted key, problem) for the first failure.
    fn check(&self) -> Result<(), (&'static str, String)> {
        let positive = [
            ("server.max_body_bytes", self.server.max_body_bytes),
            ("server.tls_handshake_timeout_seconds", self.server.tls_handshake_timeout_seconds),
            ("server.header_read_timeout_seconds", self.server.header_read_timeout_seconds),
            ("server.idle_timeout_seconds", self.server.idle_timeout_seconds),
            ("server.max_connection_age_seconds", self.server.max_connection_age_seconds),
            ("server.http2_keepalive_seconds", self.server.http2_keepalive_seconds),
            ("server.listen_backlog", u64::from(self.server.listen_backlog)),
            ("database.read_connections", u64::from(self.database.read_connections)),
            ("chat.max_chats", u64::from(self.chat.max_chats)),
            ("database.commit_max_batch", self.database.commit_max_batch as u64),
            ("auth.session_idle_minutes", self.auth.session_idle_minutes),
            ("auth.session_absolute_hours", self.auth.session_absolute_hours),
            ("auth.argon2_iterations", u64::from(self.auth.argon2_iterations)),
            ("widget.connections_per_minute_per_ip", u64::from(self.widget.connections_per_minute_per_ip)),
            ("auth.argon2_parallelism", u64::from(self.auth.argon2_parallelism)),
            ("auth.login_attempts_per_minute", u64::from(self.auth.login_attempts_per_minute)),
            ("auth.login_attempts_per_account_per_minute", u64::from(self.auth.login_attempts_per_account_per_minute)),
            ("auth.lockout_threshold", u64::from(self.auth.lockout_threshold)),
            ("auth.lockout_max_minutes", self.auth.lockout_max_minutes),
            ("backup.keep_last", u64::from(self.backup.keep_last)),
            ("backup.key_snapshot_keep_last", u64::from(self.backup.key_snapshot_keep_last)),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err((key, "must be greater than 0".into()));
            }
        }
        if self.auth.totp_required_roles.iter().any(|role| role.trim().is_empty()) {
            return Err(("auth.totp_required_roles", "role names must not be empty".into()));
        }
        if self.auth.argon2_memory_kib < 8 * self.auth.argon2_parallelism {
            return Err(("auth.argon2_memory_kib", "must be at least 8 × argon2_parallelism".into()));
        }
        if self.server.public_addr == self.server.staff_addr && self.server.public_addr.port() != 0 {
            return Err(("server.staff_addr", "must differ from server.public_addr".into()));
        }
        if self.server.data_dir.as_os_str().is_empty() {
            return Err(("server.data_dir", "must not be empty".into()));
        }
        if self.tls.cert_file.as_os_str().is_empty() != self.tls.key_file.as_os_str().is_empty() {
            return Err(("tls.key_file", "set both tls.cert_file and tls.key_file, or neither".into()));
        }
        for origin in &self.widget.site_origins {
            if let Err(problem) = crate::domain::Origin::parse(origin) {
                return Err(("widget.site_origins", problem));
            }
        }
        if !self.server.public_url.is_empty() && crate::domain::Origin::parse(&self.server.public_url).is_err() {
            return Err(("server.public_url", "must be https://host[:port] with no path, or empty".into()));
        }
        if !self.smtp.host.is_empty() && crate::domain::Email::parse(&self.smtp.from).is_err() {
            return Err(("smtp.from", format!("`{}` is not an e-mail address", self.smtp.from)));
        }
        if !self.smtp.password.is_empty() && !self.smtp.password_file.as_os_str().is_empty() {
            return Err(("smtp.password_file", "set smtp.password or smtp.password_file, not both".into()));
        }
        for recipient in &self.backup.recipients {
            crate::backup::parse_recipient(recipient).map_err(|problem| ("backup.recipients", problem))?;
        }
        crate::backup::Schedule::parse(&self.backup.schedule).map_err(|problem| ("backup.schedule", problem))?;
        if !self.backup.schedule.trim().is_empty() && self.backup.recipients.is_empty() {
            let problem = "backup.schedule is set, so list at least one age public key (age1…) to encrypt to";
            return Err(("backup.recipients", problem.into()));
        }
        for (key, days) in [
            ("retention.chats_days", self.retention.chats_days),
            ("retention.offline_days", self.retention.offline_days),
            ("retention.mail_days", self.retention.mail_days),
        ] {
            if days > 36_500 {
                return Err((key, "must be at most 36500 days (100 years); 0 keeps forever".into()));
            }
        }
        level::check(&self.log.level).map_err(|problem| ("log.level", problem))?;
        self.ldap.check()?;
        Ok(())
    }

    /// Reads `*_file` secrets into their values.
    fn read_secret_files(&mut self) -> Result<(), (&'static str, String)> {
        if !self.smtp.password_file.as_os_str().is_empty() {
            let text = std::fs::read_to_string(&self.smtp.password_file).map_err(|e| {
                ("smtp.password_file", format!("cannot read {}: {e}", self.smtp.password_file.display()))
            })?;
            self.smtp.password = Secret::new(text.trim_end_matches(['\r', '\n']).to_owned());
        }
        self.ldap.read_password()?;
        if !self.metrics.token_file.as_os_str().is_empty() {
            let path = &self.metrics.token_file;
            let text = std::fs::read_to_string(path)
                .map_err(|e| ("metrics.token_file", format!("cannot read {}: {e}", path.display())))?;
            let token = text.trim();
            if token.is_empty() {
                return Err(("metrics.token_file", format!("{} is empty; put the token in it", path.display())));
            }
            self.metrics.token = Secret::new(token.to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod ip_tests {
    use super::IpRetention;

    #[test]
    fn addresses_are_kept_as_configured() {
        let v4: std::net::IpAddr = "203.0.113.77".parse().expect("ip");
        let v6: std::net::IpAddr = "2001:db8:85a3:8d3:1319:8a2e:370:7348".parse().expect("ip");
        let mapped: std::net::IpAddr = "::ffff:203.0.113.77".parse().expect("ip");
        assert_eq!(IpRetention::Truncated.keep(v4).as_deref(), Some("203.0.113.0/24"));
        assert_eq!(IpRetention::Truncated.keep(v6).as_deref(), Some("2001:db8:85a3::/48"));
        assert_eq!(IpRetention::Truncated.keep(mapped).as_deref(), Some("203.0.113.0/24"));
        assert_eq!(IpRetention::Full.keep(v4).as_deref(), Some("203.0.113.77"));
        assert_eq!(IpRetention::None.keep(v4), None);
    }
}
