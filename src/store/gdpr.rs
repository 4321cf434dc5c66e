//! What a data subject's data is, category by category, and erasing it: every row deleted and
//! the wrapped data key destroyed in one transaction, the subject's id (never personal data)
//! written to the erasure ledger, and an audit entry.

use super::keys::sealer_of;
use super::{AuditEntry, Store, StoreError};
use crate::crypto::IndexKind;
use crate::util::now;

/// One chat of a subject.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SubjectChat {
    pub conversation: String,
    pub site: String,
    pub started_at: String,
    pub status: String,
    pub messages: i64,
}

/// One offline message of a subject.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SubjectOffline {
    pub id: i64,
    pub received_at: String,
    pub status: String,
}

/// One queued or sent e-mail to a subject.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SubjectMail {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub queued_at: String,
}

/// Everything stored about one data subject, by category.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SubjectData {
    pub subject: i64,
    /// Names and e-mail addresses they gave (decrypted), for recognising them.
    pub names: Vec<String>,
    pub emails: Vec<String>,
    /// IP addresses their chats came from, as kept (truncated or full).
    pub ips: Vec<String>,
    pub conversations: Vec<SubjectChat>,
    pub offline_requests: Vec<SubjectOffline>,
    pub mails: Vec<SubjectMail>,
    /// Consents given (what, under which privacy-notice version, when; when withdrawn).
    pub consents: Vec<SubjectConsent>,
}

/// One consent of a subject.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SubjectConsent {
    pub purpose: String,
    pub notice_version: String,
    pub given_at: String,
    pub withdrawn_at: Option<String>,
}

/// Rows removed by an erasure.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Erased {
    pub conversations: u64,
    pub offline_requests: u64,
    pub mails: u64,
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

impl Store {
    /// Subjects whose blind index of `kind` matches `value`.
    pub async fn subjects_by_index(&self, kind: IndexKind, value: &str) -> Result<Vec<i64>, StoreError> {
        let keyring = self.keyring()?;
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT subject_id FROM subject_index WHERE kind = ?1 AND digest = ?2 ORDER BY subject_id",
        )
        .bind(kind.as_str())
        .bind(keyring.blind(kind, value))
        .fetch_all(self.reader())
        .await?)
    }

    /// The subject of a conversation (by its public id).
    pub async fn subject_of_conversation(&self, public_id: &str) -> Result<Option<i64>, StoreError> {
        let subject: Option<Option<i64>> =
            sqlx::query_scalar("SELECT subject_id FROM conversations WHERE public_id = ?1")
                .bind(public_id)
                .fetch_optional(self.reader())
                .await?;
        Ok(subject.flatten())
    }

    /// Everything about a subject; None when there is no such subject.
    pub async fn subject_data(&self, subject: i64) -> Result<Option<SubjectData>, StoreError> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM subjects WHERE id = ?1")
            .bind(subject)
            .fetch_optional(self.reader())
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let keyring = self.keyring()?;
        let sealer = sealer_of(self.reader(), &keyring, subject).await?;
        let mut data = SubjectData {
            subject,
            names: Vec::new(),
            emails: Vec::new(),
            ips: Vec::new(),
            conversations: Vec::new(),
            offline_requests: Vec::new(),
            mails: Vec::new(),
            consents: Vec::new(),
        };
        type Chat = (i64, String, String, String, i64, String, i64, Option<String>);
        let chats: Vec<Chat> = sqlx::query_as(
            "SELECT id, public_id, site, visitor_name, created_at, status, last_seq, visitor_ip FROM conversations
             WHERE subject_id = ?1 ORDER BY created_at, id",
        )
        .bind(subject)
        .fetch_all(self.reader())
        .await?;
        for (id, public_id, site, name, created_at, status, messages, ip) in chats {
            push_unique(&mut data.names, sealer.open("conversations", "visitor_name", &id.to_string(), &name)?);
            if let Some(ip) = sealer.open_opt("conversations", "visitor_ip", &id.to_string(), ip.as_deref())? {
                push_unique(&mut data.ips, ip);
            }
            data.conversations.push(SubjectChat {
                conversation: public_id,
                site,
                started_at: crate::util::rfc3339(created_at),
                status,
                messages,
            });
        }
        let offline: Vec<(i64, String, String, i64, String)> = sqlx::query_as(
            "SELECT id, name, email, created_at, status FROM offline_requests WHERE subject_id = ?1 ORDER BY id",
        )
        .bind(subject)
        .fetch_all(self.reader())
        .await?;
        for (id, name, email, created_at, status) in offline {
            let row = id.to_string();
            push_unique(&mut data.names, sealer.open("offline_requests", "name", &row, &name)?);
            push_unique(&mut data.emails, sealer.open("offline_requests", "email", &row, &email)?);
            data.offline_requests.push(SubjectOffline { id, received_at: crate::util::rfc3339(created_at), status });
        }
        let mails: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, kind, to_addr, status, created_at FROM mail_outbox WHERE subject_id = ?1 ORDER BY id",
        )
        .bind(subject)
        .fetch_all(self.reader())
        .await?;
        for (id, kind, to, status, created_at) in mails {
            push_unique(&mut data.emails, sealer.open("mail_outbox", "to_addr", &id.to_string(), &to)?);
            data.mails.push(SubjectMail { id, kind, status, queued_at: crate::util::rfc3339(created_at) });
        }
        data.consents = self
            .consents_of(subject)
            .await?
            .into_iter()
            .map(|c| SubjectConsent {
                purpose: c.purpose,
                notice_version: c.notice_version,
                given_at: crate::util::rfc3339(c.given_at),
                withdrawn_at: c.withdrawn_at.map(crate::util::rfc3339),
            })
            .collect();
        Ok(Some(data))
    }

    /// Erases a subject in one transaction; None when there is no such subject.
    pub async fn erase_subject(&self, subject: i64, audit: AuditEntry) -> Result<Option<Erased>, StoreError> {
        let erased = self
            .write(move |conn| {
                Box::pin(async move {
                    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM subjects WHERE id = ?1")
                        .bind(subject)
                        .fetch_optional(&mut *conn)
                        .await?;
                    if exists.is_none() {
                        return Ok(None);
                    }
                    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(subject);
                    let erased = Erased {
                        conversations: count("SELECT COUNT(*) FROM conversations WHERE subject_id = ?1")
                            .fetch_one(&mut *conn)
                            .await? as u64,
                        offline_requests: count("SELECT COUNT(*) FROM offline_requests WHERE subject_id = ?1")
                            .fetch_one(&mut *conn)
                            .await? as u64,
                        mails: count("SELECT COUNT(*) FROM mail_outbox WHERE subject_id = ?1")
                            .fetch_one(&mut *conn)
                            .await? as u64,
                    };
                    super::erasure::erase_subject_rows(conn, subject).await?;
                    sqlx::query("INSERT OR IGNORE INTO erasure_ledger (subject_id, erased_at) VALUES (?1, ?2)")
                        .bind(subject)
                        .bind(now())
                        .execute(&mut *conn)
                        .await?;
                    super::audit::append_audit(conn, audit).await?;
                    Ok(Some(erased))
                })
            })
            .await?;
        if erased.is_some() {
            self.keyring()?.forget(subject);
        }
        Ok(erased)
    }
}
