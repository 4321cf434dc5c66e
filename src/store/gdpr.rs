//! What a data subject's data is, category by category, and erasing it: every row deleted and
//! the wrapped data key destroyed in one transaction, the subject's id (never personal data)
//! written to the erasure ledger, and an audit entry.

use super::keys::sealer_of;
use super::{AuditEntry, Store, StoreError};
use crate::crypto::IndexKind;

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
    /// The subject's random public id: how the audit log and the erasure ledger name them.
    pub public_id: String,
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
    /// The person's choices: not to be tracked (withdrawal), and objection to profiling.
    pub no_tracking: bool,
    pub objects_to_profiling: bool,
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

    /// The sealer of a subject that exists (None when there is no such subject).
    pub(super) async fn existing_sealer(&self, subject: i64) -> Result<Option<super::Sealer>, StoreError> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM subjects WHERE id = ?1")
            .bind(subject)
            .fetch_optional(self.reader())
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let keyring = self.keyring()?;
        Ok(Some(sealer_of(self.reader(), &keyring, subject).await?))
    }

    /// Everything about a subject; None when there is no such subject.
    pub async fn subject_data(&self, subject: i64) -> Result<Option<SubjectData>, StoreError> {
        let Some(sealer) = self.existing_sealer(subject).await? else { return Ok(None) };
        let public_id = self.subject_public_id(subject).await?.unwrap_or_default();
        let mut data = SubjectData {
            subject,
            public_id,
            names: Vec::new(),
            emails: Vec::new(),
            ips: Vec::new(),
            conversations: Vec::new(),
            offline_requests: Vec::new(),
            mails: Vec::new(),
            consents: Vec::new(),
            no_tracking: false,
            objects_to_profiling: false,
        };
        if let Some((no_tracking, objects)) = self.subject_choices(subject).await? {
            data.no_tracking = no_tracking;
            data.objects_to_profiling = objects;
        }
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

    /// Erases a subject in one transaction: the ledger entry (public id, time, linked case,
    /// actor role), every row and the wrapped key, and `audit` with its target set to
    /// `subject <public id>`; then the WAL is checkpointed and truncated so the erased bytes
    /// leave the data directory. None when there is no such subject.
    pub async fn erase_subject(&self, subject: i64, audit: AuditEntry) -> Result<Option<Erased>, StoreError> {
        let erased = self
            .write(move |conn| {
                Box::pin(async move {
                    if !super::erasure::subject_exists(conn, subject).await? {
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
                    let public = super::erasure::record_erasure(conn, subject, &audit.actor).await?;
                    super::erasure::erase_subject_rows(conn, subject).await?;
                    let audit = audit.named(&public);
                    super::audit::append_audit(conn, audit).await?;
                    Ok(Some(erased))
                })
            })
            .await?;
        if erased.is_some() {
            self.keyring()?.forget(subject);
            self.truncate_wal().await;
        }
        Ok(erased)
    }
}

/// New values for a subject's details (rectification); None leaves a detail as it is.
#[derive(Debug, Clone, Default)]
pub struct Rectification {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A short non-reversible fingerprint of a value, for the audit log (never the value itself).
pub fn fingerprint_of(value: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(value.as_bytes()))[..12].to_owned()
}

/// A sealed field: (table, column, the UPDATE that sets it by id).
type Field = (&'static str, &'static str, &'static str);

/// Replaces one sealed field of row `id` with `new`; returns the old value (from `stored`).
async fn reseal(
    conn: &mut sqlx::SqliteConnection,
    sealer: &super::Sealer,
    (table, column, update): Field,
    id: i64,
    stored: &str,
    new: &str,
) -> Result<String, sqlx::Error> {
    let row = id.to_string();
    let old = sealer.open(table, column, &row, stored)?;
    sqlx::query(update).bind(id).bind(sealer.seal(table, column, &row, new)?).execute(&mut *conn).await?;
    Ok(old)
}

/// Is this pre-chat answer the kind of detail being changed?
fn answer_matches(value: &str, email: bool) -> bool {
    if email {
        crate::domain::Email::parse(value).is_ok()
    } else {
        let digits = value.chars().filter(char::is_ascii_digit).count();
        (7..=15).contains(&digits) && value.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
    }
}

impl Store {
    /// Changes a subject's name, e-mail address and/or phone number wherever they are stored
    /// (chats, their pre-chat answers and the visitor's own messages, offline messages) and their
    /// blind indexes, in one transaction. Returns the audit details: before → after fingerprints
    /// per detail; None when there is no such subject.
    pub async fn rectify_subject(
        &self,
        subject: i64,
        change: Rectification,
        actor: String,
    ) -> Result<Option<String>, StoreError> {
        let keyring = self.keyring()?;
        self.write(move |conn| {
            Box::pin(async move {
                let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM subjects WHERE id = ?1")
                    .bind(subject)
                    .fetch_optional(&mut *conn)
                    .await?;
                if exists.is_none() {
                    return Ok(None);
                }
                let sealer = sealer_of(&mut *conn, &keyring, subject).await?;
                let mut before: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
                let mut note = |detail: &'static str, old: &str| {
                    let list = before.entry(detail).or_default();
                    let print = fingerprint_of(old);
                    if !list.contains(&print) {
                        list.push(print);
                    }
                };
                let chats: Vec<(i64, String, Option<String>)> =
                    sqlx::query_as("SELECT id, visitor_name, answers FROM conversations WHERE subject_id = ?1")
                        .bind(subject)
                        .fetch_all(&mut *conn)
                        .await?;
                for (id, name, answers) in chats {
                    let row = id.to_string();
                    if let Some(new) = &change.name {
                        let field = (
                            "conversations",
                            "visitor_name",
                            "UPDATE conversations SET visitor_name = ?2 WHERE id = ?1",
                        );
                        note("name", &reseal(conn, &sealer, field, id, &name, new).await?);
                        let seqs: Vec<i64> = sqlx::query_scalar(
                            "SELECT seq FROM messages WHERE conversation_id = ?1 AND author = 'visitor'",
                        )
                        .bind(id)
                        .fetch_all(&mut *conn)
                        .await?;
                        for seq in seqs {
                            sqlx::query("UPDATE messages SET author_name = ?3 WHERE conversation_id = ?1 AND seq = ?2")
                                .bind(id)
                                .bind(seq)
                                .bind(sealer.seal("messages", "author_name", &format!("{id}:{seq}"), new)?)
                                .execute(&mut *conn)
                                .await?;
                        }
                    }
                    let Some(answers) = sealer.open_opt("conversations", "answers", &row, answers.as_deref())? else {
                        continue;
                    };
                    let mut list: Vec<serde_json::Value> = serde_json::from_str(&answers).unwrap_or_default();
                    let mut changed = false;
                    for answer in &mut list {
                        let Some(value) = answer.get("value").and_then(|v| v.as_str()).map(str::to_owned) else {
                            continue;
                        };
                        for (detail, new, email) in [("email", &change.email, true), ("phone", &change.phone, false)] {
                            if let Some(new) = new
                                && answer_matches(&value, email)
                            {
                                note(detail, &value);
                                answer["value"] = serde_json::Value::String(new.clone());
                                changed = true;
                            }
                        }
                    }
                    if changed {
                        sqlx::query("UPDATE conversations SET answers = ?2 WHERE id = ?1")
                            .bind(id)
                            .bind(sealer.seal(
                                "conversations",
                                "answers",
                                &row,
                                &serde_json::Value::Array(list).to_string(),
                            )?)
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                let offline: Vec<(i64, String, String)> =
                    sqlx::query_as("SELECT id, name, email FROM offline_requests WHERE subject_id = ?1")
                        .bind(subject)
                        .fetch_all(&mut *conn)
                        .await?;
                for (id, name, email) in offline {
                    if let Some(new) = &change.name {
                        let field = ("offline_requests", "name", "UPDATE offline_requests SET name = ?2 WHERE id = ?1");
                        note("name", &reseal(conn, &sealer, field, id, &name, new).await?);
                    }
                    if let Some(new) = &change.email {
                        let field =
                            ("offline_requests", "email", "UPDATE offline_requests SET email = ?2 WHERE id = ?1");
                        note("email", &reseal(conn, &sealer, field, id, &email, new).await?);
                    }
                }
                // The blind indexes follow the new values.
                let mut details = Vec::new();
                for (detail, kind, new) in [
                    ("name", IndexKind::Name, &change.name),
                    ("email", IndexKind::Email, &change.email),
                    ("phone", IndexKind::Phone, &change.phone),
                ] {
                    let Some(new) = new else { continue };
                    sqlx::query("DELETE FROM subject_index WHERE subject_id = ?1 AND kind = ?2")
                        .bind(subject)
                        .bind(kind.as_str())
                        .execute(&mut *conn)
                        .await?;
                    super::keys::index_subject(conn, &keyring, subject, &[(kind, new.clone())]).await?;
                    let old = before.get(detail).map(|l| l.join("+")).unwrap_or_else(|| "none".into());
                    details.push(format!("{detail} {old} -> {}", fingerprint_of(new)));
                }
                let details = details.join("; ");
                let entry = AuditEntry::new(actor, "gdpr.rectify").subject(subject).details(details.clone());
                super::audit::append_audit(conn, entry).await?;
                Ok(Some(details))
            })
        })
        .await
    }
}
