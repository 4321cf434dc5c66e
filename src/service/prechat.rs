//! Extra pre-chat form fields a site asks for (beyond name and question), and the checks on the
//! visitor's answers: required, e-mail and phone shapes, select options, lengths.

use serde::{Deserialize, Serialize};

use crate::domain::Email;

/// Most extra fields a site may have.
pub const MAX_FIELDS: usize = 10;
const MAX_ANSWER_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Email,
    Tel,
    Select,
}

/// One extra field of a site's pre-chat form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Stable name of the answer, 1–32 of a–z, 0–9 and `_`.
    pub key: String,
    /// Label in English, and optionally in Welsh.
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_cy: Option<String>,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// Choices for `select` fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// Checks a site's field list; the problem in words otherwise.
pub fn check_fields(fields: &[Field]) -> Result<(), String> {
    if fields.len() > MAX_FIELDS {
        return Err(format!("at most {MAX_FIELDS} extra fields"));
    }
    let mut keys = Vec::new();
    for field in fields {
        let key_ok = !field.key.is_empty()
            && field.key.len() <= 32
            && field.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok || matches!(field.key.as_str(), "name" | "question") {
            return Err(format!("field key `{}` must be 1–32 of a–z, 0–9, _ and not name or question", field.key));
        }
        if keys.contains(&field.key) {
            return Err(format!("field key `{}` is used twice", field.key));
        }
        keys.push(field.key.clone());
        let label_ok = |l: &str| !l.trim().is_empty() && l.chars().count() <= 100;
        if !label_ok(&field.label) || field.label_cy.as_deref().is_some_and(|l| !label_ok(l)) {
            return Err(format!("field `{}` needs a label of 1–100 characters", field.key));
        }
        let options_ok = field.options.len() <= 50 && field.options.iter().all(|o| label_ok(o));
        match field.kind {
            FieldKind::Select if field.options.is_empty() || !options_ok => {
                return Err(format!("select field `{}` needs 1–50 options of 1–100 characters", field.key));
            }
            FieldKind::Select => {}
            _ if !field.options.is_empty() => return Err(format!("only select fields have options (`{}`)", field.key)),
            _ => {}
        }
    }
    Ok(())
}

/// One answer as stored and shown to operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub key: String,
    pub label: String,
    pub value: String,
}

/// Checks the visitor's answers against the site's fields; returns them in field order.
pub fn check_answers(
    fields: &[Field],
    answers: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<Answer>, String> {
    if let Some(unknown) = answers.keys().find(|k| !fields.iter().any(|f| &f.key == *k)) {
        return Err(format!("`{unknown}` is not a field of this form"));
    }
    let mut out = Vec::new();
    for field in fields {
        let value = match answers.get(&field.key) {
            None | Some(serde_json::Value::Null) => "",
            Some(serde_json::Value::String(value)) => value.trim(),
            // A number or a list is not silently dropped: the widget sends text only.
            Some(_) => return Err(format!("{} must be text", field.label)),
        };
        if value.is_empty() {
            if field.required {
                return Err(format!("{} is required", field.label));
            }
            continue;
        }
        if value.chars().count() > MAX_ANSWER_CHARS {
            return Err(format!("{} is too long", field.label));
        }
        let valid = match field.kind {
            FieldKind::Text => true,
            FieldKind::Email => Email::parse(value).is_ok(),
            FieldKind::Tel => {
                let digits = value.chars().filter(char::is_ascii_digit).count();
                (7..=15).contains(&digits) && value.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
            }
            FieldKind::Select => field.options.iter().any(|o| o == value),
        };
        if !valid {
            return Err(format!("{} is not valid", field.label));
        }
        out.push(Answer { key: field.key.clone(), label: field.label.clone(), value: value.to_owned() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<Field> {
        serde_json::from_value(json!([
            { "key": "email", "label": "E-mail", "type": "email", "required": true },
            { "key": "phone", "label": "Phone", "type": "tel" },
            { "key": "topic", "label": "Topic", "type": "select", "options": ["Bins", "Council tax"] }
        ]))
        .expect("fields")
    }

    fn answers(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn answers_are_checked_against_the_fields() {
        let f = fields();
        assert!(check_fields(&f).is_ok());
        let ok = check_answers(&f, &answers(json!({ "email": "a@example.org", "topic": "Bins" }))).expect("valid");
        assert_eq!(ok.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(), ["email", "topic"]);
        for (bad, why) in [
            (json!({}), "required"),
            (json!({ "email": "nope" }), "not valid"),
            (json!({ "email": "a@example.org", "phone": "call me" }), "not valid"),
            (json!({ "email": "a@example.org", "topic": "Parking" }), "not valid"),
            (json!({ "email": "a@example.org", "colour": "red" }), "not a field"),
            (json!({ "email": "a@example.org", "phone": 5551234 }), "must be text"),
        ] {
            let err = check_answers(&f, &answers(bad.clone())).expect_err("invalid");
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn field_lists_are_checked() {
        let mut f = fields();
        f[1].key = "email".into();
        assert!(check_fields(&f).unwrap_err().contains("twice"));
        let mut f = fields();
        f[2].options.clear();
        assert!(check_fields(&f).unwrap_err().contains("options"));
        let mut f = fields();
        f[0].key = "name".into();
        assert!(check_fields(&f).is_err());
    }
}
