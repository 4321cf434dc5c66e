//! In-memory fan-out: rooms (one per conversation) and the staff lobby. Each connection has one
//! bounded outbox; a connection that falls behind is kicked, never buffered without limit.
//! Kept behind this small API so a cross-node transport (NATS) can replace it later.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Notify, mpsc};

use crate::domain::scope::Scope;

/// Frames a connection may have queued before it counts as a slow consumer.
pub const OUTBOX_FRAMES: usize = 256;

/// A serialized server frame, with the message position it carries (see `Seq`).
#[derive(Debug, Clone)]
pub struct OutFrame {
    pub conversation: i64,
    pub seq: Seq,
    pub text: Arc<str>,
}

/// Where a frame stands in its conversation's message order. A connection sends the seqs of a
/// conversation it follows in order and without gaps (session.rs fills a gap from the store
/// first), so "the highest seq seen" is always a safe point to resume from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seq {
    /// Not about messages (typing, queue, accepted, …): sent as it comes.
    None,
    /// The message event with this seq: sent once per connection, after every lower seq.
    Event(i64),
    /// The ack of this connection's own message with this seq: sent after every lower seq, and
    /// always (a resent message is acknowledged again).
    Ack(i64),
    /// Sent after every message up to and including this seq (the `closed` frame).
    After(i64),
    /// Not sent: the client has every message up to this seq (the point it started, resumed or
    /// joined from).
    Seen(i64),
}

impl OutFrame {
    /// A frame that is not about message order.
    pub fn plain(conversation: i64, text: String) -> OutFrame {
        OutFrame { conversation, seq: Seq::None, text: text.into() }
    }
}

/// The sending side of one connection's outbox.
#[derive(Clone)]
pub struct Outbox {
    pub conn: u64,
    /// A staff connection (gets internal notes); visitors' connections do not.
    pub staff: bool,
    tx: mpsc::Sender<OutFrame>,
    kicked: Arc<Notify>,
    revoked: Arc<Notify>,
}

impl Outbox {
    /// Queues a frame; false when the connection is gone or was just kicked for being slow.
    fn push(&self, frame: OutFrame) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.kicked.notify_one();
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

/// The receiving side, owned by the connection's task.
pub struct Inbox {
    pub rx: mpsc::Receiver<OutFrame>,
    pub kicked: Arc<Notify>,
    /// Signalled when the staff member's session ended (sign-out): the socket must close.
    pub revoked: Arc<Notify>,
}

#[derive(Default)]
struct Rooms {
    rooms: HashMap<i64, Vec<Outbox>>,
    lobby: Vec<Outbox>,
    /// Staff connections: connection → (user id, available to take chats).
    presence: HashMap<u64, (i64, bool)>,
    /// Staff connections: connection → who is watching (for the access log and team scope).
    viewers: HashMap<u64, Viewer>,
}

/// A staff member watching the lobby: user id, user name, and their role's team scope (one
/// limited to its own teams gets its own queue frames, not the lobby's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: i64,
    pub username: Arc<str>,
    pub scope: Scope,
}

impl Viewer {
    /// Whether the role is limited to its own teams.
    pub fn scoped(&self) -> bool {
        self.scope == Scope::OwnTeams
    }
}

#[derive(Default)]
pub struct Hub {
    inner: Mutex<Rooms>,
    next_conn: AtomicU64,
}

impl Hub {
    pub fn connect(&self, staff: bool) -> (Outbox, Inbox) {
        let (tx, rx) = mpsc::channel(OUTBOX_FRAMES);
        let kicked = Arc::new(Notify::new());
        let revoked = Arc::new(Notify::new());
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let outbox = Outbox { conn, staff, tx, kicked: Arc::clone(&kicked), revoked: Arc::clone(&revoked) };
        (outbox, Inbox { rx, kicked, revoked })
    }

    /// Sends to the staff members of `room` only (internal notes), except connection `except`.
    pub fn publish_staff(&self, room: i64, frame: OutFrame, except: Option<u64>) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some(members) = inner.rooms.get_mut(&room)
        {
            members.retain(|m| !m.staff || Some(m.conn) == except || m.push(frame.clone()));
        }
    }

    /// Sends to every connection of one staff member.
    pub fn publish_user(&self, user_id: i64, frame: OutFrame) {
        if let Ok(inner) = self.inner.lock() {
            for member in &inner.lobby {
                if inner.presence.get(&member.conn).is_some_and(|(u, _)| *u == user_id) {
                    member.push(frame.clone());
                }
            }
        }
    }

    /// Closes every websocket of one staff member (their session ended).
    pub fn revoke_user(&self, user_id: i64) {
        if let Ok(inner) = self.inner.lock() {
            for member in &inner.lobby {
                if inner.presence.get(&member.conn).is_some_and(|(u, _)| *u == user_id) {
                    member.revoked.notify_one();
                }
            }
        }
    }

    /// Takes every connection of one staff member out of a room (after a transfer).
    pub fn leave_user(&self, room: i64, user_id: i64) {
        if let Ok(mut inner) = self.inner.lock() {
            let conns: Vec<u64> = inner.presence.iter().filter(|(_, (u, _))| *u == user_id).map(|(c, _)| *c).collect();
            if let Some(members) = inner.rooms.get_mut(&room) {
                members.retain(|m| !conns.contains(&m.conn));
            }
        }
    }

    pub fn join(&self, room: i64, outbox: &Outbox) {
        if let Ok(mut inner) = self.inner.lock() {
            let members = inner.rooms.entry(room).or_default();
            if !members.iter().any(|m| m.conn == outbox.conn) {
                members.push(outbox.clone());
            }
        }
    }

    /// A staff connection joins the lobby, available for chats.
    pub fn join_lobby(&self, outbox: &Outbox, viewer: Viewer) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.lobby.push(outbox.clone());
            inner.presence.insert(outbox.conn, (viewer.user_id, true));
            inner.viewers.insert(outbox.conn, viewer);
        }
    }

    /// One staff member in the lobby, if connected.
    pub fn viewer(&self, user_id: i64) -> Option<Viewer> {
        let inner = self.inner.lock().ok()?;
        inner.viewers.values().find(|v| v.user_id == user_id).cloned()
    }

    /// Distinct staff members in the lobby, by user id.
    pub fn viewers(&self) -> Vec<Viewer> {
        self.inner
            .lock()
            .map(|inner| {
                let mut list: Vec<Viewer> = inner.viewers.values().cloned().collect();
                list.sort_by_key(|v| v.user_id);
                list.dedup_by_key(|v| v.user_id);
                list
            })
            .unwrap_or_default()
    }

    /// Marks a staff connection available (online) or not (away).
    pub fn set_available(&self, conn: u64, available: bool) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some(entry) = inner.presence.get_mut(&conn)
        {
            entry.1 = available;
        }
    }

    /// Whether the staff member has any connection open (available or away).
    pub fn user_connected(&self, user_id: i64) -> bool {
        self.inner.lock().map(|inner| inner.presence.values().any(|(u, _)| *u == user_id)).unwrap_or(false)
    }

    /// Distinct staff members connected and available, by user id.
    pub fn available_users(&self) -> Vec<i64> {
        self.inner
            .lock()
            .map(|inner| {
                let mut users: Vec<i64> = inner.presence.values().filter(|(_, on)| *on).map(|(u, _)| *u).collect();
                users.sort_unstable();
                users.dedup();
                users
            })
            .unwrap_or_default()
    }

    pub fn operators_available(&self) -> usize {
        self.available_users().len()
    }

    /// Removes a connection from every room and the lobby.
    pub fn disconnect(&self, conn: u64) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.lobby.retain(|m| m.conn != conn);
            inner.presence.remove(&conn);
            inner.viewers.remove(&conn);
            inner.rooms.retain(|_, members| {
                members.retain(|m| m.conn != conn);
                !members.is_empty()
            });
        }
    }

    pub fn close_room(&self, room: i64) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.rooms.remove(&room);
        }
    }

    /// Sends to every member of `room` except connection `except`; drops dead members.
    pub fn publish(&self, room: i64, frame: OutFrame, except: Option<u64>) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some(members) = inner.rooms.get_mut(&room)
        {
            members.retain(|m| Some(m.conn) == except || m.push(frame.clone()));
        }
    }

    /// Sends to every connected staff member whose role reaches all teams (team-scoped members
    /// get their own frames by `publish_user`).
    pub fn publish_lobby(&self, frame: OutFrame) {
        if let Ok(mut inner) = self.inner.lock() {
            let Rooms { lobby, viewers, presence, .. } = &mut *inner;
            let mut gone = Vec::new();
            lobby.retain(|m| {
                viewers.get(&m.conn).is_some_and(Viewer::scoped) || m.push(frame.clone()) || {
                    gone.push(m.conn);
                    false
                }
            });
            for conn in gone {
                presence.remove(&conn);
                viewers.remove(&conn);
            }
        }
    }

    #[cfg(test)]
    fn room_size(&self, room: i64) -> usize {
        self.inner.lock().map(|inner| inner.rooms.get(&room).map_or(0, Vec::len)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: i64) -> OutFrame {
        OutFrame { conversation: 1, seq: Seq::Event(seq), text: Arc::from("{}") }
    }

    #[tokio::test]
    async fn publish_skips_the_sender_and_kicks_slow_consumers() {
        let hub = Hub::default();
        let (a, mut a_in) = hub.connect(false);
        let (b, mut b_in) = hub.connect(false);
        hub.join(1, &a);
        hub.join(1, &a);
        hub.join(1, &b);
        assert_eq!(hub.room_size(1), 2, "joining twice is one membership");
        hub.publish(1, frame(1), Some(a.conn));
        assert_eq!(b_in.rx.recv().await.map(|f| f.seq), Some(Seq::Event(1)));
        assert!(a_in.rx.try_recv().is_err(), "the sender does not get its own frame");
        for seq in 0..OUTBOX_FRAMES as i64 {
            hub.publish(1, frame(seq), None);
        }
        // b keeps reading, a does not: a's outbox is full now and the next frame kicks it.
        while b_in.rx.try_recv().is_ok() {}
        hub.publish(1, frame(999), None);
        tokio::time::timeout(std::time::Duration::from_secs(1), a_in.kicked.notified()).await.expect("a was kicked");
        assert_eq!(hub.room_size(1), 1, "the slow consumer left the room");
        hub.disconnect(b.conn);
        assert_eq!(hub.room_size(1), 0);
    }
}
