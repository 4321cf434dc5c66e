//! Live-chat rules: starting and resuming conversations, appending messages (ack after commit,
//! idempotent by client id), the waiting queue, accepting and closing. Fans results out through
//! the hub; the websocket layer only parses frames and calls these. Staff-only operations live
//! in `staff.rs`, the queue and routing in `queue.rs`.

mod queue;
mod scope;
pub use queue::QUEUE_FRAME_MAX;
mod replay;
pub use replay::Replay;
mod staff;

use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::auth::session::{constant_time_eq, token_hash};
use crate::config::{ChatConfig, Routing};
use crate::domain::Email;
use crate::realtime::frames;
use crate::realtime::hub::{Hub, OutFrame, Outbox, Seq};
use crate::service::departments::{Department, Departments};
use crate::store::{ConversationRow, MessageRow, NewConversation, NewMessage, NewOffline, Store, StoreError};
use crate::telemetry::Metrics;

pub const MAX_TEXT_CHARS: usize = 4000;
pub const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("{0} is too long")]
    TooLong(&'static str),
    #[error("{0} is not valid")]
    BadId(&'static str),
    #[error("start or resume a conversation first")]
    NoConversation,
    #[error("no such conversation, or it is not yours")]
    UnknownConversation,
    #[error("the conversation has ended")]
    Closed,
    #[error("another operator accepted this conversation first")]
    AlreadyTaken,
    #[error("no operator is available; leave a message instead")]
    Offline,
    #[error("no such site; check data-site in the embed snippet")]
    UnknownSite,
    #[error("choose one of the site's departments")]
    UnknownDepartment,
    #[error("this chat is for the {0} team; only its members or a supervisor can take it")]
    NotMember(String),
    #[error("{0}")]
    Invalid(String),
    #[error("this site asks you to agree to its privacy notice before the chat starts")]
    ConsentRequired,
    #[error("your role does not have the permission {0}")]
    Forbidden(crate::domain::Permission),
    /// A request refused by a rule with its own stable code (e.g. `transcript_limit`).
    #[error("{1}")]
    Refused(&'static str, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ChatError {
    /// The stable `code` sent in error frames.
    pub fn code(&self) -> &'static str {
        match self {
            ChatError::Empty(_) => "empty",
            ChatError::TooLong(_) => "too_long",
            ChatError::BadId(_) => "bad_id",
            ChatError::NoConversation => "no_conversation",
            ChatError::UnknownConversation => "unknown_conversation",
            ChatError::Closed => "conversation_closed",
            ChatError::AlreadyTaken => "already_taken",
            ChatError::Offline => "offline",
            ChatError::UnknownSite => "unknown_site",
            ChatError::UnknownDepartment => "unknown_department",
            ChatError::NotMember(_) => "not_member",
            ChatError::Invalid(_) => "invalid",
            ChatError::ConsentRequired => "consent_required",
            ChatError::Forbidden(_) => "forbidden",
            ChatError::Refused(code, _) => code,
            ChatError::Store(_) => "internal",
        }
    }
}

/// Who is writing.
#[derive(Debug, Clone)]
pub enum Author {
    Visitor { name: String },
    Operator { user_id: i64, name: String },
}

/// Optional facts the widget sends with `start`; invalid ones are dropped, not refused.
#[derive(Debug, Clone, Default)]
pub struct StartContext {
    pub page: Option<String>,
    pub referrer: Option<String>,
    pub visitor: Option<String>,
    /// Checked answers to the site's extra pre-chat fields.
    pub answers: Vec<crate::service::prechat::Answer>,
    /// The department chosen (see `Chat::pick_department`).
    pub department: Option<Department>,
    /// The privacy-notice version in force, when the visitor agreed to any purpose.
    pub consent_notice: Option<String>,
    /// The purposes agreed to in the pre-chat form (see `service::consent::check_start`).
    pub consent_purposes: Vec<&'static str>,
    /// The visitor's IP address in the form `privacy.visitor_ip` keeps it, if at all.
    pub ip: Option<String>,
}

/// An answer that is an e-mail address or a phone number, for the blind indexes.
fn contact_kind(value: &str) -> Option<(crate::crypto::IndexKind, String)> {
    use crate::crypto::IndexKind;
    if Email::parse(value).is_ok() {
        return Some((IndexKind::Email, value.to_owned()));
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let phone_like = (7..=15).contains(&digits) && value.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    phone_like.then(|| (IndexKind::Phone, value.to_owned()))
}

/// An http(s) URL of at most 2,000 characters, else nothing.
fn check_url(raw: &str) -> Option<String> {
    let url = raw.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2000
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| url.to_owned())
}

/// The result of `start`.
pub struct Started {
    pub conversation: ConversationRow,
    pub token: String,
}

#[derive(Clone)]
pub struct Chat {
    store: Store,
    hub: Arc<Hub>,
    departments: Departments,
    metrics: Metrics,
    token_key: Arc<[u8; 32]>,
    routing: Routing,
    max_chats: i64,
    /// Serialises automatic routing; holds the user id assigned last per department (for
    /// round robin; `None` = chats without a department).
    dispatch: Arc<tokio::sync::Mutex<std::collections::HashMap<Option<i64>, i64>>>,
    /// The queue position each waiting chat was last sent (conversation id → position), so a
    /// queue change sends positions only to the visitors whose place moved. The lock also keeps
    /// queue publications in order.
    told_positions: Arc<tokio::sync::Mutex<std::collections::HashMap<i64, usize>>>,
    /// (user id, conversation id) pairs of waiting chats already recorded in the access log as
    /// shown in a queue frame (pruned to the waiting chats on every queue change).
    queue_shown: Arc<tokio::sync::Mutex<std::collections::HashSet<(i64, i64)>>>,
}

/// Text fields: trimmed, non-empty, bounded in characters.
pub fn check_text(field: &'static str, text: &str, max: usize) -> Result<String, ChatError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ChatError::Empty(field));
    }
    if trimmed.chars().count() > max {
        return Err(ChatError::TooLong(field));
    }
    Ok(trimmed.to_owned())
}

/// Client ids and conversation ids are UUIDs.
pub fn check_uuid(field: &'static str, raw: &str) -> Result<String, ChatError> {
    uuid::Uuid::parse_str(raw).map(|u| u.hyphenated().to_string()).map_err(|_| ChatError::BadId(field))
}

fn check_site(raw: &str) -> Result<String, ChatError> {
    crate::service::sites::check_key(raw).map_err(|_| ChatError::BadId("site"))
}

impl Chat {
    pub fn new(
        store: Store,
        hub: Arc<Hub>,
        departments: Departments,
        metrics: Metrics,
        token_key: [u8; 32],
        config: &ChatConfig,
    ) -> Chat {
        Chat {
            store,
            hub,
            departments,
            metrics,
            token_key: Arc::new(token_key),
            routing: config.routing,
            max_chats: i64::from(config.max_chats),
            dispatch: Arc::default(),
            told_positions: Arc::default(),
            queue_shown: Arc::default(),
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The department a visitor's chat or message goes to: none when the site offers none,
    /// the only one, or the one named (which the site must offer).
    pub fn pick_department(
        &self,
        offered: &[String],
        requested: Option<&str>,
    ) -> Result<Option<Department>, ChatError> {
        let key = match (offered, requested) {
            ([], None) => return Ok(None),
            ([only], None) => only.as_str(),
            (list, Some(key)) if list.iter().any(|k| k == key) => key,
            _ => return Err(ChatError::UnknownDepartment),
        };
        self.departments.get(key).map(Some).ok_or(ChatError::UnknownDepartment)
    }

    /// Whether a new chat for `department` (or, with none, for anyone) could be answered now.
    pub fn can_start(&self, department: Option<&Department>) -> bool {
        let available = self.hub.available_users();
        match department {
            Some(d) => self.departments.is_available(d, &available, time::OffsetDateTime::now_utc()),
            None => !available.is_empty(),
        }
    }

    /// The resume token for a conversation: an HMAC of its start id, so a resent `start` gets
    /// the same token back. Only its hash is stored.
    fn token_for(&self, start_client_id: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(self.token_key.as_ref()) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(start_client_id.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub async fn start(
        &self,
        client_id: &str,
        site: &str,
        name: &str,
        question: &str,
        context: StartContext,
    ) -> Result<Started, ChatError> {
        let client_id = check_uuid("id", client_id)?;
        let site = check_site(site)?;
        let name = check_text("name", name, MAX_NAME_CHARS)?;
        let question = check_text("question", question, MAX_TEXT_CHARS)?;
        let token = self.token_for(&client_id);
        // A resent start of an existing conversation is answered even if everyone went away.
        let known = self.store.conversation_by_start_id(&client_id).await?;
        if known.is_none() && !self.can_start(context.department.as_ref()) {
            return Err(ChatError::Offline);
        }
        let new = NewConversation {
            public_id: uuid::Uuid::new_v4().to_string(),
            start_client_id: client_id,
            visitor_token_hash: token_hash(&token),
            site,
            visitor_name: name,
            question,
            page_url: context.page.as_deref().and_then(check_url),
            referrer: context.referrer.as_deref().and_then(check_url),
            visitor_key: context.visitor.as_deref().and_then(|v| check_uuid("visitor", v).ok()),
            answers: (!context.answers.is_empty()).then(|| json!(context.answers).to_string()),
            department_id: context.department.as_ref().map(|d| d.id),
            contacts: context.answers.iter().filter_map(|a| contact_kind(&a.value)).collect(),
            consent_notice: context.consent_notice.clone(),
            consent_purposes: context.consent_purposes.clone(),
            ip: context.ip.clone(),
        };
        let (id, created) = self.store.start_conversation(new).await?;
        if created {
            tracing::info!(conversation = id, "conversation started");
            self.queue_changed().await?;
        }
        // Read after routing, so the caller sees an operator assigned on the spot.
        let conversation = self.store.conversation(id).await?.ok_or(ChatError::UnknownConversation)?;
        Ok(Started { conversation, token })
    }

    /// The conversation named by a visitor's id and token (open or closed).
    pub async fn verify_token(&self, public_id: &str, token: &str) -> Result<ConversationRow, ChatError> {
        let public_id = check_uuid("conversation", public_id)?;
        let conversation =
            self.store.conversation_by_public_id(&public_id).await?.ok_or(ChatError::UnknownConversation)?;
        if !constant_time_eq(&conversation.visitor_token_hash, &token_hash(token)) {
            return Err(ChatError::UnknownConversation);
        }
        Ok(conversation)
    }

    /// A conversation a staff member may work on (assigned to them, still open).
    pub async fn for_operator(&self, public_id: &str, user_id: i64) -> Result<ConversationRow, ChatError> {
        let conversation = self.held_by(public_id, user_id).await?;
        if conversation.status == "closed" {
            return Err(ChatError::Closed);
        }
        Ok(conversation)
    }

    /// Stores a message (once per client id) and fans it out; returns its seq after the commit.
    pub async fn post(
        &self,
        conversation: &ConversationRow,
        author: Author,
        client_id: &str,
        text: &str,
        from: &Outbox,
    ) -> Result<i64, ChatError> {
        let client_id = check_uuid("id", client_id)?;
        let text = check_text("text", text, MAX_TEXT_CHARS)?;
        let (kind, user_id, name) = match author {
            Author::Visitor { name } => ("visitor", None, name),
            Author::Operator { user_id, name } => ("operator", Some(user_id), name),
        };
        let appended = self
            .store
            .append_message(NewMessage {
                conversation_id: conversation.id,
                client_id: client_id.clone(),
                author: kind,
                author_user_id: user_id,
                author_name: name.clone(),
                body: text.clone(),
            })
            .await?
            .ok_or(ChatError::Closed)?;
        if !appended.duplicate {
            let row = MessageRow {
                seq: appended.seq,
                client_id,
                author: kind.into(),
                author_name: name,
                body: text,
                created_at: appended.created_at,
            };
            let frame = frames::message(&conversation.public_id, &row);
            self.hub.publish(
                conversation.id,
                OutFrame { conversation: conversation.id, seq: Seq::Event(row.seq), text: frame.into() },
                Some(from.conn),
            );
        }
        Ok(appended.seq)
    }

    /// Relays a typing indicator (never stored).
    pub fn typing(&self, conversation: &ConversationRow, who: &str, active: bool, from: &Outbox) {
        let frame =
            frames::frame("typing", json!({ "conversation": conversation.public_id, "who": who, "active": active }));
        self.hub.publish(conversation.id, OutFrame::plain(conversation.id, frame), Some(from.conn));
    }

    /// Assigns a waiting conversation to the operator and tells everyone. Chats of a department
    /// go to its members only, unless `any_department` (supervisors and administrators).
    /// A team-scoped member reaches only their departments' chats (`reach`); others are unknown.
    pub async fn accept(
        &self,
        public_id: &str,
        user_id: i64,
        any_department: bool,
        reach: &crate::domain::Reach,
        outbox: &Outbox,
    ) -> Result<ConversationRow, ChatError> {
        let public_id = check_uuid("conversation", public_id)?;
        let conversation = self
            .store
            .conversation_by_public_id(&public_id)
            .await?
            .filter(|c| reach.allows(c.department_id))
            .ok_or(ChatError::UnknownConversation)?;
        if conversation.status == "closed" {
            return Err(ChatError::Closed);
        }
        if let Some(department) = conversation.department_id.and_then(|id| self.departments.by_id(id))
            && !any_department
            && !department.has_member(user_id)
        {
            return Err(ChatError::NotMember(department.name));
        }
        if !self.store.accept_conversation(conversation.id, user_id).await? {
            return Err(ChatError::AlreadyTaken);
        }
        let conversation = self.store.conversation(conversation.id).await?.ok_or(ChatError::UnknownConversation)?;
        tracing::info!(conversation = %conversation.public_id, user_id, "conversation accepted");
        let frame = frames::frame(
            "accepted",
            json!({ "conversation": conversation.public_id, "operator": conversation.operator_name }),
        );
        self.hub.publish(conversation.id, OutFrame::plain(conversation.id, frame), Some(outbox.conn));
        self.queue_changed().await?;
        Ok(conversation)
    }

    /// Ends a conversation and tells both sides.
    pub async fn close(&self, conversation: &ConversationRow, by: &'static str) -> Result<(), ChatError> {
        if !self.store.close_conversation(conversation.id, by).await? {
            return Err(ChatError::Closed);
        }
        tracing::info!(conversation = %conversation.public_id, by, "conversation closed");
        // Nothing can be appended any more: the row's last seq is final.
        let last_seq =
            self.store.closed(conversation.id).await?.map_or(conversation.last_seq, |(_, last_seq)| last_seq);
        self.hub.publish(conversation.id, replay::closed_frame(conversation, by, last_seq), None);
        self.hub.close_room(conversation.id);
        self.queue_changed().await
    }

    /// Stores a message left while nobody could chat (once per client id); returns its id.
    pub async fn leave_message(
        &self,
        client_id: &str,
        site: &str,
        department: Option<&Department>,
        contact: (&str, &str),
        text: &str,
    ) -> Result<i64, ChatError> {
        let (name, email) = contact;
        let new = NewOffline {
            department_id: department.map(|d| d.id),
            client_id: check_uuid("id", client_id)?,
            site: check_site(site)?,
            name: check_text("name", name, MAX_NAME_CHARS)?,
            email: Email::parse(email).map_err(ChatError::Invalid)?.as_str().to_owned(),
            body: check_text("text", text, MAX_TEXT_CHARS)?,
        };
        let id = self.store.insert_offline(new).await?;
        tracing::info!(offline_request = id, "offline request stored");
        Ok(id)
    }

    /// The visitor's 1–5 rating of a conversation, with an optional comment.
    pub async fn rate(&self, public_id: &str, token: &str, rating: u8, comment: Option<&str>) -> Result<(), ChatError> {
        if !(1..=5).contains(&rating) {
            return Err(ChatError::Invalid("rating must be 1 to 5".into()));
        }
        let comment = match comment.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(check_text("comment", c, MAX_TEXT_CHARS)?),
            None => None,
        };
        let conversation = self.verify_token(public_id, token).await?;
        Ok(self.store.rate_conversation(conversation.id, rating, comment).await?)
    }

    /// The waiting position of one conversation (1 = next) among the chats of its department,
    /// if it is queued.
    pub async fn position(&self, conversation: &ConversationRow) -> Result<Option<usize>, ChatError> {
        let waiting = self.store.queued_conversations().await?;
        Ok(waiting
            .iter()
            .filter(|c| c.department_id == conversation.department_id)
            .position(|c| c.id == conversation.id)
            .map(|i| i + 1))
    }
}
