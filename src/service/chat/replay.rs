//! Catching a client up: `resume` (visitors) and `join` (staff) subscribe a connection to a
//! conversation and replay the messages after the client's `last_seq`; a closed conversation is
//! replayed too, then ended with `closed`. `missed` fills a gap in one connection's message
//! order from the store (see `ws::session`), so a frame never overtakes a lower seq.

use serde_json::json;

use super::{Chat, ChatError, check_uuid};
use crate::realtime::frames;
use crate::realtime::hub::{OutFrame, Outbox, Seq};
use crate::store::ConversationRow;

/// Messages replayed per database read while catching a client up.
const REPLAY_PAGE: i64 = 500;

/// What `subscribe` sends: the missed messages and, for a closed conversation, `closed`
/// (callers add their own frames in between, such as staff notes).
pub struct Replay {
    pub frames: Vec<OutFrame>,
    pub closed: Option<OutFrame>,
}

impl Replay {
    pub fn into_frames(self) -> Vec<OutFrame> {
        let mut frames = self.frames;
        frames.extend(self.closed);
        frames
    }
}

/// The `closed` frame: sent after every message up to `last_seq`, the conversation's last.
pub fn closed_frame(conversation: &ConversationRow, by: &str, last_seq: i64) -> OutFrame {
    let text = frames::frame("closed", json!({ "conversation": conversation.public_id, "by": by, "seq": last_seq }));
    OutFrame { conversation: conversation.id, seq: Seq::After(last_seq), text: text.into() }
}

impl Chat {
    /// The visitor's conversation, open or closed (a closed one is replayed, then `closed`).
    pub async fn resume(&self, public_id: &str, token: &str) -> Result<ConversationRow, ChatError> {
        self.verify_token(public_id, token).await
    }

    /// A conversation assigned to this staff member, open or closed (for `join`).
    pub async fn held_by(&self, public_id: &str, user_id: i64) -> Result<ConversationRow, ChatError> {
        let public_id = check_uuid("conversation", public_id)?;
        let conversation =
            self.store.conversation_by_public_id(&public_id).await?.ok_or(ChatError::UnknownConversation)?;
        if conversation.operator_id != Some(user_id) {
            return Err(ChatError::UnknownConversation);
        }
        Ok(conversation)
    }

    /// Subscribes `outbox` to an open conversation, then returns the messages after `last_seq`
    /// (joining first means nothing committed in between is missed). `last_seq` below 0 counts
    /// as 0 and above the conversation's last seq as that seq. A closed conversation (also one
    /// that closed while this ran) is not joined; its replay ends with `closed`.
    pub async fn subscribe(
        &self,
        conversation: &ConversationRow,
        outbox: &Outbox,
        last_seq: i64,
    ) -> Result<Replay, ChatError> {
        let was_open = conversation.status != "closed";
        if was_open {
            self.hub.join(conversation.id, outbox);
        }
        let after = last_seq.clamp(0, conversation.last_seq);
        let mut frames = vec![OutFrame { conversation: conversation.id, seq: Seq::Seen(after), text: "".into() }];
        frames.extend(self.messages_between(conversation, after, i64::MAX).await?);
        let closed =
            self.store.closed(conversation.id).await?.map(|(by, last_seq)| closed_frame(conversation, &by, last_seq));
        Ok(Replay { frames, closed })
    }

    /// The message events of a conversation with `after` < seq ≤ `upto`, for a connection
    /// that must not get `upto` (or later) before them.
    pub async fn missed(&self, conversation_id: i64, after: i64, upto: i64) -> Result<Vec<OutFrame>, ChatError> {
        match self.store.conversation(conversation_id).await? {
            Some(conversation) => self.messages_between(&conversation, after, upto).await,
            None => Ok(Vec::new()),
        }
    }

    async fn messages_between(
        &self,
        conversation: &ConversationRow,
        mut after: i64,
        upto: i64,
    ) -> Result<Vec<OutFrame>, ChatError> {
        let mut frames = Vec::new();
        while after < upto {
            let limit = REPLAY_PAGE.min(upto - after);
            let page = self.store.messages_after(conversation.id, after, limit).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            frames.extend(page.iter().filter(|row| row.seq <= upto).map(|row| OutFrame {
                conversation: conversation.id,
                seq: Seq::Event(row.seq),
                text: frames::message(&conversation.public_id, row).into(),
            }));
            if (page.len() as i64) < limit {
                break;
            }
        }
        Ok(frames)
    }
}
