//! Frames from a visitor's widget: start, resume, message, typing, end.

use serde_json::json;

use super::protocol::ClientFrame;
use super::session::{ack, direct};
use crate::app::AppState;
use crate::realtime::frames;
use crate::realtime::hub::{OutFrame, Outbox};
use crate::service::chat::{Author, ChatError, StartContext};
use crate::store::ConversationRow;

/// Per-connection visitor state: the conversation once started or resumed.
pub struct VisitorConn {
    conversation: Option<ConversationRow>,
    ip: std::net::IpAddr,
    /// The `parley_vid` cookie sent with the upgrade, if any.
    vid: Option<String>,
}

impl VisitorConn {
    pub fn new(ip: std::net::IpAddr, vid: Option<String>) -> VisitorConn {
        VisitorConn { conversation: None, ip, vid }
    }

    /// Handles one frame; errors become the `Err` that `session::answer` turns into a frame.
    pub async fn dispatch(
        &mut self,
        frame: ClientFrame,
        state: &AppState,
        outbox: &Outbox,
    ) -> Result<Vec<OutFrame>, ChatError> {
        let chat = &state.chat;
        match frame {
            ClientFrame::Ping { id } => Ok(vec![direct(frames::frame("pong", json!({ "id": id })))]),
            ClientFrame::Start {
                id,
                site,
                name,
                question,
                page,
                referrer,
                visitor: _,
                answers,
                department,
                consent,
                consents,
            } => {
                let site_config = state.sites.get(&site).ok_or(ChatError::UnknownSite)?;
                let answers = crate::service::prechat::check_answers(&site_config.fields, &answers)
                    .map_err(ChatError::Invalid)?;
                let department = chat.pick_department(&site_config.departments, department.as_deref())?;
                let agreed = crate::service::consent::check_start(
                    site_config.require_consent,
                    site_config.ask_marketing,
                    consent,
                    &consents,
                )
                .map_err(|refusal| match refusal {
                    crate::service::consent::Refusal::Required => ChatError::ConsentRequired,
                    crate::service::consent::Refusal::NotOffered(purpose) => {
                        ChatError::Invalid(format!("this site does not ask for consent to `{purpose}`"))
                    }
                })?;
                let consent_purposes = agreed.purposes;
                let consent_notice = (!consent_purposes.is_empty()).then(|| state.privacy.version.clone());
                let ip = state.config.privacy.visitor_ip.keep(self.ip);
                // A returning visitor is recognised only by the cookie, and only as far as the
                // site's tracking setting and the visitor's own choices allow.
                let visitor = crate::http::tracking::trackable(state, &site_config, self.vid.as_deref()).await;
                let context =
                    StartContext { page, referrer, visitor, answers, department, consent_notice, consent_purposes, ip };
                let started = chat.start(&id, &site, &name, &question, context).await?;
                let conversation = started.conversation;
                let mut frames = vec![direct(frames::frame(
                    "started",
                    json!({ "id": id, "conversation": conversation.public_id, "token": started.token, "seq": 1 }),
                ))];
                frames.extend(chat.subscribe(&conversation, outbox, 1).await?.into_frames());
                frames.extend(position(state, &conversation).await?);
                if conversation.status == "active" {
                    // Routed to an operator while starting: the room's `accepted` came too early.
                    let accepted =
                        json!({ "conversation": conversation.public_id, "operator": conversation.operator_name });
                    frames.push(direct(frames::frame("accepted", accepted)));
                }
                self.conversation = Some(conversation);
                Ok(frames)
            }
            ClientFrame::Resume { conversation, token, last_seq } => {
                let conversation = chat.resume(&conversation, &token).await?;
                let mut frames = vec![direct(frames::frame(
                    "resumed",
                    json!({ "conversation": conversation.public_id, "status": conversation.status, "operator": conversation.operator_name }),
                ))];
                // A closed conversation is replayed too, then `closed`; new messages are refused.
                frames.extend(chat.subscribe(&conversation, outbox, last_seq).await?.into_frames());
                frames.extend(position(state, &conversation).await?);
                self.conversation = Some(conversation);
                Ok(frames)
            }
            ClientFrame::Message { id, text, .. } => {
                let conversation = self.conversation.as_ref().ok_or(ChatError::NoConversation)?;
                let author = Author::Visitor { name: conversation.visitor_name.clone() };
                let seq = chat.post(conversation, author, &id, &text, outbox).await?;
                Ok(vec![ack(conversation.id, seq, frames::frame("ack", json!({ "id": id, "seq": seq })))])
            }
            ClientFrame::Typing { active, .. } => {
                if let Some(conversation) = &self.conversation {
                    chat.typing(conversation, "visitor", active, outbox);
                }
                Ok(Vec::new())
            }
            ClientFrame::End {} => {
                let conversation = self.conversation.take().ok_or(ChatError::NoConversation)?;
                // `closed` reaches this connection through the conversation's room.
                chat.close(&conversation, "visitor").await?;
                Ok(Vec::new())
            }
            ClientFrame::LeaveMessage { id, site, name, email, text, department } => {
                let site_config = state.sites.get(&site).ok_or(ChatError::UnknownSite)?;
                let department = chat.pick_department(&site_config.departments, department.as_deref())?;
                chat.leave_message(&id, &site, department.as_ref(), (&name, &email), &text).await?;
                Ok(vec![direct(frames::frame("ack", json!({ "id": id })))])
            }
            ClientFrame::EmailTranscript { id, conversation, token, email } => {
                let id = crate::service::chat::check_uuid("id", &id)?;
                let conversation = chat.verify_token(&conversation, &token).await?;
                state.mailer.queue_transcript(&id, &conversation, &token, &email).await.map_err(|e| match e {
                    crate::service::mail::MailError::Store(store) => ChatError::Store(store),
                    other => ChatError::Refused(other.code(), other.to_string()),
                })?;
                crate::service::privacy::record_transcript_consent(&state.store, &conversation, &state.privacy.version)
                    .await?;
                Ok(vec![direct(frames::frame("ack", json!({ "id": id })))])
            }
            ClientFrame::Rate { conversation, token, rating, comment } => {
                chat.rate(&conversation, &token, rating, comment.as_deref()).await?;
                Ok(vec![direct(frames::frame("rated", json!({ "conversation": conversation })))])
            }
            ClientFrame::Accept { .. }
            | ClientFrame::Join { .. }
            | ClientFrame::Close { .. }
            | ClientFrame::Status { .. }
            | ClientFrame::Note { .. }
            | ClientFrame::Transfer { .. } => Ok(vec![direct(frames::error("not_allowed", "this frame is for staff"))]),
        }
    }
}

/// The visitor's place in the queue, when waiting.
pub async fn position(state: &AppState, conversation: &ConversationRow) -> Result<Vec<OutFrame>, ChatError> {
    Ok(match state.chat.position(conversation).await? {
        Some(position) => {
            vec![direct(frames::frame(
                "queue",
                json!({ "conversation": conversation.public_id, "position": position }),
            ))]
        }
        None => Vec::new(),
    })
}
