//! What clients send: websocket text frames parsed into `ClientFrame`s, or the error to
//! answer with (docs/protocol.md describes every frame). The frames the server sends are built
//! in `realtime::frames`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::realtime::frames::VERSION;

/// Everything a client may send (visitor and staff share the envelope; each side accepts its own).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Ping {
        #[serde(default)]
        id: Option<String>,
    },
    Start {
        id: String,
        site: String,
        name: String,
        question: String,
        /// The host page the chat started on, its referrer, and the widget's visitor key.
        #[serde(default)]
        page: Option<String>,
        #[serde(default)]
        referrer: Option<String>,
        #[serde(default)]
        visitor: Option<String>,
        /// Answers to the site's extra pre-chat fields, by field key.
        #[serde(default)]
        answers: serde_json::Map<String, serde_json::Value>,
        /// The department chosen, when the site offers several.
        #[serde(default)]
        department: Option<String>,
        /// The visitor ticked the box of a site that requires consent (recorded as `chat` with
        /// the privacy-notice version); older widgets always send it.
        #[serde(default)]
        consent: bool,
        /// Optional purposes agreed to, each recorded on its own: `marketing`, `transcript`.
        #[serde(default)]
        consents: Vec<crate::service::consent::Purpose>,
    },
    Resume {
        conversation: String,
        token: String,
        last_seq: i64,
    },
    Message {
        id: String,
        #[serde(default)]
        conversation: Option<String>,
        text: String,
    },
    Typing {
        #[serde(default)]
        conversation: Option<String>,
        active: bool,
    },
    End {},
    Accept {
        id: String,
        conversation: String,
    },
    Join {
        conversation: String,
        last_seq: i64,
    },
    Close {
        conversation: String,
    },
    Status {
        status: String,
        /// Chats at once (1–20), saved for the user.
        #[serde(default)]
        max_chats: Option<i64>,
    },
    Note {
        id: String,
        conversation: String,
        text: String,
    },
    Transfer {
        id: String,
        conversation: String,
        /// A user name, or
        #[serde(default)]
        to: Option<String>,
        /// a department key.
        #[serde(default)]
        department: Option<String>,
        #[serde(default)]
        note: Option<String>,
    },
    LeaveMessage {
        id: String,
        site: String,
        name: String,
        email: String,
        text: String,
        #[serde(default)]
        department: Option<String>,
    },
    EmailTranscript {
        id: String,
        conversation: String,
        token: String,
        email: String,
    },
    Rate {
        conversation: String,
        token: String,
        rating: u8,
        #[serde(default)]
        comment: Option<String>,
    },
}

const KNOWN: [&str; 15] = [
    "note",
    "transfer",
    "email_transcript",
    "ping",
    "start",
    "resume",
    "message",
    "typing",
    "end",
    "accept",
    "join",
    "close",
    "status",
    "leave_message",
    "rate",
];

/// Just the envelope, read first so unknown types and versions get a precise error.
#[derive(Debug, Deserialize)]
struct Envelope {
    v: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<Value>,
}

/// Parses one text frame into a client frame, or the error to answer with.
pub fn parse(text: &str) -> Result<ClientFrame, (&'static str, &'static str)> {
    let envelope: Envelope = serde_json::from_str(text).map_err(|_| ("bad_json", "the frame is not a JSON object"))?;
    if envelope.v != Some(json!(VERSION)) {
        return Err(("unsupported_version", "send \"v\": 1"));
    }
    let kind = match envelope.kind {
        Some(Value::String(kind)) => kind,
        Some(_) => return Err(("bad_frame", "\"type\" must be a string")),
        None => return Err(("missing_type", "every frame needs a \"type\"")),
    };
    if !KNOWN.contains(&kind.as_str()) {
        return Err(("unknown_type", "this message type is not known"));
    }
    serde_json::from_str(text).map_err(|_| ("bad_frame", "the frame's fields are missing or not valid for its type"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_or_explain() {
        assert!(matches!(parse(r#"{"v":1,"type":"ping","id":"a"}"#), Ok(ClientFrame::Ping { id: Some(_) })));
        assert!(matches!(parse(r#"{"v":1,"type":"end"}"#), Ok(ClientFrame::End {})));
        assert_eq!(parse("nope").err().map(|e| e.0), Some("bad_json"));
        assert_eq!(parse(r#"{"type":"ping"}"#).err().map(|e| e.0), Some("unsupported_version"));
        assert_eq!(parse(r#"{"v":"1","type":"ping"}"#).err().map(|e| e.0), Some("unsupported_version"));
        assert_eq!(parse(r#"{"v":1}"#).err().map(|e| e.0), Some("missing_type"));
        assert_eq!(parse(r#"{"v":1,"type":7}"#).err().map(|e| e.0), Some("bad_frame"));
        assert_eq!(parse(r#"{"v":1,"type":"launch"}"#).err().map(|e| e.0), Some("unknown_type"));
        assert_eq!(parse(r#"{"v":1,"type":"message","id":"x"}"#).err().map(|e| e.0), Some("bad_frame"));
    }
}
