//! The export as tables (one per category, first columns the record and its time), from which
//! the CSV and XLSX files are made, and as readable lines for the PDF and e-mail.

use crate::store::export::SubjectExport;

/// One category of the export.
pub struct Table {
    pub name: &'static str,
    pub title: &'static str,
    pub headers: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// Every category of the subject's data; empty categories are kept (with no rows).
pub fn tables(data: &SubjectExport) -> Vec<Table> {
    let mut chats = Vec::new();
    let mut answers = Vec::new();
    let mut messages = Vec::new();
    let mut notes = Vec::new();
    for c in &data.conversations {
        chats.push(vec![
            c.conversation.clone(),
            c.started_at.clone(),
            c.site.clone(),
            c.visitor_name.clone(),
            c.status.clone(),
            text(&c.closed_at),
            text(&c.closed_by),
            text(&c.operator),
            text(&c.department),
            text(&c.page_url),
            text(&c.referrer),
            text(&c.ip_address),
            c.rating.map(|r| r.to_string()).unwrap_or_default(),
            text(&c.rating_comment),
            text(&c.consent_withdrawn_at),
        ]);
        for a in &c.answers {
            let field = |key: &str| match a.get(key) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            answers.push(vec![c.conversation.clone(), c.started_at.clone(), field("label"), field("value")]);
        }
        for m in &c.messages {
            messages.push(vec![
                format!("{}#{}", c.conversation, m.seq),
                m.at.clone(),
                m.author.clone(),
                m.author_name.clone(),
                m.text.clone(),
            ]);
        }
        for n in &c.notes {
            notes.push(vec![c.conversation.clone(), n.at.clone(), n.author_name.clone(), n.text.clone()]);
        }
    }
    let consents = data
        .consents
        .iter()
        .map(|c| {
            vec![
                text(&c.conversation),
                c.given_at.clone(),
                c.purpose.clone(),
                c.notice_version.clone(),
                text(&c.withdrawn_at),
            ]
        })
        .collect();
    let offline = data
        .offline_requests
        .iter()
        .map(|o| {
            vec![
                o.id.to_string(),
                o.received_at.clone(),
                o.site.clone(),
                o.name.clone(),
                o.email.clone(),
                o.text.clone(),
                o.status.clone(),
                text(&o.done_at),
                text(&o.replied_at),
            ]
        })
        .collect();
    let mails = data
        .mails
        .iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                m.queued_at.clone(),
                m.kind.clone(),
                m.to.clone(),
                m.subject.clone(),
                m.status.clone(),
                text(&m.sent_at),
                m.body.clone(),
            ]
        })
        .collect();
    vec![
        Table {
            name: "chat",
            title: "Chats",
            headers: &[
                "Conversation",
                "Started",
                "Site",
                "Name",
                "Status",
                "Closed",
                "Closed by",
                "Operator",
                "Department",
                "Page",
                "Referrer",
                "IP address",
                "Rating",
                "Rating comment",
                "Consent withdrawn",
            ],
            rows: chats,
        },
        Table {
            name: "answer",
            title: "Pre-chat answers",
            headers: &["Conversation", "Started", "Question", "Answer"],
            rows: answers,
        },
        Table {
            name: "consent",
            title: "Consents",
            headers: &["Conversation", "Given", "Purpose", "Privacy notice version", "Withdrawn"],
            rows: consents,
        },
        Table {
            name: "message",
            title: "Messages",
            headers: &["Message", "Time", "Author", "Name", "Text"],
            rows: messages,
        },
        Table {
            name: "note",
            title: "Staff notes",
            headers: &["Conversation", "Time", "Written by", "Note"],
            rows: notes,
        },
        Table {
            name: "offline_message",
            title: "Offline messages",
            headers: &["Id", "Received", "Site", "Name", "E-mail", "Text", "Status", "Done", "Replied"],
            rows: offline,
        },
        Table {
            name: "mail",
            title: "E-mails",
            headers: &["Id", "Queued", "Kind", "To", "Subject", "Status", "Sent", "Body"],
            rows: mails,
        },
    ]
}

/// A line of the readable export: a heading or text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Heading(String),
    Text(String),
}

impl Line {
    pub fn as_str(&self) -> &str {
        match self {
            Line::Heading(s) | Line::Text(s) => s,
        }
    }
}

/// The export as readable lines: a heading per category, then each record's fields.
pub fn readable_lines(data: &SubjectExport) -> Vec<Line> {
    let mut lines = vec![
        Line::Heading(format!("Personal data held about data subject {}", data.subject)),
        Line::Text(format!("Exported {}", data.exported_at)),
        Line::Text(String::new()),
    ];
    for table in tables(data) {
        lines.push(Line::Heading(format!("{} ({})", table.title, table.rows.len())));
        if table.rows.is_empty() {
            lines.push(Line::Text("None.".into()));
        }
        for row in &table.rows {
            for (header, value) in table.headers.iter().zip(row) {
                if value.is_empty() {
                    continue;
                }
                let mut parts = value.split('\n');
                lines.push(Line::Text(format!("{header}: {}", parts.next().unwrap_or_default())));
                lines.extend(parts.map(|p| Line::Text(format!("    {p}"))));
            }
            lines.push(Line::Text(String::new()));
        }
    }
    lines
}

/// The readable lines as plain text lines (for e-mail).
pub fn readable(data: &SubjectExport) -> Vec<String> {
    readable_lines(data).iter().map(|l| l.as_str().to_owned()).collect()
}
