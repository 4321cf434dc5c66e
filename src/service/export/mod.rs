//! Subject access export: everything stored about one data subject (and nothing about anyone
//! else) as JSON for portability, CSV, XLSX or a readable PDF — built in memory, never written to
//! disk — for download or queued to the person's own address through the mail outbox. Every
//! export is audited with the subject and the format, never a personal value.

mod csv;
mod pdf;
mod tables;
mod xlsx;

use crate::domain::Email;
use crate::service::mail::{MailError, Mailer};
use crate::store::export::SubjectExport;
use crate::store::{AuditEntry, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("unknown export format `{0}`; choose json, csv, xlsx or pdf")]
    Format(String),
    #[error("no data subject {0}")]
    Unknown(i64),
    #[error("no e-mail address is known for data subject {0}; download the export and send it another way")]
    NoAddress(i64),
    #[error("that address is not one this person gave; send the export to one of their known addresses")]
    NotTheirs,
    #[error("could not build the {0} file: {1}")]
    Render(&'static str, String),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A file format of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
    Pdf,
}

impl Format {
    pub fn parse(raw: &str) -> Result<Format, ExportError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            "pdf" => Ok(Format::Pdf),
            _ => Err(ExportError::Format(raw.chars().take(20).collect())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Pdf => "application/pdf",
        }
    }
}

/// A built export file.
#[derive(Debug, Clone)]
pub struct ExportFile {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// What an e-mailed export became.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Queued {
    pub mail_id: i64,
    /// How the data is in the mail: `json`, `csv` or `text` (inline; the outbox has no
    /// attachments).
    pub inline: &'static str,
}

async fn load(store: &Store, subject: i64) -> Result<SubjectExport, ExportError> {
    store.subject_export(subject).await?.ok_or(ExportError::Unknown(subject))
}

fn render(data: &SubjectExport, format: Format) -> Result<Vec<u8>, ExportError> {
    Ok(match format {
        Format::Json => serde_json::to_vec_pretty(data).map_err(|e| ExportError::Render("JSON", e.to_string()))?,
        Format::Csv => csv::render(&tables::tables(data)).into_bytes(),
        Format::Xlsx => xlsx::render(&tables::tables(data)).map_err(|e| ExportError::Render("XLSX", e.to_string()))?,
        Format::Pdf => pdf::render(&tables::readable_lines(data)),
    })
}

async fn audit(
    store: &Store,
    action: &'static str,
    actor: &str,
    subject: i64,
    details: String,
) -> Result<(), ExportError> {
    Ok(store.audit(AuditEntry::new(actor, action).subject(subject).details(details)).await?)
}

/// The subject's data as a file in `format`, not yet audited: the caller records the export
/// with `record` once the file reached its recipient (or `record_failure`).
pub async fn build(store: &Store, subject: i64, format: Format) -> Result<ExportFile, ExportError> {
    let data = load(store, subject).await?;
    // Compressing a large workbook takes a while: off the async workers.
    let bytes = tokio::task::spawn_blocking(move || render(&data, format))
        .await
        .map_err(|e| ExportError::Render("export", e.to_string()))??;
    Ok(ExportFile {
        file_name: format!("parley-subject-{subject}.{}", format.as_str()),
        content_type: format.content_type(),
        bytes,
    })
}

/// Audits a finished export (`gdpr.export`, with `how` it left: `download`, `file`).
pub async fn record(store: &Store, actor: &str, subject: i64, format: Format, how: &str) -> Result<(), ExportError> {
    audit(store, "gdpr.export", actor, subject, format!("format {}, {how}", format.as_str())).await?;
    tracing::info!(subject, actor, format = format.as_str(), how, "data subject export");
    Ok(())
}

/// Audits an export that did not reach its recipient (`gdpr.export_failed`): not an export.
pub async fn record_failure(store: &Store, actor: &str, subject: i64, format: Format) -> Result<(), ExportError> {
    audit(store, "gdpr.export_failed", actor, subject, format!("format {}", format.as_str())).await
}

/// The subject's data as a file in `format`, audited as a download.
pub async fn export(store: &Store, subject: i64, format: Format, actor: &str) -> Result<ExportFile, ExportError> {
    let file = match build(store, subject, format).await {
        Ok(file) => file,
        Err(err @ ExportError::Render(..)) => {
            record_failure(store, actor, subject, format).await?;
            return Err(err);
        }
        Err(err) => return Err(err),
    };
    record(store, actor, subject, format, "download").await?;
    Ok(file)
}

/// Addresses the subject gave: in offline messages, for mails, and in pre-chat answers.
fn known_addresses(data: &SubjectExport) -> Vec<Email> {
    let given = data.offline_requests.iter().map(|o| o.email.clone()).chain(data.mails.iter().map(|m| m.to.clone()));
    let answered = data
        .conversations
        .iter()
        .flat_map(|c| c.answers.iter())
        .filter_map(|a| a.get("value").and_then(|v| v.as_str()).filter(|v| v.contains('@')).map(str::to_owned));
    let mut known: Vec<Email> = Vec::new();
    for raw in given.chain(answered) {
        if let Ok(email) = Email::parse(&raw)
            && !known.iter().any(|k| k.as_str().eq_ignore_ascii_case(email.as_str()))
        {
            known.push(email);
        }
    }
    known
}

/// Queues the export to one of the subject's own addresses (`email`, or the first known).
pub async fn email(
    store: &Store,
    mailer: &Mailer,
    subject: i64,
    format: Format,
    email: Option<&str>,
    actor: &str,
) -> Result<Queued, ExportError> {
    if !mailer.enabled() {
        return Err(MailError::Disabled.into());
    }
    let data = load(store, subject).await?;
    let known = known_addresses(&data);
    let to = match email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(wanted) => {
            known.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(wanted)).ok_or(ExportError::NotTheirs)?
        }
        None => known.into_iter().next().ok_or(ExportError::NoAddress(subject))?,
    };
    let (inline, content) = match format {
        Format::Json => ("json", String::from_utf8_lossy(&render(&data, Format::Json)?).into_owned()),
        Format::Csv => ("csv", csv::render(&tables::tables(&data))),
        Format::Xlsx | Format::Pdf => ("text", tables::readable(&data).join("\n")),
    };
    let body = format!(
        "You asked us for a copy of the personal data we hold about you. It is below, as {what}.\n\
         If you would rather have it as a file, reply to this e-mail.\n\n{content}\n",
        what = match inline {
            "json" => "JSON (machine-readable)",
            "csv" => "CSV (comma-separated values)",
            _ => "text",
        },
    );
    let mail_id = mailer.queue_to_subject("export", subject, &to, "A copy of your personal data", body).await?;
    audit(store, "gdpr.export", actor, subject, format!("format {}, e-mail {mail_id}", format.as_str())).await?;
    tracing::info!(subject, actor, mail_id, format = format.as_str(), "data subject export queued by e-mail");
    Ok(Queued { mail_id, inline })
}
