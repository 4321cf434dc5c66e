//! Websocket frames (protocol version 1): JSON objects carrying `"v": 1` and `"type"`.
//! See docs/protocol.md. The chat messages proper arrive with the live-chat work.

use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;

/// What a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Ping {
        #[serde(default)]
        id: Option<String>,
    },
}

/// Just the envelope, read first so unknown types and versions get a precise error.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub v: Option<u32>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// What the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Hello { v: u32, role: &'a str, max_frame_bytes: usize },
    Pong { v: u32, id: Option<String> },
    Error { v: u32, code: &'a str, message: &'a str },
}

/// Parses one text frame into a client frame, or the error frame to answer with.
pub fn parse(text: &str) -> Result<ClientFrame, (&'static str, &'static str)> {
    let envelope: Envelope = serde_json::from_str(text).map_err(|_| ("bad_json", "the frame is not a JSON object"))?;
    if envelope.v != Some(VERSION) {
        return Err(("unsupported_version", "send \"v\": 1"));
    }
    let kind = envelope.kind.ok_or(("missing_type", "every frame needs a \"type\""))?;
    serde_json::from_str(text).map_err(|_| match kind.as_str() {
        "ping" => ("bad_frame", "the frame's fields are not valid for its type"),
        _ => ("unknown_type", "this message type is not known"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_or_explain() {
        assert!(matches!(parse(r#"{"v":1,"type":"ping","id":"a"}"#), Ok(ClientFrame::Ping { id: Some(_) })));
        assert_eq!(parse("nope").err().map(|e| e.0), Some("bad_json"));
        assert_eq!(parse(r#"{"type":"ping"}"#).err().map(|e| e.0), Some("unsupported_version"));
        assert_eq!(parse(r#"{"v":1}"#).err().map(|e| e.0), Some("missing_type"));
        assert_eq!(parse(r#"{"v":1,"type":"launch"}"#).err().map(|e| e.0), Some("unknown_type"));
    }
}
