//! Conversations and messages. Sequence numbers are assigned here, inside the single writer, so
//! they are gap-free per conversation; a resent client id returns the stored message's seq.

use sqlx::FromRow;
use sqlx::sqlite::SqliteConnection;

use super::keys::{sealer_of, subject_for};
use super::{Store, StoreError};
use crate::crypto::{IndexKind, Keyring};
use crate::util::now;

#[derive(Debug, Clone, FromRow)]
pub struct ConversationRow {
    pub id: i64,
    pub public_id: String,
    pub visitor_token_hash: Vec<u8>,
    pub site: String,
    pub visitor_name: String,
    pub status: String,
    pub operator_id: Option<i64>,
    pub operator_name: Option<String>,
    pub last_seq: i64,
    pub created_at: i64,
    pub department_id: Option<i64>,
    /// The visitor as a data subject (owner of the key their fields are encrypted with).
    pub subject_id: Option<i64>,
}

#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    pub seq: i64,
    pub client_id: String,
    pub author: String,
    pub author_name: String,
    pub body: String,
    pub created_at: i64,
}

/// A new conversation with the visitor's first message.
#[derive(Debug, Clone)]
pub struct NewConversation {
    pub public_id: String,
    pub start_client_id: String,
    pub visitor_token_hash: Vec<u8>,
    pub site: String,
    pub visitor_name: String,
    pub question: String,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub visitor_key: Option<String>,
    /// JSON array of the visitor's pre-chat answers.
    pub answers: Option<String>,
    pub department_id: Option<i64>,
    /// E-mail addresses and phone numbers among the answers, for the blind indexes.
    pub contacts: Vec<(IndexKind, String)>,
    /// The privacy-notice version the visitor consented under, when they agreed to any purpose.
    pub consent_notice: Option<String>,
    /// The purposes agreed to (`chat`, `marketing`, `transcript`), each recorded on its own.
    pub consent_purposes: Vec<&'static str>,
    /// The visitor's IP address as kept (truncated or full), if kept.
    pub ip: Option<String>,
}

/// What operators see about the visitor of one conversation.
#[derive(Debug, Clone)]
pub struct VisitorContext {
    /// JSON array of pre-chat answers ({key, label, value}).
    pub answers: Option<String>,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    /// Earlier conversations of the same visitor: (public id, started, status).
    pub previous: Vec<(String, i64, String)>,
}

/// A message to append.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub conversation_id: i64,
    pub client_id: String,
    pub author: &'static str,
    pub author_user_id: Option<i64>,
    pub author_name: String,
    pub body: String,
}

/// Where an appended message landed; `duplicate` when the client id was already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub seq: i64,
    pub created_at: i64,
    pub duplicate: bool,
}

macro_rules! select_conversations {
    ($tail:literal) => {
        concat!(
            "SELECT c.id, c.public_id, c.visitor_token_hash, c.site, c.visitor_name, c.status, c.operator_id,
                    u.display_name AS operator_name, c.last_seq, c.created_at, c.department_id, c.subject_id
             FROM conversations c LEFT JOIN staff_users u ON u.id = c.operator_id ",
            $tail
        )
    };
}

/// Appends inside an open writer transaction (also used by `start`). `None` when the
/// conversation is closed (checked in the same transaction, so a close cannot slip in between).
/// The author's name and the text are sealed with the conversation's subject key.
async fn append(
    conn: &mut SqliteConnection,
    keyring: &Keyring,
    message: NewMessage,
) -> Result<Option<Appended>, sqlx::Error> {
    let existing: Option<(i64, i64)> =
        sqlx::query_as("SELECT seq, created_at FROM messages WHERE conversation_id = ?1 AND client_id = ?2")
            .bind(message.conversation_id)
            .bind(&message.client_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((seq, created_at)) = existing {
        return Ok(Some(Appended { seq, created_at, duplicate: true }));
    }
    let next: Option<(i64, Option<i64>)> = sqlx::query_as(
        "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ?1 AND status != 'closed' RETURNING last_seq, subject_id",
    )
    .bind(message.conversation_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((seq, subject)) = next else { return Ok(None) };
    let subject = subject.ok_or_else(|| sqlx::Error::Protocol("conversation without a data subject".into()))?;
    let sealer = sealer_of(&mut *conn, keyring, subject).await?;
    let row = format!("{}:{seq}", message.conversation_id);
    let created_at = now();
    sqlx::query(
        "INSERT INTO messages (conversation_id, seq, client_id, author, author_user_id, author_name, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .bind(message.conversation_id)
    .bind(seq)
    .bind(message.client_id)
    .bind(message.author)
    .bind(message.author_user_id)
    .bind(sealer.seal("messages", "author_name", &row, &message.author_name)?)
    .bind(sealer.seal("messages", "body", &row, &message.body)?)
    .bind(created_at)
    .execute(&mut *conn)
    .await?;
    Ok(Some(Appended { seq, created_at, duplicate: false }))
}

impl Store {
    /// Creates the conversation and its first message in one transaction. A resent `start`
    /// (same client id) returns the existing conversation's id and `false`. The visitor becomes
    /// (or is found again as, by visitor key or e-mail) a data subject; personal fields are
    /// sealed with the subject's key, the visitor key is kept only as a blind index.
    pub async fn start_conversation(&self, new: NewConversation) -> Result<(i64, bool), StoreError> {
        let keyring = self.keyring()?;
        self.write(move |conn| {
            Box::pin(async move {
                let existing: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM conversations WHERE start_client_id = ?1")
                        .bind(&new.start_client_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                if let Some(id) = existing {
                    return Ok((id, false));
                }
                let mut identifying = new.contacts.clone();
                identifying.push((IndexKind::Name, new.visitor_name.clone()));
                if let Some(key) = &new.visitor_key {
                    identifying.push((IndexKind::Visitor, key.clone()));
                }
                let (subject, sealer) = subject_for(conn, &keyring, &identifying).await?;
                if let Some(ip) = &new.ip {
                    // Indexed, but not used to match visitors: many people share an address.
                    super::keys::index_subject(conn, &keyring, subject, &[(IndexKind::Ip, ip.clone())]).await?;
                }
                let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM conversations")
                    .fetch_one(&mut *conn)
                    .await?;
                let row = id.to_string();
                let seal = |column: &str, value: Option<&str>| sealer.seal_opt("conversations", column, &row, value);
                sqlx::query(
                    "INSERT INTO conversations (id, public_id, start_client_id, visitor_token_hash, site, visitor_name,
                                                created_at, page_url, referrer, visitor_key, answers, department_id,
                                                subject_id, visitor_ip)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .bind(id)
                .bind(&new.public_id)
                .bind(&new.start_client_id)
                .bind(&new.visitor_token_hash)
                .bind(&new.site)
                .bind(sealer.seal("conversations", "visitor_name", &row, &new.visitor_name)?)
                .bind(now())
                .bind(seal("page_url", new.page_url.as_deref())?)
                .bind(seal("referrer", new.referrer.as_deref())?)
                .bind(new.visitor_key.as_deref().map(|k| hex::encode(keyring.blind(IndexKind::Visitor, k))))
                .bind(seal("answers", new.answers.as_deref())?)
                .bind(new.department_id)
                .bind(subject)
                .bind(seal("visitor_ip", new.ip.as_deref())?)
                .execute(&mut *conn)
                .await?;
                let first = NewMessage {
                    conversation_id: id,
                    client_id: new.start_client_id,
                    author: "visitor",
                    author_user_id: None,
                    author_name: new.visitor_name,
                    body: new.question,
                };
                append(conn, &keyring, first).await?;
                if let Some(version) = &new.consent_notice {
                    super::privacy::record_start_consents(conn, subject, id, version, &new.consent_purposes).await?;
                }
                Ok((id, true))
            })
        })
        .await
    }

    /// Appends a message; `None` when the conversation is closed.
    pub async fn append_message(&self, message: NewMessage) -> Result<Option<Appended>, StoreError> {
        let keyring = self.keyring()?;
        self.write(move |conn| Box::pin(async move { append(conn, &keyring, message).await })).await
    }

    /// Decrypts the visitor names of conversations read from the database.
    async fn opened(&self, mut rows: Vec<ConversationRow>) -> Result<Vec<ConversationRow>, StoreError> {
        let sealers = self.sealers(rows.iter().filter_map(|r| r.subject_id).collect()).await?;
        for row in &mut rows {
            if let Some(sealer) = row.subject_id.and_then(|s| sealers.get(&s)) {
                row.visitor_name =
                    sealer.open("conversations", "visitor_name", &row.id.to_string(), &row.visitor_name)?;
            }
        }
        Ok(rows)
    }

    async fn opened_one(&self, row: Option<ConversationRow>) -> Result<Option<ConversationRow>, StoreError> {
        Ok(match row {
            Some(row) => self.opened(vec![row]).await?.pop(),
            None => None,
        })
    }

    pub async fn conversation_by_public_id(&self, public_id: &str) -> Result<Option<ConversationRow>, StoreError> {
        let row = sqlx::query_as(select_conversations!("WHERE c.public_id = ?1"))
            .bind(public_id)
            .fetch_optional(self.reader())
            .await?;
        self.opened_one(row).await
    }

    pub async fn conversation_by_start_id(&self, start_client_id: &str) -> Result<Option<ConversationRow>, StoreError> {
        let row = sqlx::query_as(select_conversations!("WHERE c.start_client_id = ?1"))
            .bind(start_client_id)
            .fetch_optional(self.reader())
            .await?;
        self.opened_one(row).await
    }

    pub async fn conversation(&self, id: i64) -> Result<Option<ConversationRow>, StoreError> {
        let row =
            sqlx::query_as(select_conversations!("WHERE c.id = ?1")).bind(id).fetch_optional(self.reader()).await?;
        self.opened_one(row).await
    }

    /// Waiting conversations, oldest first.
    pub async fn queued_conversations(&self) -> Result<Vec<ConversationRow>, StoreError> {
        let rows = sqlx::query_as(select_conversations!("WHERE c.status = 'queued' ORDER BY c.created_at, c.id"))
            .fetch_all(self.reader())
            .await?;
        self.opened(rows).await
    }

    pub async fn open_conversations_of(&self, operator_id: i64) -> Result<Vec<ConversationRow>, StoreError> {
        let rows = sqlx::query_as(select_conversations!(
            "WHERE c.operator_id = ?1 AND c.status = 'active' ORDER BY c.accepted_at, c.id"
        ))
        .bind(operator_id)
        .fetch_all(self.reader())
        .await?;
        self.opened(rows).await
    }

    /// Where the visitor was, and their earlier chats (newest first, at most 20).
    pub async fn visitor_context(&self, id: i64) -> Result<VisitorContext, StoreError> {
        type Row = (Option<String>, Option<String>, Option<String>, Option<String>, Option<i64>);
        let (page_url, referrer, visitor_key, answers, subject): Row = sqlx::query_as(
            "SELECT page_url, referrer, visitor_key, answers, subject_id FROM conversations WHERE id = ?1",
        )
        .bind(id)
        .fetch_one(self.reader())
        .await?;
        let (page_url, referrer, answers) = match subject {
            Some(subject) => {
                let sealer = self.sealer(subject).await?;
                let row = id.to_string();
                (
                    sealer.open_opt("conversations", "page_url", &row, page_url.as_deref())?,
                    sealer.open_opt("conversations", "referrer", &row, referrer.as_deref())?,
                    sealer.open_opt("conversations", "answers", &row, answers.as_deref())?,
                )
            }
            None => (page_url, referrer, answers),
        };
        let previous = match &visitor_key {
            Some(key) => {
                sqlx::query_as(
                    "SELECT public_id, created_at, status FROM conversations
                     WHERE visitor_key = ?1 AND id != ?2 ORDER BY created_at DESC, id DESC LIMIT 20",
                )
                .bind(key)
                .bind(id)
                .fetch_all(self.reader())
                .await?
            }
            None => Vec::new(),
        };
        Ok(VisitorContext { answers, page_url, referrer, previous })
    }

    /// Open (accepted) conversations per operator.
    pub async fn active_counts(&self) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT operator_id, COUNT(*) FROM conversations WHERE status = 'active' AND operator_id IS NOT NULL GROUP BY operator_id",
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().collect())
    }

    pub async fn count_open_conversations(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM conversations WHERE status != 'closed'")
            .fetch_one(self.reader())
            .await?)
    }

    /// Messages after `after_seq`, in order, at most `limit`.
    pub async fn messages_after(
        &self,
        conversation_id: i64,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let mut rows: Vec<MessageRow> = sqlx::query_as(
            "SELECT seq, client_id, author, author_name, body, created_at FROM messages
             WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )
        .bind(conversation_id)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        if rows.is_empty() {
            return Ok(rows);
        }
        let subject: Option<i64> = sqlx::query_scalar("SELECT subject_id FROM conversations WHERE id = ?1")
            .bind(conversation_id)
            .fetch_one(self.reader())
            .await?;
        if let Some(subject) = subject {
            let sealer = self.sealer(subject).await?;
            for m in &mut rows {
                let row = format!("{conversation_id}:{}", m.seq);
                m.author_name = sealer.open("messages", "author_name", &row, &m.author_name)?;
                m.body = sealer.open("messages", "body", &row, &m.body)?;
            }
        }
        Ok(rows)
    }

    /// Assigns a queued conversation; false when it was no longer queued.
    pub async fn accept_conversation(&self, id: i64, operator_id: i64) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE conversations SET status = 'active', operator_id = ?2, accepted_at = ?3
                     WHERE id = ?1 AND status = 'queued'",
                )
                .bind(id)
                .bind(operator_id)
                .bind(now())
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    /// Puts an operator's active conversations back in the queue; returns their ids.
    pub async fn requeue_operator(&self, operator_id: i64) -> Result<Vec<i64>, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query_scalar(
                    "UPDATE conversations SET status = 'queued', operator_id = NULL, accepted_at = NULL
                     WHERE operator_id = ?1 AND status = 'active' RETURNING id",
                )
                .bind(operator_id)
                .fetch_all(&mut *conn)
                .await
            })
        })
        .await
    }

    /// Puts an active conversation back in the queue of `department_id` (a transfer to a
    /// department); false when it was not active.
    pub async fn requeue_to_department(&self, id: i64, department_id: i64) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE conversations SET status = 'queued', operator_id = NULL, accepted_at = NULL, department_id = ?2
                     WHERE id = ?1 AND status = 'active'",
                )
                .bind(id)
                .bind(department_id)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    /// Closes an open conversation; false when it was already closed.
    pub async fn close_conversation(&self, id: i64, by: &'static str) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE conversations SET status = 'closed', closed_at = ?2, closed_by = ?3
                     WHERE id = ?1 AND status != 'closed'",
                )
                .bind(id)
                .bind(now())
                .bind(by)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    /// Who closed a conversation (`visitor`, `operator` or `system`) and its final last seq;
    /// `None` while it is open.
    pub async fn closed(&self, id: i64) -> Result<Option<(String, i64)>, StoreError> {
        let row: Option<(Option<String>, i64)> =
            sqlx::query_as("SELECT closed_by, last_seq FROM conversations WHERE id = ?1 AND status = 'closed'")
                .bind(id)
                .fetch_optional(self.reader())
                .await?;
        Ok(row.map(|(by, last_seq)| (by.unwrap_or_else(|| "system".to_owned()), last_seq)))
    }
}

/// Filters for the stored-chats list (all optional but `limit`). Times are Unix seconds.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<String>,
    pub from: Option<i64>,
    pub until: Option<i64>,
    pub operator: Option<String>,
    pub rating: Option<i64>,
    pub site: Option<String>,
    /// Department key.
    pub department: Option<String>,
    /// Words found in the site, department, operator or who closed it (not in personal data).
    pub text: Option<String>,
    /// Only these departments' conversations (a JSON array of ids; a team-scoped role).
    pub departments: Option<String>,
    pub limit: i64,
}

/// One line of the stored-chats list.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct ConversationSummary {
    pub public_id: String,
    pub site: String,
    pub visitor_name: String,
    pub status: String,
    pub operator_name: Option<String>,
    pub messages: i64,
    pub rating: Option<i64>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub department: Option<String>,
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub subject_id: Option<i64>,
}

impl Store {
    /// Most recent conversations first, narrowed by `filter`.
    pub async fn conversation_summaries(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let mut rows: Vec<ConversationSummary> = sqlx::query_as(
            "SELECT c.public_id, c.site, c.visitor_name, c.status, u.display_name AS operator_name,
                    c.last_seq AS messages, c.rating, c.created_at, c.closed_at, d.key AS department,
                    c.id, c.subject_id
             FROM conversations c LEFT JOIN staff_users u ON u.id = c.operator_id
                  LEFT JOIN departments d ON d.id = c.department_id
             WHERE (?1 IS NULL OR c.status = ?1)
               AND (?2 IS NULL OR c.created_at >= ?2)
               AND (?3 IS NULL OR c.created_at < ?3)
               AND (?4 IS NULL OR u.username = ?4)
               AND (?5 IS NULL OR c.rating = ?5)
               AND (?6 IS NULL OR c.site = ?6)
               AND (?8 IS NULL OR d.key = ?8)
               AND (?9 IS NULL OR instr(lower(c.site || ' ' || COALESCE(d.key, '') || ' ' || COALESCE(d.name, '') || ' '
                                              || COALESCE(u.username, '') || ' ' || COALESCE(u.display_name, '') || ' '
                                              || COALESCE(c.closed_by, '')), lower(?9)) > 0)
               AND (?10 IS NULL OR c.department_id IN (SELECT value FROM json_each(?10)))
             ORDER BY c.created_at DESC, c.id DESC LIMIT ?7",
        )
        .bind(&filter.status)
        .bind(filter.from)
        .bind(filter.until)
        .bind(&filter.operator)
        .bind(filter.rating)
        .bind(&filter.site)
        .bind(filter.limit)
        .bind(&filter.department)
        .bind(&filter.text)
        .bind(&filter.departments)
        .fetch_all(self.reader())
        .await?;
        let sealers = self.sealers(rows.iter().filter_map(|r| r.subject_id).collect()).await?;
        for r in &mut rows {
            if let Some(sealer) = r.subject_id.and_then(|s| sealers.get(&s)) {
                r.visitor_name = sealer.open("conversations", "visitor_name", &r.id.to_string(), &r.visitor_name)?;
            }
        }
        Ok(rows)
    }
}
