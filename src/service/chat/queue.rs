//! The waiting queue: positions, automatic routing (least busy, round robin) and chats that go
//! back to the queue when their operator disappears.

use serde_json::json;

use super::{Chat, ChatError};
use crate::config::Routing;
use crate::realtime::frames;
use crate::realtime::hub::OutFrame;
use crate::service::departments::{Assignment, Mode};
use crate::store::ConversationRow;
use crate::util::rfc3339;

/// Waiting chats listed in one staff `queue` frame (the oldest first); `total` counts them all.
pub const QUEUE_FRAME_MAX: usize = 100;

impl Chat {
    /// An operator's last connection went away: after the grace period, unless they came back
    /// (or the server is stopping), their open chats return to the queue.
    pub fn operator_left(
        &self,
        user_id: i64,
        grace: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        if self.hub.user_connected(user_id) {
            return;
        }
        let chat = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(grace) => {}
                _ = crate::shutdown::wait_for_shutdown(&mut shutdown) => return,
            }
            if chat.hub.user_connected(user_id) {
                return;
            }
            if let Err(err) = chat.requeue(user_id).await {
                tracing::error!(error = %err, user_id, "returning chats to the queue failed");
            }
        });
    }

    async fn requeue(&self, user_id: i64) -> Result<(), ChatError> {
        let ids = self.store.requeue_operator(user_id).await?;
        if ids.is_empty() {
            return Ok(());
        }
        tracing::info!(user_id, chats = ids.len(), "operator gone: chats returned to the queue");
        for id in ids {
            if let Some(c) = self.store.conversation(id).await? {
                let frame =
                    frames::frame("requeued", json!({ "conversation": c.public_id, "reason": "operator_left" }));
                self.hub.publish(id, OutFrame::plain(id, frame), None);
            }
        }
        self.queue_changed().await
    }

    /// The `mine` frame: conversations assigned to this operator and still open.
    pub async fn mine_frame(&self, user_id: i64) -> Result<String, ChatError> {
        let open = self.store.open_conversations_of(user_id).await?;
        let list: Vec<_> = open.iter().map(|c| self.summary(c)).collect();
        Ok(frames::frame("mine", json!({ "conversations": list })))
    }

    /// `{key, name}` of a conversation's department, or null.
    pub fn department_label(&self, c: &ConversationRow) -> serde_json::Value {
        c.department_id.and_then(|id| self.departments.by_id(id)).map(|d| d.label()).unwrap_or(serde_json::Value::Null)
    }

    /// How staff see a conversation in the `queue` and `mine` frames.
    pub(super) fn summary(&self, c: &ConversationRow) -> serde_json::Value {
        json!({
            "conversation": c.public_id,
            "site": c.site,
            "name": c.visitor_name,
            "since": rfc3339(c.created_at),
            "department": self.department_label(c),
        })
    }

    /// The operator's chat limit: their own choice, else `chat.max_chats`.
    pub async fn limit_of(&self, user_id: i64) -> Result<i64, ChatError> {
        Ok(self.store.chat_limit(user_id).await?.unwrap_or(self.max_chats))
    }

    /// Routes waiting chats after an operator arrived or became available; tells everyone
    /// about the queue only when something moved.
    pub async fn reroute(&self) -> Result<(), ChatError> {
        if self.route_waiting().await? { self.publish_queue().await } else { Ok(()) }
    }

    /// Automatic routing: hands waiting chats (oldest first) to available operators below
    /// their limit — members of the chat's department by its mode, or anyone by `chat.routing`
    /// for chats without one. Departments with manual assignment are left to their members.
    /// True when any chat was assigned.
    async fn route_waiting(&self) -> Result<bool, ChatError> {
        let mut last = self.dispatch.lock().await;
        let waiting = self.store.queued_conversations().await?;
        if waiting.is_empty() {
            return Ok(false);
        }
        let mut routed = false;
        let available = self.hub.available_users();
        // Team-scoped members take only their own departments' chats.
        let scoped: Vec<i64> = self.hub.viewers().iter().filter(|v| v.scoped()).map(|v| v.user_id).collect();
        let mut counts = self.store.active_counts().await?;
        let limits = self.store.chat_limits().await?;
        for conversation in waiting {
            let department = conversation.department_id.and_then(|id| self.departments.by_id(id));
            let round_robin = match &department {
                Some(d) if d.assignment == Assignment::Manual => continue,
                Some(d) => d.routing == Mode::RoundRobin,
                None if self.routing == Routing::Manual => continue,
                None => self.routing == Routing::RoundRobin,
            };
            let load = |user: &i64| counts.get(user).copied().unwrap_or(0);
            let candidates: Vec<i64> = available
                .iter()
                .copied()
                .filter(|u| department.as_ref().map_or(!scoped.contains(u), |d| d.has_member(*u)))
                .filter(|u| load(u) < limits.get(u).copied().unwrap_or(self.max_chats))
                .collect();
            let previous = last.get(&conversation.department_id).copied().unwrap_or(0);
            let chosen = if round_robin {
                candidates.iter().copied().find(|u| *u > previous).or(candidates.first().copied())
            } else {
                candidates.iter().copied().min_by_key(|u| (load(u), *u))
            };
            let Some(user) = chosen else { continue };
            if !self.store.accept_conversation(conversation.id, user).await? {
                continue;
            }
            last.insert(conversation.department_id, user);
            routed = true;
            *counts.entry(user).or_insert(0) += 1;
            let Some(c) = self.store.conversation(conversation.id).await? else { continue };
            tracing::info!(conversation = %c.public_id, user_id = user, "conversation routed");
            let told = frames::frame("accepted", json!({ "conversation": c.public_id, "operator": c.operator_name }));
            self.hub.publish(c.id, OutFrame::plain(c.id, told), None);
            let assigned = frames::frame(
                "assigned",
                json!({ "conversation": c.public_id, "name": c.visitor_name, "site": c.site, "department": self.department_label(&c) }),
            );
            self.record_assigned(user, &c).await?;
            self.hub.publish_user(user, OutFrame::plain(0, assigned));
        }
        Ok(routed)
    }

    /// After the queue or an operator's capacity changed: route what can be routed, then staff
    /// get the new queue and each waiting visitor their position.
    pub async fn queue_changed(&self) -> Result<(), ChatError> {
        self.route_waiting().await?;
        self.publish_queue().await
    }

    async fn publish_queue(&self) -> Result<(), ChatError> {
        let mut told = self.told_positions.lock().await;
        let waiting = self.store.queued_conversations().await?;
        self.publish_queue_frames(&waiting).await?;
        // Positions count within each department's own queue. Only the visitors whose place
        // moved are told: a chat joining the end of the queue moves nobody else, so a burst of
        // starts costs one frame each instead of one per waiting visitor.
        let mut ahead: std::collections::HashMap<Option<i64>, usize> = std::collections::HashMap::new();
        let mut now = std::collections::HashMap::with_capacity(waiting.len());
        for c in &waiting {
            let position = ahead.entry(c.department_id).or_insert(0);
            *position += 1;
            now.insert(c.id, *position);
            if told.get(&c.id) == Some(position) {
                continue;
            }
            let position = frames::frame("queue", json!({ "conversation": c.public_id, "position": *position }));
            self.hub.publish(c.id, OutFrame::plain(c.id, position), None);
        }
        *told = now;
        drop(told);
        self.metrics.set_chats_active(self.store.count_open_conversations().await?);
        Ok(())
    }
}
