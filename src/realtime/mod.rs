//! The live side of chat, below the transport: the hub that routes frames to connected
//! visitors and staff (bounded, per-connection outboxes) and the builders of the frames the
//! server sends (docs/protocol.md). Services publish to the hub; `ws/` only carries
//! frames between a socket and its outbox.

pub mod frames;
pub mod hub;
