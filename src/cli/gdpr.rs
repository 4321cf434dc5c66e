//! `parley gdpr search | erase | purge | export` — the same service code as the Data
//! requests page. Searches and erasures are audited with the actor `cli`.

use clap::Subcommand;

use super::ConfigArgs;
use super::actor::console_actor;
use crate::config::Config;
use crate::crypto::KekFile;
use crate::service::gdpr::{self, By};
use crate::store::Store;
use crate::telemetry::Metrics;

#[derive(Subcommand, Debug)]
pub enum GdprCommand {
    /// Find a person's data in every category, by one identifying value.
    #[command(
        after_help = "Examples:\n  parley gdpr search --email nia@example.org\n  parley gdpr search --conversation 6b0e0c8e-…"
    )]
    Search {
        #[arg(long, group = "by")]
        email: Option<String>,
        #[arg(long, group = "by")]
        phone: Option<String>,
        /// The name exactly as given (case and spacing do not matter).
        #[arg(long, group = "by")]
        name: Option<String>,
        /// The widget's visitor id.
        #[arg(long, group = "by")]
        visitor: Option<String>,
        #[arg(long, group = "by")]
        conversation: Option<String>,
        /// An IP address (found in the form `privacy.visitor_ip` keeps it).
        #[arg(long, group = "by")]
        ip: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Erase a data subject (as found by `search`): every row, their key; kept in the erasure ledger.
    #[command(after_help = "Example:\n  parley gdpr erase --subject 12 --reason \"Erasure request DR-2026-041\"")]
    Erase {
        #[arg(long)]
        subject: i64,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Export all of a data subject's data (as found by `search`) to a new file, readable only by you.
    #[command(after_help = "Example:\n  parley gdpr export --subject 12 --format pdf --out subject-12.pdf")]
    Export {
        #[arg(long)]
        subject: i64,
        /// json (machine-readable), csv, xlsx or pdf.
        #[arg(long)]
        format: String,
        /// The file to write; it must not exist yet.
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Delete what is past its retention period (`[retention]`); the daily job does the same.
    #[command(after_help = "Examples:\n  parley gdpr purge --dry-run\n  parley gdpr purge")]
    Purge {
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub(super) async fn open(args: &ConfigArgs) -> Result<Store, String> {
    open_with(&args.load(None, None).map_err(|e| e.to_string())?).await
}

/// Opens the store of `config` with its keys.
pub(super) async fn open_with(config: &Config) -> Result<Store, String> {
    crate::store::prepare_data_dir(&config.server.data_dir).map_err(|e| e.to_string())?;
    let source = KekFile::from_config(config);
    let (store, _) = Store::open_with_keys(&config.server.data_dir, &config.database, Metrics::default(), &source)
        .await
        .map_err(|e| e.to_string())?;
    Ok(store)
}

pub async fn run(command: GdprCommand) -> Result<(), String> {
    match command {
        GdprCommand::Search { email, phone, name, visitor, conversation, ip, config } => {
            let (by, value) = match (email, phone, name, visitor, conversation, ip) {
                (Some(v), ..) => (By::Email, v),
                (_, Some(v), ..) => (By::Phone, v),
                (_, _, Some(v), ..) => (By::Name, v),
                (_, _, _, Some(v), ..) => (By::Visitor, v),
                (_, _, _, _, Some(v), _) => (By::Conversation, v),
                (.., Some(v)) => (By::Ip, v),
                _ => return Err("search by one of --email, --phone, --name, --visitor, --conversation or --ip".into()),
            };
            let ip_kept = config.load(None, None).map_err(|e| e.to_string())?.privacy.visitor_ip;
            let store = open(&config).await?;
            let result = gdpr::search(&store, by, &value, "cli", ip_kept).await;
            store.close().await;
            let found = result.map_err(|e| e.to_string())?;
            if found.is_empty() {
                println!("no data found");
            }
            for s in found {
                println!("data subject {}: names {:?}, e-mail addresses {:?}", s.subject, s.names, s.emails);
                println!("  chats: {}", s.conversations.len());
                for c in &s.conversations {
                    println!(
                        "    {} {} {} ({} messages, site {})",
                        c.conversation, c.started_at, c.status, c.messages, c.site
                    );
                }
                println!("  offline messages: {}", s.offline_requests.len());
                println!("  e-mails: {}", s.mails.len());
            }
            Ok(())
        }
        GdprCommand::Erase { subject, reason, config } => {
            let config = config.load(None, None).map_err(|e| e.to_string())?;
            let second_approver = config.privacy.erasure_second_approver;
            let store = open_with(&config).await?;
            let actor = console_actor();
            let result = gdpr::erase_with_approval(&store, subject, &reason, &actor, second_approver).await;
            store.close().await;
            let erased = match result.map_err(|e| match e {
                gdpr::GdprError::SecondApproverNeeded => format!(
                    "the erasure of data subject {subject} was requested by {actor}, the operating-system user \
                     running this command, so it cannot also approve it. A second approval must come from a \
                     different authenticated person: a DPO signed in under Administration → Data requests, or a \
                     different operating-system user running `parley gdpr erase --subject {subject}`"
                ),
                other => other.to_string(),
            })? {
                gdpr::Approval::Erased(erased) => erased,
                gdpr::Approval::Requested => {
                    println!(
                        "erasure of data subject {subject} requested as {actor}; privacy.erasure_second_approver is on, so \
                         nothing is erased until a different person approves it: a DPO under Administration → Data \
                         requests, or another console user with `parley gdpr erase --subject {subject}`"
                    );
                    return Ok(());
                }
            };
            println!(
                "erased data subject {subject}: {} chats, {} offline messages, {} e-mails; their key is destroyed and the erasure is in the ledger",
                erased.conversations, erased.offline_requests, erased.mails
            );
            Ok(())
        }
        GdprCommand::Purge { dry_run, config } => purge(&config, dry_run).await,
        GdprCommand::Export { subject, format, out, config } => export(&config, subject, &format, &out).await,
    }
}

/// `parley gdpr purge [--dry-run]`, audited with the actor `cli` (metrics are the server's own).
async fn purge(args: &ConfigArgs, dry_run: bool) -> Result<(), String> {
    let settings = args.load(None, None).map_err(|e| e.to_string())?.retention;
    let store = open(args).await?;
    let result = match dry_run {
        true => crate::service::retention::preview(&store, &settings).await.map(|p| p.would_delete),
        false => crate::service::retention::purge(&store, &Metrics::default(), &settings, "cli").await,
    };
    store.close().await;
    let counts = result.map_err(|e| e.to_string())?;
    let keep = |days: u32| if days == 0 { "kept forever".to_owned() } else { format!("older than {days} days") };
    let verb = if dry_run { "would be deleted" } else { "deleted" };
    println!("{} chats {} {verb}", counts.chats, keep(settings.chats_days));
    println!("{} offline messages {} {verb}", counts.offline_requests, keep(settings.offline_days));
    println!("{} e-mails {} {verb}", counts.mails, keep(settings.mail_days));
    if dry_run {
        println!("{} data subjects would have nothing left; their keys would be destroyed", counts.subjects);
    } else {
        println!("{} data subjects had nothing left; their keys are destroyed", counts.subjects);
    }
    Ok(())
}

/// `parley gdpr export`: the file is created new with mode 0600 (it holds personal data) before
/// anything is read, and the export is audited (actor `cli`) only once the file is written; a
/// failed write is audited as `gdpr.export_failed` and the partial file removed.
async fn export(args: &ConfigArgs, subject: i64, format: &str, out: &std::path::Path) -> Result<(), String> {
    use crate::service::export as exports;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let format = exports::Format::parse(format).map_err(|e| e.to_string())?;
    let mut handle = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| format!("cannot create {}: {e} (it must not exist yet)", out.display()))?;
    let store = open(args).await?;
    let file = match exports::build(&store, subject, format).await {
        Ok(file) => file,
        Err(err) => {
            store.close().await;
            let _ = std::fs::remove_file(out);
            return Err(err.to_string());
        }
    };
    let written = handle.write_all(&file.bytes).and_then(|()| handle.sync_all());
    let audited = match &written {
        Ok(()) => exports::record(&store, &console_actor(), subject, format, "file").await,
        Err(_) => exports::record_failure(&store, &console_actor(), subject, format).await,
    };
    store.close().await;
    if let Err(e) = written {
        let _ = std::fs::remove_file(out);
        return Err(format!("cannot write {}: {e}", out.display()));
    }
    audited.map_err(|e| e.to_string())?;
    println!(
        "wrote the data of data subject {subject} to {} ({} bytes, {})",
        out.display(),
        file.bytes.len(),
        format.as_str()
    );
    Ok(())
}
