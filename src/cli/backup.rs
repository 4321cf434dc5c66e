//! `parley backup create|list|verify|restore` — the same code as the scheduler and the Backups
//! page. Verify and restore take the operator's age identity file; the appliance has none.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::ConfigArgs;
use crate::backup::{Backups, Trigger};
use crate::config::Config;
use crate::store::{AuditEntry, Store};
use crate::telemetry::Metrics;

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Make an encrypted backup now (to backup.dir, or --to), with its manifest.
    #[command(
        after_help = "Examples:\n  parley backup create\n  parley backup create --to /mnt/usb/parley   # no retention there"
    )]
    Create {
        /// Write into this directory instead of backup.dir (retention does not apply there).
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List the backups in backup.dir and the last run.
    #[command(after_help = "Example:\n  parley backup list")]
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Decrypt a backup to a temporary file and check it (manifest, checksum, integrity).
    #[command(
        after_help = "Example:\n  parley backup verify /var/backups/parley/parley-20260301-023000.db.age --identity ./backup-key.txt"
    )]
    Verify {
        /// The .db.age file (its .manifest.json must be beside it).
        file: PathBuf,
        /// age identity file (from age-keygen) whose public key is in backup.recipients.
        #[arg(long, value_name = "IDENTITY_FILE")]
        identity: PathBuf,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Replace the database with a backup. Stop the service first.
    #[command(
        after_help = "Example:\n  systemctl stop parley\n  parley backup restore /var/backups/parley/parley-20260301-023000.db.age --identity ./backup-key.txt\n  systemctl start parley"
    )]
    Restore {
        file: PathBuf,
        #[arg(long, value_name = "IDENTITY_FILE")]
        identity: PathBuf,
        /// Restore even though a running parley holds the data directory (restart it at once after).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

async fn open(config: &Config) -> Result<Store, String> {
    crate::store::prepare_data_dir(&config.server.data_dir).map_err(|e| e.to_string())?;
    let store =
        Store::open(&config.server.data_dir, &config.database, Metrics::default()).await.map_err(|e| e.to_string())?;
    crate::store::keyring::load_keyring_for_audit(&store, &crate::crypto::KekFile::from_config(config)).await;
    Ok(store)
}

/// Records a verify or restore in the live database's audit log, if there is a live database.
async fn audit_live(config: &Config, entry: AuditEntry) {
    if !config.server.data_dir.join("parley.db").exists() {
        return;
    }
    let result = match open(config).await {
        Ok(store) => {
            let result = store.audit(entry).await.map_err(|e| e.to_string());
            store.close().await;
            result
        }
        Err(err) => Err(err),
    };
    if let Err(err) = result {
        eprintln!("note: could not record this in the audit log: {err}");
    }
}

fn name_of(file: &Path) -> String {
    file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| file.display().to_string())
}

pub async fn run(command: BackupCommand) -> Result<(), String> {
    match command {
        BackupCommand::Create { to, config } => {
            let config = config.load(None, None).map_err(|e| e.to_string())?;
            let store = open(&config).await?;
            let backups = Backups::new(store.clone(), &config, Metrics::default());
            let dir = to.clone().unwrap_or_else(|| backups.dir().to_owned());
            let result = backups.create(Trigger::Cli, "cli", to).await;
            store.close().await;
            let run = result.map_err(|e| e.to_string())?;
            let file = run.file.unwrap_or_default();
            println!("backup written: {}", dir.join(&file).display());
            println!("  {} bytes, sha256 {}", run.size.unwrap_or(0), run.sha256.unwrap_or_default());
            Ok(())
        }
        BackupCommand::List { config } => {
            let config = config.load(None, None).map_err(|e| e.to_string())?;
            let store = open(&config).await?;
            let backups = Backups::new(store.clone(), &config, Metrics::default());
            let status = backups.status().await;
            store.close().await;
            let status = status.map_err(|e| e.to_string())?;
            println!("backups in {}", status.dir);
            println!("{:<32} {:<21} {:>12} {:<7} PROBLEM", "FILE", "CREATED", "BYTES", "SCHEMA");
            for b in &status.backups {
                let schema = b.schema_version.map(|v| v.to_string()).unwrap_or_else(|| "?".into());
                let problem = b.problem.as_deref().unwrap_or("");
                println!("{:<32} {:<21} {:>12} {:<7} {problem}", b.file, b.created_at, b.size, schema);
            }
            if status.backups.is_empty() {
                println!("(none)");
            }
            match &status.last_run {
                Some(run) => println!(
                    "last run: {} ({}) at {}{}",
                    run.status,
                    run.trigger,
                    run.started_at,
                    run.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
                ),
                None => println!("last run: none yet"),
            }
            if let Some(warning) = &status.warning {
                println!("warning: {warning}");
            }
            Ok(())
        }
        BackupCommand::Verify { file, identity, config } => {
            let config = config.load(None, None).map_err(|e| e.to_string())?;
            let result = crate::backup::verify(&file, &identity).await;
            let entry = match &result {
                Ok(v) => AuditEntry::new("cli", "backup.verify")
                    .target(name_of(&file))
                    .details(format!("ok: schema {}, sha256 {}", v.manifest.schema_version, v.manifest.sha256)),
                Err(err) => {
                    AuditEntry::new("cli", "backup.verify.failed").target(name_of(&file)).details(err.to_string())
                }
            };
            audit_live(&config, entry).await;
            let verified = result.map_err(|e| e.to_string())?;
            let m = &verified.manifest;
            println!("backup OK: {}", file.display());
            println!("  created {} by parley {}, schema version {}", m.created_at, m.parley_version, m.schema_version);
            println!("  {} bytes encrypted, {} bytes decrypted, integrity check ok", m.size, verified.database_size);
            match &verified.key_snapshot {
                Some((name, keys)) => println!("  keys from key snapshot {name}: {keys} data keys, checksum ok"),
                None => println!("  data keys inside the backup (made before key snapshots)"),
            }
            if verified.newer_than_binary {
                println!("  note: restoring it needs parley {} or later", m.parley_version);
            }
            Ok(())
        }
        BackupCommand::Restore { file, identity, force, config } => {
            let config = config.load(None, None).map_err(|e| e.to_string())?;
            let data_dir = config.server.data_dir.clone();
            match crate::backup::restore(&data_dir, &file, &identity, force, "cli").await {
                Ok(restored) => {
                    println!(
                        "restored {} (made {}) into {}",
                        file.display(),
                        restored.manifest.created_at,
                        data_dir.display()
                    );
                    let keys = restored.key_snapshot.as_deref().unwrap_or("inside the backup");
                    println!(
                        "  keys from {keys}: {} people without a key (erased since) removed",
                        restored.keyless_removed
                    );
                    println!(
                        "  erasure ledger: {} entries applied, {} people erased again",
                        restored.ledger_entries, restored.erased_again
                    );
                    println!("  start parley again (systemctl start parley); it needs the same key-encryption key");
                    Ok(())
                }
                Err(err) => {
                    let entry =
                        AuditEntry::new("cli", "backup.restore.failed").target(name_of(&file)).details(err.to_string());
                    audit_live(&config, entry).await;
                    Err(format!("{err}\nthe database was not changed"))
                }
            }
        }
    }
}
