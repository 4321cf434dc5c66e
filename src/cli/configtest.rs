//! `parley configtest`: loads the configuration exactly as `serve` does, then checks what
//! `serve` will need on this machine: the TLS certificate and key (readable, the key belonging
//! to the certificate) and the directories it writes, as the service user.
//!
//! Run as root (the usual case), it checks as the service user (`--user`, default `parley`)
//! from the files' owner, group and mode bits (ACLs are not read), and says so. Run as anyone
//! else, it checks as itself by writing a scratch file.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;

use super::ConfigArgs;
use crate::config::Config;
use crate::tls::CertSource;

/// Where systemd keeps the unit's state; the only path the packaged unit may write.
const STATE_DIR: &str = "/var/lib/parley";
/// Drop-ins of the packaged unit.
const DROP_IN_DIR: &str = "/etc/systemd/system/parley.service.d";

#[derive(Args, Debug)]
pub struct ConfigtestArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The user the service runs as; checked when configtest runs as root.
    #[arg(long, value_name = "NAME", default_value = "parley")]
    pub user: String,
}

/// Who the directory checks are for.
enum Who {
    /// This process, checked by writing.
    Me,
    /// The service user, checked from owner, group and mode.
    Service { name: String, uid: u32, gids: Vec<u32> },
}

pub fn run(args: &ConfigtestArgs) -> Result<(), String> {
    let config = args.config.load(None, None).map_err(|e| e.to_string())?;
    for warning in &config.warnings {
        say!("warning: {warning}");
    }
    crate::crypto::kek::check_private(&crate::crypto::KekFile::from_config(&config).path).map_err(|e| e.to_string())?;
    let who = who(&args.user)?;
    let tls = check_tls(&config, &who)?;
    say!("TLS: {tls}");
    for (key, dir) in directories(&config) {
        let line = check_dir(key, &dir, &who)?;
        say!("{key}: {line}");
        if !dir.starts_with(STATE_DIR) && unit_installed() && !in_drop_in(&dir) {
            say!(
                "  note: {} is outside {STATE_DIR}; the packaged service may write it only with \
                 ReadWritePaths={} in a drop-in (`systemctl edit parley`, docs/operations.md, \
                 \"Directories outside /var/lib/parley\")",
                dir.display(),
                dir.display()
            );
        }
    }
    say!(
        "configuration OK: data in {}, public listener {}, staff listener {}",
        config.server.data_dir.display(),
        config.server.public_addr,
        config.server.staff_addr
    );
    Ok(())
}

/// The directories serve writes, with the key that sets each.
fn directories(config: &Config) -> Vec<(&'static str, PathBuf)> {
    let mut dirs = vec![("server.data_dir", config.server.data_dir.clone()), ("backup.dir", config.backup_dir())];
    let kek = config.kek_file();
    if let Some(parent) = kek.parent().filter(|p| !p.starts_with(&config.server.data_dir)) {
        dirs.push(("keys.kek_file", parent.to_owned()));
    }
    dirs
}

/// Root checks for the service user; anyone else for themselves.
fn who(user: &str) -> Result<Who, String> {
    let euid = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX);
    if euid != 0 {
        return Ok(Who::Me);
    }
    let passwd = Command::new("getent").args(["passwd", user]).output().ok().filter(|o| o.status.success());
    let Some(passwd) = passwd else {
        say!("note: the service user `{user}` does not exist here (name another with --user); checking as root");
        return Ok(Who::Me);
    };
    let line = String::from_utf8_lossy(&passwd.stdout).to_string();
    let fields: Vec<&str> = line.trim().split(':').collect();
    let uid = fields.get(2).and_then(|f| f.parse().ok()).ok_or_else(|| format!("getent passwd {user}: {line}"))?;
    let mut gids: Vec<u32> = fields.get(3).and_then(|f| f.parse().ok()).into_iter().collect();
    if let Ok(groups) = Command::new("id").args(["-G", user]).output() {
        gids.extend(String::from_utf8_lossy(&groups.stdout).split_whitespace().filter_map(|g| g.parse::<u32>().ok()));
    }
    Ok(Who::Service { name: user.to_owned(), uid, gids })
}

/// The mode bits (read 4, write 2, search 1) that apply to `who` on `meta`.
fn permitted(meta: &std::fs::Metadata, uid: u32, gids: &[u32]) -> u32 {
    let mode = meta.mode();
    if meta.uid() == uid {
        (mode >> 6) & 7
    } else if gids.contains(&meta.gid()) {
        (mode >> 3) & 7
    } else {
        mode & 7
    }
}

fn check_tls(config: &Config, who: &Who) -> Result<String, String> {
    let source = CertSource::from_config(&config.tls, &config.server.data_dir);
    let own = config.tls.has_own_certificate();
    if !own && !source.cert_file.exists() {
        return Ok(format!(
            "a self-signed certificate will be generated in {} on first start",
            display_parent(&source.cert_file)
        ));
    }
    let key = if own { "tls.cert_file / tls.key_file" } else { "the generated certificate" };
    if let Who::Service { name, uid, gids } = who {
        for file in [&source.cert_file, &source.key_file] {
            let meta = std::fs::metadata(file).map_err(|e| format!("{key}: cannot read {}: {e}", file.display()))?;
            if permitted(&meta, *uid, gids) & 4 == 0 && *uid != 0 {
                return Err(format!(
                    "{key}: {} is not readable by the service user `{name}` (owner {}, group {}, mode {:o}). \
                     Give it to that user or group, e.g. chown root:{name} and chmod 0640.",
                    file.display(),
                    meta.uid(),
                    meta.gid(),
                    meta.mode() & 0o7777
                ));
            }
        }
    }
    crate::tls::install_crypto_provider();
    crate::tls::load_pair(&source.cert_file, &source.key_file).map_err(|e| format!("{key}: {e}"))?;
    Ok(format!(
        "{} and {} are readable and the key belongs to the certificate",
        source.cert_file.display(),
        source.key_file.display()
    ))
}

fn display_parent(path: &Path) -> String {
    path.parent().unwrap_or(path).display().to_string()
}

/// `dir`, or the nearest parent that exists when serve would create it.
fn check_dir(key: &str, dir: &Path, who: &Who) -> Result<String, String> {
    let existing = dir.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    let created = if existing == dir {
        String::new()
    } else {
        format!(" (created on first start inside {})", existing.display())
    };
    if !existing.is_dir() {
        return Err(format!("{key}: {} is not a directory", existing.display()));
    }
    match who {
        Who::Me => {
            let probe = existing.join(format!(".parley-configtest-{}", std::process::id()));
            std::fs::write(&probe, b"").map_err(|e| {
                format!(
                    "{key}: {} is not writable by this user: {e}. Fix its owner or mode, or choose another directory.",
                    existing.display()
                )
            })?;
            let _ = std::fs::remove_file(&probe);
            Ok(format!("{} is writable (checked by writing a file){created}", dir.display()))
        }
        Who::Service { name, uid, gids } => {
            // systemd creates the state directory itself (StateDirectory=parley).
            if existing != dir && dir == Path::new(STATE_DIR) {
                return Ok(format!("{STATE_DIR} will be created by systemd for `{name}`"));
            }
            if *uid != 0 {
                for parent in existing.ancestors().skip(1) {
                    let meta = std::fs::metadata(parent)
                        .map_err(|e| format!("{key}: cannot read {}: {e}", parent.display()))?;
                    if permitted(&meta, *uid, gids) & 1 == 0 {
                        return Err(format!(
                            "{key}: the service user `{name}` cannot reach {} because it may not enter {} \
                             (owner {}, group {}, mode {:o}). Allow it (chmod o+x) or choose another directory.",
                            dir.display(),
                            parent.display(),
                            meta.uid(),
                            meta.gid(),
                            meta.mode() & 0o7777
                        ));
                    }
                }
            }
            let meta =
                std::fs::metadata(existing).map_err(|e| format!("{key}: cannot read {}: {e}", existing.display()))?;
            if *uid != 0 && permitted(&meta, *uid, gids) & 3 != 3 {
                return Err(format!(
                    "{key}: {} is not writable by the service user `{name}` (owner {}, group {}, mode {:o}). \
                     Run `chown {name}:{name} {}` or choose another directory.",
                    existing.display(),
                    meta.uid(),
                    meta.gid(),
                    meta.mode() & 0o7777,
                    existing.display()
                ));
            }
            Ok(format!("{} is writable by `{name}` (checked from owner and mode){created}", dir.display()))
        }
    }
}

fn unit_installed() -> bool {
    [
        "/lib/systemd/system/parley.service",
        "/usr/lib/systemd/system/parley.service",
        "/etc/systemd/system/parley.service",
    ]
    .iter()
    .any(|p| Path::new(p).exists())
}

/// Whether a drop-in of the unit lists `dir` (or a parent) in ReadWritePaths=.
fn in_drop_in(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(DROP_IN_DIR) else { return false };
    entries.flatten().filter_map(|e| std::fs::read_to_string(e.path()).ok()).any(|text| {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix("ReadWritePaths="))
            .any(|paths| paths.split_whitespace().map(|p| p.trim_start_matches(['-', '+'])).any(|p| dir.starts_with(p)))
    })
}
