//! Command line: `parley serve | configtest | user … | healthcheck | keys … | backup …`. Each command loads the
//! configuration the same way the server does, so they agree on the data directory.

/// `println!` that never panics: a closed standard output (`parley init | head -1`) loses the
/// rest of the text, but the command carries on and finishes its work.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::out(format_args!($($arg)*))
    };
}

mod actor;
mod audit;
mod backup;
mod bench;
mod configtest;
mod gdpr;
mod healthcheck;
mod init;
mod keys;
mod ldap;
mod preflight;
mod serve;
mod user;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, CliOverrides, Config};

/// Where packaged installs keep the configuration; used when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/parley/config.toml";

#[derive(Parser, Debug)]
#[command(name = "parley", version, about = "Self-hosted live chat for public-sector websites", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the appliance: public and staff HTTPS listeners.
    #[command(
        after_help = "Examples:\n  parley serve --config /etc/parley/config.toml\n  parley serve --demo   # local demo on https://127.0.0.1:8443 and :9443"
    )]
    Serve(ServeArgs),
    /// Check a configuration file and what `serve` needs on this machine (certificate and key,
    /// writable directories); print the first problem found.
    #[command(after_help = "Example:\n  parley configtest --config /etc/parley/config.toml")]
    Configtest(configtest::ConfigtestArgs),
    /// Manage local staff accounts.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Exit 0 when the running instance answers /readyz on the staff listener, 1 otherwise.
    #[command(
        after_help = "Examples (e.g. in a monitoring check):\n  parley healthcheck --config /etc/parley/config.toml\n  parley healthcheck --staff-addr 127.0.0.1:8443"
    )]
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Data-subject requests: search and erase a person's data (docs/gdpr.md).
    #[command(subcommand)]
    Gdpr(gdpr::GdprCommand),
    /// The audit log: verify its chain and anchors (docs/security.md, "Audit log").
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Measurements printed as figures (docs/performance.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Encryption keys: show, rotate, export a recovery copy (docs/operations.md, "Keys").
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Encrypted backups: create, list, verify, restore (docs/backups.md).
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Active Directory / LDAP sign-in: test the [ldap] settings (docs/security.md).
    #[command(subcommand)]
    Ldap(ldap::LdapCommand),
    /// Prepare a new installation once: key-encryption key, self-signed TLS certificate (unless
    /// one is configured) and a break-glass administrator. Running it again changes nothing.
    #[command(
        after_help = "Example (the Debian package runs this once, as root):\n  parley init --config /etc/parley/config.toml\nThe administrator's one-time password is written to /var/lib/parley/initial-admin-password."
    )]
    Init(init::InitArgs),
    /// Print parley's version; with --verbose also the bundled SQLite, rustls and ring.
    #[command(after_help = "Example:\n  parley version --verbose")]
    Version {
        /// Also the versions of the bundled components (their fixes arrive as new parley packages).
        #[arg(long, short)]
        verbose: bool,
    },
    /// Write the manual pages (parley.1, parley-serve.1, …) generated from this command line
    /// into DIR; used to build the package.
    #[command(hide = true)]
    Manpages { dir: PathBuf },
}

/// How to find the configuration (shared by every command).
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Configuration file (default: /etc/parley/config.toml if it exists, else built-in defaults).
    #[arg(long, env = "PARLEY_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Directory for the database, keys and certificates (overrides server.data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use the demo settings (./parley-demo-data, ports 8443 and 9443).
    #[arg(long)]
    pub demo: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Public listener address (overrides server.public_addr).
    #[arg(long, value_name = "IP:PORT")]
    pub public_addr: Option<String>,
    /// Staff listener address (overrides server.staff_addr).
    #[arg(long, value_name = "IP:PORT")]
    pub staff_addr: Option<String>,
}

impl ConfigArgs {
    pub fn load(&self, public_addr: Option<String>, staff_addr: Option<String>) -> Result<Config, config::ConfigError> {
        let overrides = CliOverrides { data_dir: self.data_dir.clone(), public_addr, staff_addr, demo: self.demo };
        let default = Path::new(DEFAULT_CONFIG);
        let path = match &self.config {
            Some(path) => Some(path.as_path()),
            None if !self.demo && default.exists() => Some(default),
            None => None,
        };
        config::load(path, &overrides)
    }
}

/// Writes one line to standard output, ignoring a closed pipe (see `say!`).
pub fn out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{args}");
}

/// A `println!` elsewhere that meets a closed pipe ends the process quietly (as `head` expects)
/// instead of printing a panic.
fn quiet_on_closed_stdout() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") {
            std::process::exit(141);
        }
        previous(info);
    }));
}

/// Runs the parsed command; errors are printed with what to do about them.
pub fn run(cli: Cli) -> ExitCode {
    quiet_on_closed_stdout();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Configtest(args) => configtest::run(&args),
            Command::User(command) => user::run(command).await,
            Command::Healthcheck(args) => healthcheck::run(&args).await,
            Command::Backup(command) => backup::run(command).await,
            Command::Ldap(command) => ldap::run(command).await,
            Command::Keys(command) => keys::run(command).await,
            Command::Bench(command) => bench::run(command).await,
            Command::Gdpr(command) => gdpr::run(command).await,
            Command::Audit(command) => audit::run(command).await,
            Command::Init(args) => init::run(args).await,
            Command::Version { verbose } => version(verbose).await,
            Command::Manpages { dir } => manpages(&dir),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `parley version [--verbose]`.
async fn version(verbose: bool) -> Result<(), String> {
    say!("parley {}", env!("CARGO_PKG_VERSION"));
    if verbose {
        let sqlite = crate::store::about::sqlite_version().await.map_err(|e| e.to_string())?;
        say!("SQLite {sqlite} (bundled, libsqlite3-sys {})", env!("PARLEY_VERSION_LIBSQLITE3_SYS"));
        say!("rustls {}", env!("PARLEY_VERSION_RUSTLS"));
        say!("ring {}", env!("PARLEY_VERSION_RING"));
    }
    Ok(())
}

/// One man page per command, `man parley` and `man parley-serve` etc.
fn manpages(dir: &Path) -> Result<(), String> {
    use clap::CommandFactory;
    clap_mangen::generate_to(Cli::command(), dir)
        .map_err(|e| format!("cannot write the manual pages into {}: {e}", dir.display()))
}
