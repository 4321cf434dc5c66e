//! The frames the server sends (protocol version 1): JSON objects carrying `"v": 1` and
//! `"type"`, built here for services and transports alike. docs/protocol.md describes every
//! frame with an example.

use serde_json::{Value, json};

use crate::store::MessageRow;
use crate::util::rfc3339;

pub const VERSION: u32 = 1;

/// A frame as JSON text with the version added.
pub fn frame(kind: &str, mut body: Value) -> String {
    if let Value::Object(map) = &mut body {
        map.insert("v".into(), json!(VERSION));
        map.insert("type".into(), json!(kind));
    }
    body.to_string()
}

pub fn error(code: &str, message: &str) -> String {
    frame("error", json!({ "code": code, "message": message }))
}

pub fn message(conversation: &str, row: &MessageRow) -> String {
    frame(
        "message",
        json!({
            "conversation": conversation,
            "seq": row.seq,
            "id": row.client_id,
            "author": row.author,
            "name": row.author_name,
            "text": row.body,
            "at": rfc3339(row.created_at),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_version_and_type() {
        let text = frame("ack", json!({ "id": "a", "seq": 3 }));
        let value: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["v"], 1);
        assert_eq!(value["type"], "ack");
        assert_eq!(value["seq"], 3);
    }
}
