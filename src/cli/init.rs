//! `parley init`: prepares a new installation once — the key-encryption key, a self-signed TLS
//! certificate when none is configured, and a break-glass administrator whose one-time password
//! goes to a file only its owner can read. The Debian package's postinst runs it as root. Running
//! it again changes nothing that exists and says so.
//!
//! When it runs as another user than the one owning the data directory (root in the postinst,
//! where systemd-tmpfiles made `/var/lib/parley` for the `parley` user), everything it wrote there
//! is handed to the directory's owner, except the password file, which stays with whoever ran it.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use clap::Args;

use super::ConfigArgs;
use super::preflight::{self, State};
use crate::crypto::{KekFile, fingerprint, kek::read_key};
use crate::service::accounts::Accounts;
use crate::store::Store;
use crate::store::keyring::load_keyring;
use crate::telemetry::Metrics;
use crate::tls::{CertResolver, CertSource};

/// Name of the password file inside the data directory.
pub const PASSWORD_FILE: &str = "initial-admin-password";

#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// User name of the break-glass administrator created when no administrator exists.
    #[arg(long, value_name = "NAME", default_value = "admin")]
    pub admin: String,
    /// Where the administrator's one-time password is written (mode 0600, never printed).
    /// Default: <data_dir>/initial-admin-password.
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    /// Start again with no data when the database is missing or empty beside an existing
    /// key-encryption key (a lost database): the old key is kept as `<key>.replaced-<time>` and a
    /// new one made. Restoring a backup (`parley backup restore`) is the other way on.
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: InitArgs) -> Result<(), String> {
    let config = args.config.load(None, None).map_err(|e| e.to_string())?;
    let data_dir = config.server.data_dir.clone();
    if let State::Lost { db, kek } = preflight::inspect(&config)? {
        if !args.force {
            return Err(preflight::lost(&db, &kek));
        }
        start_again(&db, &kek)?;
    }
    crate::store::prepare_data_dir(&data_dir).map_err(|e| e.to_string())?;
    let password_file = args.password_file.clone().unwrap_or_else(|| data_dir.join(PASSWORD_FILE));
    let mut changed = false;

    let store = Store::open(&data_dir, &config.database, Metrics::default()).await.map_err(|e| e.to_string())?;
    let result = prepare(&args, &config, &store, &password_file, &mut changed).await;
    store.close().await;
    result?;

    // Owner of the data directory, and whether files written here must be handed to it.
    let owner = std::fs::metadata(&data_dir).map_err(|e| format!("cannot read {}: {e}", data_dir.display()))?;
    hand_over(&data_dir, (owner.uid(), owner.gid()), &password_file)?;
    let kek = config.kek_file();
    if !kek.starts_with(&data_dir) && kek.exists() {
        hand_over(&kek, (owner.uid(), owner.gid()), &password_file)?;
    }
    if changed {
        say!("parley init: done.");
    } else {
        say!("parley init: already initialised; nothing changed.");
    }
    Ok(())
}

async fn prepare(
    args: &InitArgs,
    config: &crate::config::Config,
    store: &Store,
    password_file: &Path,
    changed: &mut bool,
) -> Result<(), String> {
    // 1. The key-encryption key: the same code the server runs on first start.
    let had_key = !store.keks().await.map_err(|e| e.to_string())?.is_empty();
    let source = KekFile::from_config(config);
    load_keyring(store, &source).await.map_err(|e| e.to_string())?;
    let shown = read_key(&source.path).ok().flatten().map(|k| fingerprint(&k)).unwrap_or_else(|| "?".into());
    if had_key {
        say!("key-encryption key: present ({}, fingerprint {shown})", source.path.display());
    } else {
        *changed = true;
        say!("key-encryption key: created {} (fingerprint {shown})", source.path.display());
        say!(
            "  Keep an escrow copy now: parley keys export-recovery --recipient age1… (docs/backups.md, \"Key escrow\")"
        );
    }

    // 2. TLS: the configured certificate is checked; otherwise a self-signed one is made once.
    crate::tls::install_crypto_provider();
    let tls = CertSource::from_config(&config.tls, &config.server.data_dir);
    let existed = tls.cert_file.exists();
    CertResolver::new(tls.clone()).map_err(|e| e.to_string())?;
    if config.tls.has_own_certificate() {
        say!("TLS certificate: using the configured {}", tls.cert_file.display());
    } else if existed {
        say!("TLS certificate: self-signed certificate present ({})", tls.cert_file.display());
    } else {
        *changed = true;
        say!(
            "TLS certificate: generated a self-signed certificate {} for {}",
            tls.cert_file.display(),
            config.tls.generated_names.join(", ")
        );
        say!("  Replace it with your organisation's certificate: tls.cert_file and tls.key_file (docs/install.md).");
    }

    // 3. A break-glass administrator, only while there is no administrator at all.
    let accounts = Accounts::new(store.clone(), &config.auth).map_err(|e| e.to_string())?;
    let users = accounts.list_users().await.map_err(|e| e.to_string())?;
    if let Some(admin) = users.iter().find(|u| u.role == "administrator") {
        say!("administrator: `{}` exists; no new account made", admin.username);
        return Ok(());
    }
    let (user, password) = accounts
        .add_user(&args.admin, "administrator", Some("Break-glass administrator"), None)
        .await
        .map_err(|e| format!("cannot create the administrator `{}`: {e}", args.admin))?;
    *changed = true;
    let Some(password) = password else {
        return Err("no one-time password was generated".into());
    };
    let text = format!(
        "Parley break-glass administrator\n\
         user name: {name}\n\
         one-time password: {password}\n\n\
         Sign in on the staff listener (https://{staff}/admin); you must choose a new password at once.\n\
         Then delete this file.\n",
        name = user.username,
        staff = staff_host(config.server.staff_addr),
    );
    write_secret(password_file, &text).map_err(|e| {
        format!(
            "created the administrator `{}`, but cannot write its password to {}: {e}. \
             Give it a new one with `parley user reset-password {}`.",
            user.username,
            password_file.display(),
            user.username
        )
    })?;
    say!(
        "administrator: created `{}`; its one-time password is in {} (readable only by its owner)",
        user.username,
        password_file.display()
    );
    Ok(())
}

/// `--force` over a lost database: the old key moves aside (never deleted: an old backup's key
/// snapshot may still need it), the empty database and its journal files go.
fn start_again(db: &Path, kek: &Path) -> Result<(), String> {
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut aside = kek.as_os_str().to_owned();
    aside.push(format!(".replaced-{stamp}"));
    let aside = PathBuf::from(aside);
    std::fs::rename(kek, &aside)
        .map_err(|e| format!("cannot move the old key {} aside to {}: {e}", kek.display(), aside.display()))?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(PathBuf::from(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove the empty database {}{suffix}: {e}", db.display())),
        }
    }
    say!("--force: the old key-encryption key is kept as {}; starting a new installation", aside.display());
    Ok(())
}

/// The staff listener as a person would type it: a wildcard address becomes "this server".
fn staff_host(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() { format!("<this server's name>:{}", addr.port()) } else { addr.to_string() }
}

/// Writes `text` to `path` with mode 0600 through a temporary file and a rename.
fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    let _ = std::fs::remove_file(&temporary);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// Gives `path` (recursively, without following links) to `owner` where it belongs to someone
/// else, leaving `except` alone. A no-op when init ran as the data directory's owner.
fn hand_over(path: &Path, owner: (u32, u32), except: &Path) -> Result<(), String> {
    if path == except {
        return Ok(());
    }
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if (meta.uid(), meta.gid()) != owner {
        std::os::unix::fs::lchown(path, Some(owner.0), Some(owner.1)).map_err(|e| {
            format!(
                "cannot give {} to uid {} gid {}: {e}. Run parley init as root or as that user.",
                path.display(),
                owner.0,
                owner.1
            )
        })?;
    }
    if meta.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", path.display()))?;
            hand_over(&entry.path(), owner, except)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_file_is_private_and_replaced_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(PASSWORD_FILE);
        write_secret(&path, "first\n").expect("write");
        write_secret(&path, "second\n").expect("rewrite");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "second\n");
        let mode = std::fs::metadata(&path).expect("meta").mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!path.with_extension("tmp").exists());
    }

    fn args(dir: &Path) -> InitArgs {
        let config = dir.join("config.toml");
        std::fs::write(&config, "[auth]\nargon2_memory_kib = 1024\nargon2_iterations = 1\n").expect("config");
        InitArgs {
            config: ConfigArgs { config: Some(config), data_dir: Some(dir.join("data")), demo: false },
            admin: "breakglass".into(),
            password_file: None,
            force: false,
        }
    }

    #[tokio::test]
    async fn init_creates_key_certificate_and_administrator_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        run(args(dir.path())).await.expect("first init");
        let password = data.join(PASSWORD_FILE);
        let first = std::fs::read_to_string(&password).expect("password file");
        assert!(first.contains("user name: breakglass"), "{first}");
        assert_eq!(std::fs::metadata(&password).expect("meta").mode() & 0o777, 0o600);
        let key = std::fs::read(data.join("kek.key")).expect("key file");
        let cert = std::fs::read(data.join("tls/cert.pem")).expect("certificate");

        run(args(dir.path())).await.expect("second init");
        assert_eq!(std::fs::read_to_string(&password).expect("password file"), first);
        assert_eq!(std::fs::read(data.join("kek.key")).expect("key file"), key);
        assert_eq!(std::fs::read(data.join("tls/cert.pem")).expect("certificate"), cert);
        let defaults = crate::config::Config::embedded().expect("defaults");
        let store = Store::open(&data, &defaults.database, Metrics::default()).await.expect("open");
        let users = store.list_users().await.expect("users");
        store.close().await;
        assert_eq!(users.len(), 1);
        assert!(users[0].must_change_password, "the one-time password must be changed at first login");
    }
}
