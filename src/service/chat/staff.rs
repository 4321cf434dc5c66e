//! Staff-only operations on a conversation: internal notes, transfers and the visitor panel.

use serde_json::json;

use super::{Chat, ChatError, MAX_TEXT_CHARS, check_text, check_uuid};
use crate::realtime::frames;
use crate::realtime::hub::{OutFrame, Outbox};
use crate::store::ConversationRow;
use crate::util::rfc3339;

impl Chat {
    /// Stores an internal note (once per client id) and shows it to the staff in the room only.
    pub async fn note(
        &self,
        conversation: &ConversationRow,
        user_id: i64,
        name: &str,
        client_id: &str,
        text: &str,
        from: &Outbox,
    ) -> Result<(), ChatError> {
        let client_id = check_uuid("id", client_id)?;
        let text = check_text("text", text, MAX_TEXT_CHARS)?;
        let at =
            self.store.add_note(conversation.id, client_id.clone(), user_id, name.to_owned(), text.clone()).await?;
        let frame = note_frame(&conversation.public_id, &client_id, name, &text, at);
        self.hub.publish_staff(conversation.id, OutFrame::plain(conversation.id, frame), Some(from.conn));
        Ok(())
    }

    /// Every note of a conversation as frames (for staff joining it).
    pub async fn note_frames(&self, conversation: &ConversationRow) -> Result<Vec<OutFrame>, ChatError> {
        Ok(self
            .store
            .notes(conversation.id)
            .await?
            .iter()
            .map(|n| {
                let text = note_frame(&conversation.public_id, &n.client_id, &n.author_name, &n.body, n.created_at);
                OutFrame::plain(conversation.id, text)
            })
            .collect())
    }

    /// Hands an active conversation to another operator who is online, with an optional note.
    /// `from` is the handing-over operator's (user id, display name).
    pub async fn transfer(
        &self,
        conversation: &ConversationRow,
        from: (i64, &str),
        to: &str,
        note: Option<&str>,
        client_id: &str,
        outbox: &Outbox,
    ) -> Result<(), ChatError> {
        let (from_user, from_name) = from;
        let client_id = check_uuid("id", client_id)?;
        let target = crate::domain::Username::parse(to).map_err(ChatError::Invalid)?;
        let user = self.store.user_by_name(target.as_str()).await?.filter(|u| !u.disabled);
        let user = match user {
            Some(u) if u.id != from_user && self.hub.user_connected(u.id) => u,
            Some(u) if u.id == from_user => return Err(ChatError::Invalid("the chat is already yours".into())),
            _ => return Err(ChatError::Invalid(format!("{} is not signed in to take chats", target.as_str()))),
        };
        if !self.may_take(user.id, conversation) {
            return Err(ChatError::Invalid(format!("{}'s role reaches only their own teams' chats", target.as_str())));
        }
        // Check the hand-over note before anything changes, so a bad note changes nothing.
        let text = handover_note(from_name, &user.display_name, note)?;
        if !self.store.reassign_conversation(conversation.id, user.id).await? {
            return Err(ChatError::Closed);
        }
        self.handed_over(conversation, from, &client_id, &text, outbox).await?;
        tracing::info!(conversation = %conversation.public_id, from_user, to_user = user.id, "conversation transferred");
        let told =
            frames::frame("accepted", json!({ "conversation": conversation.public_id, "operator": user.display_name }));
        self.hub.publish(conversation.id, OutFrame::plain(conversation.id, told), None);
        let assigned = frames::frame(
            "assigned",
            json!({
                "conversation": conversation.public_id,
                "name": conversation.visitor_name,
                "site": conversation.site,
                "from": from_name,
                "department": self.department_label(conversation),
            }),
        );
        self.record_assigned(user.id, conversation).await?;
        self.hub.publish_user(user.id, OutFrame::plain(0, assigned));
        Ok(())
    }

    /// Hands an active conversation back to the queue of a department, with an optional note;
    /// its members (or automatic routing) take it from there. The visitor sees `requeued`.
    pub async fn transfer_to_department(
        &self,
        conversation: &ConversationRow,
        from: (i64, &str),
        department: &str,
        note: Option<&str>,
        client_id: &str,
        outbox: &Outbox,
    ) -> Result<(), ChatError> {
        let (from_user, from_name) = from;
        let client_id = check_uuid("id", client_id)?;
        let target = self.departments.get(department).ok_or(ChatError::UnknownDepartment)?;
        let text = handover_note(from_name, &format!("the {} team", target.name), note)?;
        if !self.store.requeue_to_department(conversation.id, target.id).await? {
            return Err(ChatError::Closed);
        }
        self.handed_over(conversation, from, &client_id, &text, outbox).await?;
        tracing::info!(conversation = %conversation.public_id, from_user, department = %target.key, "conversation transferred to a department");
        let told = frames::frame("requeued", json!({ "conversation": conversation.public_id, "reason": "transfer" }));
        self.hub.publish(conversation.id, OutFrame::plain(conversation.id, told), None);
        self.queue_changed().await
    }

    /// After a transfer: the hand-over note goes in, and the handing-over operator leaves the room.
    async fn handed_over(
        &self,
        conversation: &ConversationRow,
        from: (i64, &str),
        client_id: &str,
        text: &str,
        outbox: &Outbox,
    ) -> Result<(), ChatError> {
        let (from_user, from_name) = from;
        self.note(conversation, from_user, from_name, client_id, text, outbox).await?;
        self.hub.leave_user(conversation.id, from_user);
        Ok(())
    }

    /// The `visitor` frame for staff: where the visitor was and their earlier chats.
    pub async fn visitor_frame(&self, conversation: &ConversationRow) -> Result<OutFrame, ChatError> {
        let context = self.store.visitor_context(conversation.id).await?;
        let previous: Vec<_> = context
            .previous
            .iter()
            .map(|(id, at, status)| json!({ "conversation": id, "started_at": rfc3339(*at), "status": status }))
            .collect();
        let frame = frames::frame(
            "visitor",
            json!({
                "conversation": conversation.public_id,
                "name": conversation.visitor_name,
                "site": conversation.site,
                "page": context.page_url,
                "referrer": context.referrer,
                "previous": previous,
                "answers": context.answers.as_deref().and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok()).unwrap_or(json!([])),
            }),
        );
        Ok(OutFrame::plain(conversation.id, frame))
    }
}

/// "Transferred from A to B: note", checked before anything changes.
fn handover_note(from_name: &str, to: &str, note: Option<&str>) -> Result<String, ChatError> {
    let text = match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => format!("Transferred from {from_name} to {to}: {n}"),
        None => format!("Transferred from {from_name} to {to}"),
    };
    check_text("note", &text, MAX_TEXT_CHARS)
}

fn note_frame(conversation: &str, id: &str, name: &str, text: &str, at: i64) -> String {
    frames::frame(
        "note",
        json!({ "conversation": conversation, "id": id, "name": name, "text": text, "at": rfc3339(at) }),
    )
}
