//! `parley audit verify`: walks the audit log's chain (legacy SHA-256 prefix, then HMAC-SHA256
//! under the audit key) and compares it with every anchor it can see — the anchor file, and
//! backup manifests given with `--manifest` or found in `--backup-dir` — so an edited,
//! recomputed or truncated log is reported; exit status 1 then.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::ConfigArgs;
use crate::service::audit::{self, Fit, Verification};
use crate::store::AuditHead;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the audit log: its keyed chain, and its head against the anchor file and backup
    /// manifests. Exit 1 naming what was altered or deleted.
    #[command(
        after_help = "Examples:\n  parley audit verify\n  parley audit verify --backup-dir /var/backups/parley\n  parley audit verify --manifest /mnt/offsite/parley-20260301-023000.manifest.json"
    )]
    Verify {
        /// The anchor file (default: <data_dir>/audit.anchor).
        #[arg(long, value_name = "FILE")]
        anchor: Option<PathBuf>,
        /// A backup manifest (`*.manifest.json`) whose recorded audit head to check against; repeatable.
        #[arg(long, value_name = "FILE")]
        manifest: Vec<PathBuf>,
        /// Check against every backup manifest in this directory.
        #[arg(long, value_name = "DIR")]
        backup_dir: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub async fn run(command: AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::Verify { anchor, manifest, backup_dir, config } => {
            let config = config.load(None, None).map_err(|e| e.to_string())?;
            let anchor = anchor.unwrap_or_else(|| audit::anchor_path(&config.server.data_dir));
            let (anchors, notes) = gather(&anchor, manifest, backup_dir.as_deref())?;
            let store = super::gdpr::open_with(&config).await?;
            let result = audit::verify(&store, anchors).await;
            store.close().await;
            let verification = result.map_err(|e| e.to_string())?;
            for note in notes {
                say!("note: {note}");
            }
            report(&verification)
        }
    }
}

fn name(path: &Path) -> String {
    path.display().to_string()
}

/// Every anchor visible: the anchor file, the given manifests, the manifests in the directory.
type Gathered = (Vec<(String, AuditHead)>, Vec<String>);

fn gather(anchor: &Path, mut manifests: Vec<PathBuf>, dir: Option<&Path>) -> Result<Gathered, String> {
    let mut anchors = Vec::new();
    let mut notes = Vec::new();
    match audit::read_anchor(anchor).map_err(|e| e.to_string())? {
        Some(a) => {
            anchors.push((format!("the anchor file {}", name(anchor)), AuditHead { entries: a.entries, mac: a.mac }))
        }
        None => notes.push(format!(
            "no anchor file at {}: truncation is checked only against backup manifests (--manifest, --backup-dir). \
             The server writes it at start, hourly and on shutdown.",
            name(anchor)
        )),
    }
    if let Some(dir) = dir {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read the backup directory {}: {e}", name(dir)))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
            .collect();
        found.sort();
        manifests.extend(found);
    }
    for path in manifests {
        match audit::read_manifest_head(&path).map_err(|e| e.to_string())? {
            Some(head) => anchors.push((format!("the backup manifest {}", name(&path)), head)),
            None => notes.push(format!("{} records no audit head (made by an older version)", name(&path))),
        }
    }
    Ok((anchors, notes))
}

fn report(v: &Verification) -> Result<(), String> {
    let chain = &v.chain;
    let mut problems = Vec::new();
    if let Some(id) = chain.first_bad {
        problems.push(format!(
            "the audit log has been altered: entry {id} does not fit the chain (edited, removed, inserted, or the \
             chain recomputed without the audit key)"
        ));
    }
    if let Some(problem) = &chain.boundary_problem {
        problems.push(format!("the audit log has been altered: {problem}"));
    }
    for a in &v.anchors {
        match a.fit {
            Fit::Matches => say!("{}: {} entries, matches", a.source, a.entries),
            Fit::Truncated => problems.push(format!(
                "the audit log has been truncated: {} records {} entries, the database has {} — the newest entries \
                 were deleted",
                a.source,
                a.entries,
                chain.head.as_ref().map(|h| h.entries).unwrap_or(0).max(chain.entries)
            )),
            Fit::Rewritten => problems
                .push(format!("the audit log has been rewritten: entry {} differs from {}", a.entries, a.source)),
        }
    }
    if chain.pending > 0 {
        say!(
            "{} entries written without the audit key wait to be chained (the server chains them on its next write)",
            chain.pending
        );
    }
    if problems.is_empty() {
        say!(
            "audit log intact: {} entries, chain unbroken ({} legacy SHA-256 entries, {} keyed with HMAC-SHA256)",
            chain.entries,
            chain.legacy,
            chain.entries - chain.legacy
        );
        return Ok(());
    }
    Err(format!(
        "{}\nKeep this database, its anchor file and backups as evidence; see docs/security.md, \"Audit log\".",
        problems.join("\nerror: ")
    ))
}
