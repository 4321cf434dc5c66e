//! Frames from an operator's dashboard: accept, join, message, typing, close.

use serde_json::json;

use super::protocol::ClientFrame;
use super::session::{ack, answer, direct};
use crate::app::AppState;
use crate::domain::permission::perm;
use crate::domain::{Permission, PermissionSet, Reach, Scope};
use crate::realtime::frames;
use crate::realtime::hub::{OutFrame, Outbox, Viewer};
use crate::service::chat::{Author, ChatError};
use crate::store::ConversationRow;

/// Per-connection staff state.
pub struct StaffConn {
    user_id: i64,
    /// For the access log.
    username: String,
    name: String,
    permissions: PermissionSet,
    /// The role's team scope: `OwnTeams` sees and takes only its departments' chats.
    scope: Scope,
    /// The status this connection last chose.
    status: &'static str,
}

/// Most chats at once an operator may choose.
pub const MAX_CHATS_LIMIT: i64 = 20;

impl StaffConn {
    pub fn new(user_id: i64, username: String, name: String, permissions: PermissionSet, scope: Scope) -> StaffConn {
        StaffConn { user_id, username, name, permissions, scope, status: "online" }
    }

    fn viewer(&self) -> Viewer {
        Viewer { user_id: self.user_id, username: self.username.as_str().into(), scope: self.scope }
    }

    fn reach(&self, state: &AppState) -> Reach {
        state.departments.reach(self.scope, self.user_id)
    }

    /// A conversation assigned to this member, open, and within their team scope.
    async fn mine(&self, state: &AppState, conversation: &str) -> Result<ConversationRow, ChatError> {
        let conversation = state.chat.for_operator(conversation, self.user_id).await?;
        if self.reach(state).allows(conversation.department_id) {
            Ok(conversation)
        } else {
            Err(ChatError::UnknownConversation)
        }
    }

    /// What a staff member who opens a chat (accept or join) is sent after the answer: the
    /// visitor panel, the messages after `last_seq`, the notes, and `closed` if it has ended.
    async fn opened(
        &self,
        state: &AppState,
        conversation: &ConversationRow,
        outbox: &Outbox,
        last_seq: i64,
    ) -> Result<Vec<OutFrame>, ChatError> {
        let chat = &state.chat;
        self.record_view(state, conversation).await?;
        let mut frames = vec![chat.visitor_frame(conversation).await?];
        let replay = chat.subscribe(conversation, outbox, last_seq).await?;
        frames.extend(replay.frames);
        frames.extend(chat.note_frames(conversation).await?);
        frames.extend(replay.closed);
        Ok(frames)
    }

    /// Frames that answer or change a chat need chats.store (a watch-only role has chats.view).
    fn require(&self, permission: Permission) -> Result<(), ChatError> {
        if self.permissions.has(permission) { Ok(()) } else { Err(ChatError::Forbidden(permission)) }
    }

    /// Records in the access log that this staff member opened a chat (accept or join).
    async fn record_view(&self, state: &AppState, conversation: &ConversationRow) -> Result<(), ChatError> {
        let entry = crate::store::AuditEntry::new(self.username.clone(), "view.chat")
            .about(conversation.subject_id)
            .details(format!("conversation {}", conversation.public_id));
        Ok(state.store.audit(entry).await?)
    }

    async fn status_frame(&self, state: &AppState) -> Result<String, ChatError> {
        let max_chats = state.chat.limit_of(self.user_id).await?;
        Ok(frames::frame("status", json!({ "status": self.status, "max_chats": max_chats })))
    }

    pub fn user_id(&self) -> i64 {
        self.user_id
    }

    /// Joins the lobby and returns the current queue and this operator's open conversations.
    pub async fn greet(&mut self, state: &AppState, outbox: &Outbox) -> Vec<OutFrame> {
        let viewer = self.viewer();
        state.chat.hub().join_lobby(outbox, viewer.clone());
        if !self.permissions.has(perm::CHATS_STORE) {
            // A watch-only role sees the queue but is never counted as an operator to route to.
            self.status = "away";
            state.chat.hub().set_available(outbox.conn, false);
        }
        // A newly connected operator may take waiting chats at once.
        if let Err(err) = state.chat.reroute().await {
            return answer(Err(err));
        }
        let frames = async {
            Ok::<_, ChatError>(vec![
                self.status_frame(state).await?,
                state.chat.queue_frame_for(&viewer).await?,
                state.chat.mine_frame(self.user_id).await?,
            ])
        };
        answer(frames.await.map(|frames| frames.into_iter().map(direct).collect()))
    }

    /// Handles one frame; errors become the `Err` that `session::answer` turns into a frame.
    pub async fn dispatch(
        &mut self,
        frame: ClientFrame,
        state: &AppState,
        outbox: &Outbox,
    ) -> Result<Vec<OutFrame>, ChatError> {
        let chat = &state.chat;
        if !matches!(frame, ClientFrame::Ping { .. } | ClientFrame::Join { .. }) {
            self.require(perm::CHATS_STORE)?;
        }
        match frame {
            ClientFrame::Ping { id } => Ok(vec![direct(frames::frame("pong", json!({ "id": id })))]),
            ClientFrame::Accept { id, conversation } => {
                let reach = self.reach(state);
                // A team-scoped supervisor takes chats of their own departments only.
                let any_department = self.permissions.has(perm::CHATS_MANAGE) && reach == Reach::All;
                let conversation = chat.accept(&conversation, self.user_id, any_department, &reach, outbox).await?;
                let accepted = direct(frames::frame(
                    "accepted",
                    json!({
                        "id": id,
                        "conversation": conversation.public_id,
                        "name": conversation.visitor_name,
                        "site": conversation.site,
                        "operator": conversation.operator_name,
                        "department": chat.department_label(&conversation),
                    }),
                ));
                let mut frames = vec![accepted];
                frames.extend(self.opened(state, &conversation, outbox, 0).await?);
                Ok(frames)
            }
            ClientFrame::Join { conversation, last_seq } => {
                // A chat of yours that closed while you were away is replayed too, then `closed`.
                let conversation = chat.held_by(&conversation, self.user_id).await?;
                if !self.reach(state).allows(conversation.department_id) {
                    return Err(ChatError::UnknownConversation);
                }
                self.opened(state, &conversation, outbox, last_seq).await
            }
            ClientFrame::Message { id, conversation, text } => {
                let conversation = conversation.ok_or(ChatError::BadId("conversation"))?;
                let conversation = self.mine(state, &conversation).await?;
                let author = Author::Operator { user_id: self.user_id, name: self.name.clone() };
                let seq = chat.post(&conversation, author, &id, &text, outbox).await?;
                Ok(vec![ack(conversation.id, seq, frames::frame("ack", json!({ "id": id, "seq": seq })))])
            }
            ClientFrame::Typing { conversation, active } => {
                let conversation = conversation.ok_or(ChatError::BadId("conversation"))?;
                let conversation = self.mine(state, &conversation).await?;
                chat.typing(&conversation, "operator", active, outbox);
                Ok(Vec::new())
            }
            ClientFrame::Close { conversation } => {
                let conversation = self.mine(state, &conversation).await?;
                chat.close(&conversation, "operator").await?;
                Ok(Vec::new())
            }
            ClientFrame::Note { id, conversation, text } => {
                let conversation = self.mine(state, &conversation).await?;
                chat.note(&conversation, self.user_id, &self.name, &id, &text, outbox).await?;
                Ok(vec![direct(frames::frame("ack", json!({ "id": id })))])
            }
            ClientFrame::Transfer { id, conversation, to, department, note } => {
                let conversation = self.mine(state, &conversation).await?;
                let from = (self.user_id, self.name.as_str());
                let done = match (to, department) {
                    (Some(to), None) => {
                        chat.transfer(&conversation, from, &to, note.as_deref(), &id, outbox).await?;
                        json!({ "id": id, "conversation": conversation.public_id, "to": to })
                    }
                    (None, Some(department)) => {
                        chat.transfer_to_department(&conversation, from, &department, note.as_deref(), &id, outbox)
                            .await?;
                        json!({ "id": id, "conversation": conversation.public_id, "department": department })
                    }
                    _ => return Err(ChatError::Invalid("name either `to` (a user) or `department`".into())),
                };
                Ok(vec![direct(frames::frame("transferred", done))])
            }
            ClientFrame::Status { status, max_chats } => {
                let (status, available) = match status.as_str() {
                    "online" => ("online", true),
                    "away" => ("away", false),
                    _ => return Err(ChatError::Invalid("status is \"online\" or \"away\"".into())),
                };
                if let Some(limit) = max_chats {
                    if !(1..=MAX_CHATS_LIMIT).contains(&limit) {
                        return Err(ChatError::Invalid(format!("max_chats is 1 to {MAX_CHATS_LIMIT}")));
                    }
                    state.store.set_max_chats(self.user_id, limit).await?;
                }
                self.status = status;
                chat.hub().set_available(outbox.conn, available);
                if available {
                    chat.reroute().await?;
                }
                Ok(vec![direct(self.status_frame(state).await?)])
            }
            ClientFrame::Start { .. }
            | ClientFrame::Resume { .. }
            | ClientFrame::End {}
            | ClientFrame::LeaveMessage { .. }
            | ClientFrame::EmailTranscript { .. }
            | ClientFrame::Rate { .. } => Ok(vec![direct(frames::error("not_allowed", "this frame is for visitors"))]),
        }
    }
}
