//! One connection's message order. Acks go out from the connection's own task while peers'
//! message events come through the hub, so an ack (or a later event) can be ready before an
//! event with a lower seq. The rule kept here: for every conversation the connection follows,
//! seqs go out in order and without gaps — a frame whose seq is ahead of what was sent waits
//! until the messages in between were sent, read from the store if need be (`Step::Fill`);
//! an event this connection already has is not sent twice.

use std::collections::HashMap;

use crate::realtime::hub::{OutFrame, Seq};

/// What the session does with a frame before it goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Send,
    /// Not sent (a duplicate event, a second `closed`, or a `Seen` mark).
    Skip,
    /// First send the messages with `after` < seq ≤ `upto`, then the frame.
    Fill {
        after: i64,
        upto: i64,
    },
}

#[derive(Debug, Default, Clone, Copy)]
struct Position {
    /// Every seq up to this one was sent (or the client said it had it).
    sent: i64,
    /// `closed` was sent.
    closed: bool,
}

/// Per conversation: how far this connection got. Empty (no allocation) until it follows one.
#[derive(Debug, Default)]
pub struct Order {
    conversations: HashMap<i64, Position>,
}

impl Order {
    /// What to do with `frame` now.
    pub fn plan(&self, frame: &OutFrame) -> Step {
        let Some(at) = self.conversations.get(&frame.conversation) else {
            // Not following this conversation (no start, resume, accept or join on it).
            return match frame.seq {
                Seq::Seen(_) => Step::Skip,
                _ => Step::Send,
            };
        };
        match frame.seq {
            Seq::None => Step::Send,
            Seq::Seen(_) => Step::Skip,
            Seq::Event(seq) if seq <= at.sent => Step::Skip,
            Seq::Event(seq) | Seq::Ack(seq) if seq > at.sent + 1 => Step::Fill { after: at.sent, upto: seq - 1 },
            Seq::After(_) if at.closed => Step::Skip,
            Seq::After(seq) if seq > at.sent => Step::Fill { after: at.sent, upto: seq },
            Seq::Event(_) | Seq::Ack(_) | Seq::After(_) => Step::Send,
        }
    }

    /// Records that `frame` went out (or, for a skipped one, that nothing changes but a mark).
    pub fn record(&mut self, frame: &OutFrame) {
        match frame.seq {
            Seq::None => {}
            Seq::Seen(seq) | Seq::Event(seq) => {
                let at = self.conversations.entry(frame.conversation).or_default();
                at.sent = at.sent.max(seq);
            }
            Seq::Ack(seq) => {
                if let Some(at) = self.conversations.get_mut(&frame.conversation) {
                    at.sent = at.sent.max(seq);
                }
            }
            Seq::After(seq) => {
                if let Some(at) = self.conversations.get_mut(&frame.conversation) {
                    at.sent = at.sent.max(seq);
                    at.closed = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: Seq) -> OutFrame {
        OutFrame { conversation: 7, seq, text: "{}".into() }
    }

    /// Plans and records like the session does, "reading" missed seqs from a full store.
    fn deliver(order: &mut Order, seq: Seq, out: &mut Vec<i64>) {
        let next = frame(seq);
        match order.plan(&next) {
            Step::Skip => {
                order.record(&next);
                return;
            }
            Step::Fill { after, upto } => {
                for missed in after + 1..=upto {
                    out.push(missed);
                    order.record(&frame(Seq::Event(missed)));
                }
            }
            Step::Send => {}
        }
        out.push(match seq {
            Seq::Event(s) | Seq::Ack(s) => s,
            Seq::After(_) => -1,
            Seq::None | Seq::Seen(_) => 0,
        });
        order.record(&next);
    }

    #[test]
    fn an_ack_never_overtakes_a_lower_seq() {
        let mut order = Order::default();
        let mut out = Vec::new();
        deliver(&mut order, Seq::Seen(1), &mut out);
        deliver(&mut order, Seq::Event(2), &mut out);
        // Our message got seq 5 while the peer's 3 and 4 are still on their way.
        deliver(&mut order, Seq::Ack(5), &mut out);
        deliver(&mut order, Seq::Event(3), &mut out);
        deliver(&mut order, Seq::Event(4), &mut out);
        deliver(&mut order, Seq::Event(6), &mut out);
        // A resent message is acknowledged again, with its old seq.
        deliver(&mut order, Seq::Ack(5), &mut out);
        assert_eq!(out, vec![2, 3, 4, 5, 6, 5]);
    }

    #[test]
    fn events_fill_gaps_and_closed_comes_last_once() {
        let mut order = Order::default();
        let mut out = Vec::new();
        deliver(&mut order, Seq::Seen(3), &mut out);
        deliver(&mut order, Seq::Event(2), &mut out); // before the resume point: the client has it
        deliver(&mut order, Seq::Event(6), &mut out); // 4 and 5 not yet here
        deliver(&mut order, Seq::Event(5), &mut out);
        deliver(&mut order, Seq::After(8), &mut out);
        deliver(&mut order, Seq::Event(7), &mut out);
        deliver(&mut order, Seq::After(8), &mut out);
        assert_eq!(out, vec![4, 5, 6, 7, 8, -1]);
    }

    #[test]
    fn frames_of_conversations_not_followed_pass() {
        let mut order = Order::default();
        let mut out = Vec::new();
        deliver(&mut order, Seq::Ack(9), &mut out);
        deliver(&mut order, Seq::None, &mut out);
        assert_eq!(out, vec![9, 0]);
        assert_eq!(order.plan(&frame(Seq::Ack(4))), Step::Send, "an ack alone does not start following");
    }
}
