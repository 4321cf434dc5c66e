//! Everything stored about one data subject, decrypted, for a subject access export: every chat
//! with its messages, pre-chat answers, page, IP address, rating and internal notes; consents;
//! offline messages; and e-mails queued to them. Only rows of that subject are read.

use serde::Serialize;

use super::{Store, StoreError};
use crate::util::rfc3339;

/// One message of a chat.
#[derive(Debug, Clone, Serialize)]
pub struct ExportMessage {
    pub seq: i64,
    /// `visitor`, `operator` or `system`.
    pub author: String,
    pub author_name: String,
    pub text: String,
    pub at: String,
}

/// One internal note staff wrote about a chat.
#[derive(Debug, Clone, Serialize)]
pub struct ExportNote {
    pub author_name: String,
    pub text: String,
    pub at: String,
}

/// One chat of the subject.
#[derive(Debug, Clone, Serialize)]
pub struct ExportChat {
    pub conversation: String,
    pub site: String,
    pub visitor_name: String,
    pub status: String,
    pub started_at: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub operator: Option<String>,
    pub department: Option<String>,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    /// As kept (`privacy.visitor_ip`: truncated, in full or not at all).
    pub ip_address: Option<String>,
    /// Pre-chat answers as given ({key, label, value}).
    pub answers: Vec<serde_json::Value>,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub consent_withdrawn_at: Option<String>,
    pub messages: Vec<ExportMessage>,
    pub notes: Vec<ExportNote>,
}

/// One consent the subject gave (and perhaps withdrew).
#[derive(Debug, Clone, Serialize)]
pub struct ExportConsent {
    pub purpose: String,
    /// The privacy-notice version consented to.
    pub notice_version: String,
    pub conversation: Option<String>,
    pub given_at: String,
    pub withdrawn_at: Option<String>,
}

/// One offline message the subject left.
#[derive(Debug, Clone, Serialize)]
pub struct ExportOffline {
    pub id: i64,
    pub site: String,
    pub name: String,
    pub email: String,
    pub text: String,
    pub status: String,
    pub received_at: String,
    pub done_at: Option<String>,
    pub replied_at: Option<String>,
}

/// One e-mail queued to the subject.
#[derive(Debug, Clone, Serialize)]
pub struct ExportMail {
    pub id: i64,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub status: String,
    pub body: String,
    pub queued_at: String,
    pub sent_at: Option<String>,
}

/// All of one subject's data.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectExport {
    pub subject: i64,
    pub exported_at: String,
    pub conversations: Vec<ExportChat>,
    pub consents: Vec<ExportConsent>,
    pub offline_requests: Vec<ExportOffline>,
    pub mails: Vec<ExportMail>,
}

#[derive(sqlx::FromRow)]
struct ChatRecord {
    id: i64,
    public_id: String,
    site: String,
    visitor_name: String,
    status: String,
    created_at: i64,
    closed_at: Option<i64>,
    closed_by: Option<String>,
    operator: Option<String>,
    department: Option<String>,
    page_url: Option<String>,
    referrer: Option<String>,
    answers: Option<String>,
    rating: Option<i64>,
    rating_comment: Option<String>,
    consent_withdrawn_at: Option<i64>,
    visitor_ip: Option<String>,
}

type OfflineRow = (i64, String, String, String, String, String, i64, Option<i64>, Option<i64>);
type MailRow = (i64, String, String, String, String, String, i64, Option<i64>);

impl Store {
    /// Everything of `subject`, decrypted; None when there is no such subject.
    pub async fn subject_export(&self, subject: i64) -> Result<Option<SubjectExport>, StoreError> {
        let Some(sealer) = self.existing_sealer(subject).await? else { return Ok(None) };
        let opt = |t: Option<i64>| t.map(rfc3339);
        let chats: Vec<ChatRecord> = sqlx::query_as(
            "SELECT c.id, c.public_id, c.site, c.visitor_name, c.status, c.created_at, c.closed_at, c.closed_by,
                    u.display_name AS operator, d.name AS department, c.page_url, c.referrer, c.answers, c.rating,
                    c.rating_comment, c.consent_withdrawn_at, c.visitor_ip
             FROM conversations c LEFT JOIN staff_users u ON u.id = c.operator_id
                  LEFT JOIN departments d ON d.id = c.department_id
             WHERE c.subject_id = ?1 ORDER BY c.created_at, c.id",
        )
        .bind(subject)
        .fetch_all(self.reader())
        .await?;
        let mut conversations = Vec::with_capacity(chats.len());
        let mut public_ids = std::collections::HashMap::new();
        for row in chats {
            let id = row.id;
            public_ids.insert(id, row.public_id.clone());
            let r = id.to_string();
            let open = |column: &str, value: Option<&str>| sealer.open_opt("conversations", column, &r, value);
            let answers = open("answers", row.answers.as_deref())?
                .and_then(|text| serde_json::from_str::<Vec<serde_json::Value>>(&text).ok())
                .unwrap_or_default();
            let messages: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
                "SELECT seq, author, author_name, body, created_at FROM messages WHERE conversation_id = ?1 ORDER BY seq",
            )
            .bind(id)
            .fetch_all(self.reader())
            .await?;
            let mut chat_messages = Vec::with_capacity(messages.len());
            for (seq, author, author_name, body, at) in messages {
                let m = format!("{id}:{seq}");
                chat_messages.push(ExportMessage {
                    seq,
                    author,
                    author_name: sealer.open("messages", "author_name", &m, &author_name)?,
                    text: sealer.open("messages", "body", &m, &body)?,
                    at: rfc3339(at),
                });
            }
            let notes: Vec<(i64, String, String, i64)> = sqlx::query_as(
                "SELECT id, author_name, body, created_at FROM notes WHERE conversation_id = ?1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(self.reader())
            .await?;
            let mut chat_notes = Vec::with_capacity(notes.len());
            for (note, author_name, body, at) in notes {
                let text = sealer.open("notes", "body", &note.to_string(), &body)?;
                chat_notes.push(ExportNote { author_name, text, at: rfc3339(at) });
            }
            conversations.push(ExportChat {
                conversation: row.public_id,
                site: row.site,
                visitor_name: sealer.open("conversations", "visitor_name", &r, &row.visitor_name)?,
                status: row.status,
                started_at: rfc3339(row.created_at),
                closed_at: opt(row.closed_at),
                closed_by: row.closed_by,
                operator: row.operator,
                department: row.department,
                page_url: open("page_url", row.page_url.as_deref())?,
                referrer: open("referrer", row.referrer.as_deref())?,
                ip_address: open("visitor_ip", row.visitor_ip.as_deref())?,
                answers,
                rating: row.rating,
                rating_comment: open("rating_comment", row.rating_comment.as_deref())?,
                consent_withdrawn_at: opt(row.consent_withdrawn_at),
                messages: chat_messages,
                notes: chat_notes,
            });
        }
        let consents = self
            .consents_of(subject)
            .await?
            .into_iter()
            .map(|c| ExportConsent {
                purpose: c.purpose,
                notice_version: c.notice_version,
                conversation: c.conversation_id.and_then(|id| public_ids.get(&id).cloned()),
                given_at: rfc3339(c.given_at),
                withdrawn_at: opt(c.withdrawn_at),
            })
            .collect();
        let offline: Vec<OfflineRow> = sqlx::query_as(
            "SELECT id, site, name, email, body, status, created_at, done_at, replied_at FROM offline_requests
             WHERE subject_id = ?1 ORDER BY id",
        )
        .bind(subject)
        .fetch_all(self.reader())
        .await?;
        let mut offline_requests = Vec::with_capacity(offline.len());
        for (id, site, name, email, body, status, created, done, replied) in offline {
            let r = id.to_string();
            offline_requests.push(ExportOffline {
                id,
                site,
                name: sealer.open("offline_requests", "name", &r, &name)?,
                email: sealer.open("offline_requests", "email", &r, &email)?,
                text: sealer.open("offline_requests", "body", &r, &body)?,
                status,
                received_at: rfc3339(created),
                done_at: opt(done),
                replied_at: opt(replied),
            });
        }
        let mail: Vec<MailRow> = sqlx::query_as(
            "SELECT id, kind, to_addr, subject, body, status, created_at, sent_at FROM mail_outbox
             WHERE subject_id = ?1 ORDER BY id",
        )
        .bind(subject)
        .fetch_all(self.reader())
        .await?;
        let mut mails = Vec::with_capacity(mail.len());
        for (id, kind, to, subject_line, body, status, created, sent) in mail {
            let r = id.to_string();
            mails.push(ExportMail {
                id,
                kind,
                to: sealer.open("mail_outbox", "to_addr", &r, &to)?,
                subject: sealer.open("mail_outbox", "subject", &r, &subject_line)?,
                status,
                body: sealer.open("mail_outbox", "body", &r, &body)?,
                queued_at: rfc3339(created),
                sent_at: opt(sent),
            });
        }
        Ok(Some(SubjectExport {
            subject,
            exported_at: rfc3339(crate::util::now()),
            conversations,
            consents,
            offline_requests,
            mails,
        }))
    }
}
