//! Team scope and the access log in the staff lobby: which waiting chats each staff member's
//! `queue` frame lists (a team-scoped role sees only its own departments' chats), and the
//! access-log rows for the visitors those frames show (each viewer × chat recorded once).

use std::collections::HashSet;

use serde_json::json;

use super::{Chat, ChatError, QUEUE_FRAME_MAX};
use crate::domain::Reach;
use crate::realtime::frames;
use crate::realtime::hub::{OutFrame, Viewer};
use crate::store::ConversationRow;
use crate::store::access::view;

impl Chat {
    /// What a lobby viewer reaches now.
    pub fn reach_of(&self, viewer: &Viewer) -> Reach {
        self.departments.reach(viewer.scope, viewer.user_id)
    }

    /// Whether `user_id` (connected) may be handed `conversation`: false for a team-scoped
    /// member outside its department.
    pub(super) fn may_take(&self, user_id: i64, conversation: &ConversationRow) -> bool {
        self.hub.viewer(user_id).is_none_or(|v| self.reach_of(&v).allows(conversation.department_id))
    }

    /// The staff `queue` frame: the longest-waiting `QUEUE_FRAME_MAX` of `visible` and how
    /// many wait in all, so the frame stays bounded.
    fn queue_frame_of(&self, visible: &[&ConversationRow]) -> String {
        let list: Vec<_> = visible.iter().take(QUEUE_FRAME_MAX).map(|c| self.summary(c)).collect();
        frames::frame("queue", json!({ "waiting": list, "total": visible.len() }))
    }

    /// The `queue` frame one viewer gets when they connect (recorded in the access log).
    pub async fn queue_frame_for(&self, viewer: &Viewer) -> Result<String, ChatError> {
        let waiting = self.store.queued_conversations().await?;
        let reach = self.reach_of(viewer);
        let visible: Vec<&ConversationRow> = waiting.iter().filter(|c| reach.allows(c.department_id)).collect();
        self.record_shown(&waiting, &[(viewer, visible.as_slice())]).await?;
        Ok(self.queue_frame_of(&visible))
    }

    /// Sends the queue to the lobby: one frame for everyone who reaches all teams, one per
    /// team-scoped member with their departments' chats only. The views are recorded first.
    pub(super) async fn publish_queue_frames(&self, waiting: &[ConversationRow]) -> Result<(), ChatError> {
        let viewers = self.hub.viewers();
        let all: Vec<&ConversationRow> = waiting.iter().collect();
        let scoped: Vec<(&Viewer, Vec<&ConversationRow>)> = viewers
            .iter()
            .filter(|v| v.scoped())
            .map(|v| {
                let reach = self.reach_of(v);
                (v, waiting.iter().filter(|c| reach.allows(c.department_id)).collect())
            })
            .collect();
        let mut shown: Vec<(&Viewer, &[&ConversationRow])> =
            viewers.iter().filter(|v| !v.scoped()).map(|v| (v, all.as_slice())).collect();
        shown.extend(scoped.iter().map(|(v, list)| (*v, list.as_slice())));
        self.record_shown(waiting, &shown).await?;
        self.hub.publish_lobby(OutFrame::plain(0, self.queue_frame_of(&all)));
        for (viewer, visible) in &scoped {
            let frame = self.queue_frame_of(visible);
            self.hub.publish_user(viewer.user_id, OutFrame::plain(0, frame));
        }
        Ok(())
    }

    /// One access-log statement for the visitors newly shown to each viewer (a chat that stays
    /// in the queue is recorded once per viewer, not on every queue change).
    async fn record_shown(
        &self,
        waiting: &[ConversationRow],
        shown: &[(&Viewer, &[&ConversationRow])],
    ) -> Result<(), ChatError> {
        let mut seen = self.queue_shown.lock().await;
        let still: HashSet<i64> = waiting.iter().map(|c| c.id).collect();
        seen.retain(|(_, conversation)| still.contains(conversation));
        let mut pairs = Vec::new();
        for (viewer, list) in shown {
            for c in list.iter().take(QUEUE_FRAME_MAX) {
                if let Some(subject) = c.subject_id
                    && seen.insert((viewer.user_id, c.id))
                {
                    pairs.push((viewer.username.to_string(), subject));
                }
            }
        }
        drop(seen);
        Ok(self.store.record_pairs(view::QUEUE, pairs).await?)
    }

    /// Records that a chat routed or handed to `user_id` showed them the visitor.
    pub(super) async fn record_assigned(&self, user_id: i64, conversation: &ConversationRow) -> Result<(), ChatError> {
        let Some(subject) = conversation.subject_id else { return Ok(()) };
        let Some(viewer) = self.hub.viewer(user_id) else { return Ok(()) };
        Ok(self.store.record_views(&viewer.username, view::ASSIGNED, [subject]).await?)
    }
}
