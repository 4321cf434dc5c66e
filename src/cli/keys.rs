//! `parley keys show | rotate | export-recovery` — key management from the command line (the
//! same service code as the Keys page). Key bytes are never printed.

use std::path::PathBuf;

use clap::Subcommand;

use super::ConfigArgs;
use crate::crypto::KekFile;
use crate::service::keys;
use crate::store::Store;
use crate::store::keyring::load_keyring;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Fingerprints, creation dates, data keys per key and rotation progress (never key bytes).
    #[command(after_help = "Example:\n  sudo -u parley parley keys show")]
    Show {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Make a new key-encryption key and re-wrap every data key under it. Safe while the service
    /// runs and chats continue; after an interruption, run it again to finish.
    #[command(
        after_help = "Example:\n  sudo -u parley parley keys rotate\nThen export a new recovery copy: the old one no longer opens anything."
    )]
    Rotate {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Write the key-encryption key, encrypted to an escrow age public key, for disaster recovery.
    #[command(
        after_help = "Example:\n  sudo -u parley parley keys export-recovery --recipient age1… --out /root/parley-kek-recovery.age\nKeep the file and the escrow identity apart; see docs/backups.md, \"Key escrow\"."
    )]
    ExportRecovery {
        /// The escrow's age public key (age1…).
        #[arg(long, value_name = "AGE_PUBLIC_KEY")]
        recipient: String,
        /// Where to write it (must not exist yet).
        #[arg(long, value_name = "FILE", default_value = "parley-kek-recovery.age")]
        out: PathBuf,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

async fn open(args: &ConfigArgs) -> Result<(Store, KekFile), String> {
    let config = args.load(None, None).map_err(|e| e.to_string())?;
    let store = super::preflight::open_store(&config).await?;
    let source = KekFile::from_config(&config);
    load_keyring(&store, &source).await.map_err(|e| e.to_string())?;
    Ok((store, source))
}

pub async fn run(command: KeysCommand) -> Result<(), String> {
    match command {
        KeysCommand::Show { config } => {
            let (store, source) = open(&config).await?;
            let status = keys::status(&store, &source).await.map_err(|e| e.to_string())?;
            let from = if status.credential { "systemd credential" } else { "key file" };
            say!("key-encryption key: {from} {}", status.source);
            say!("{:<18} {:<8} {:<21} {:<21} {:>9}", "FINGERPRINT", "STATE", "CREATED", "RETIRED", "DATA KEYS");
            for kek in &status.keks {
                say!(
                    "{:<18} {:<8} {:<21} {:<21} {:>9}",
                    kek.fingerprint,
                    kek.state,
                    kek.created_at,
                    kek.retired_at.as_deref().unwrap_or("-"),
                    kek.data_keys
                );
            }
            say!("data keys (one per data subject): {}", status.data_keys);
            match status.rotation {
                Some(r) => say!(
                    "rotation in progress: {} of {} re-wrapped; run `parley keys rotate` to finish",
                    r.done,
                    r.total
                ),
                None => say!("no rotation in progress"),
            }
            store.close().await;
            Ok(())
        }
        KeysCommand::Rotate { config } => {
            let (store, source) = open(&config).await?;
            let result = keys::rotate(&store, &source, "cli", |done, total| {
                say!("re-wrapped {done} of {total} data keys");
            })
            .await;
            store.close().await;
            let rotated = result.map_err(|e| e.to_string())?;
            say!(
                "rotated: key {} replaces {} ({} data keys re-wrapped). Export a new recovery copy now:\n  parley keys export-recovery --recipient age1…",
                rotated.new,
                rotated.old,
                rotated.data_keys
            );
            Ok(())
        }
        KeysCommand::ExportRecovery { recipient, out, config } => {
            let (store, source) = open(&config).await?;
            let result = keys::export_recovery(&store, &source, &recipient, &out, "cli").await;
            store.close().await;
            let fingerprint = result.map_err(|e| e.to_string())?;
            say!("wrote {} (key {fingerprint}, encrypted to {recipient})", out.display());
            Ok(())
        }
    }
}
