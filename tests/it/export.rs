//! Subject access export: two people chat (with pre-chat answers, an operator's reply, a rating
//! comment and a staff note), leave an offline message and get a transcript mail; the export of
//! one of them in JSON, CSV, XLSX and PDF (read back with serde_json, an RFC 4180 parser,
//! calamine and `pdftotext`) holds all of their data and nothing of the other's.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat_support::{PASSWORD, operator, uuid, visitor};
use crate::cli::{parley, text};
use crate::gdpr::{Staff, chat, leave_message, spawn};
use crate::harness::TestApp;

/// A person's values that must show in their export (and only in theirs).
struct Person {
    name: &'static str,
    email: &'static str,
    phone: &'static str,
    markers: [&'static str; 4],
}

const NIA: Person = Person {
    name: "Nia Jones",
    email: "nia@example.org",
    phone: "07700 900123",
    markers: ["NiaReplyMarker", "NiaRatingMarker", "NiaNoteMarker", "Nia Jones left a message"],
};
const HUW: Person = Person {
    name: "Huw Evans",
    email: "huw@example.org",
    phone: "07700 900999",
    markers: ["HuwReplyMarker", "HuwRatingMarker", "HuwNoteMarker", "Huw Evans left a message"],
};

/// Seeds one person: a chat through the widget (answers, transcript mail, offline message), then
/// an operator's reply, a rating with a comment and a staff note; returns their subject id.
async fn seed(app: &TestApp, person: &Person, olive: i64) -> i64 {
    let mut ws = visitor(app).await;
    let public_id = chat(&mut ws, person.name, person.email, person.phone).await;
    leave_message(&mut ws, person.name, person.email).await;
    let store = &app.app.state().store;
    let conversation = store.conversation_by_public_id(&public_id).await.expect("read").expect("chat");
    let reply = parley::store::NewMessage {
        conversation_id: conversation.id,
        client_id: uuid(),
        author: "operator",
        author_user_id: Some(olive),
        author_name: "Olive".into(),
        body: person.markers[0].into(),
    };
    store.append_message(reply).await.expect("reply").expect("open");
    store.rate_conversation(conversation.id, 4, Some(person.markers[1].into())).await.expect("rate");
    store.add_note(conversation.id, uuid(), olive, "Olive".into(), person.markers[2].into()).await.expect("note");
    let (subject, id) = (conversation.subject_id.expect("subject"), conversation.id);
    store
        .write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO consents (subject_id, conversation_id, purpose, notice_version, given_at)
                             VALUES (?1, ?2, 'chat', 'notice-v1', 0)",
                )
                .bind(subject)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map(|_| ())
            })
        })
        .await
        .expect("consent");
    conversation.subject_id.expect("subject")
}

fn all_of(person: &Person) -> Vec<String> {
    let mut values: Vec<String> = [person.name, person.email, person.phone].map(str::to_owned).into();
    values.push(format!("{} asks about bins", person.name));
    values.extend(person.markers.map(str::to_owned));
    values
}

/// Every value of Nia's is in `text` (whitespace compared loosely), none of Huw's.
fn only_mine(what: &str, text: &str) {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for value in all_of(&NIA) {
        assert!(flat.contains(&value), "{what} lacks {value:?}: {flat}");
    }
    for value in all_of(&HUW).into_iter().chain(["Huw".to_owned(), "huw@".to_owned()]) {
        assert!(!flat.contains(&value), "{what} holds {value:?} of someone else");
    }
}

/// RFC 4180 records (quoted fields may hold commas, quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted && field.is_empty() && record.is_empty(), "the CSV ends with CRLF after a whole record");
    records
}

async fn download(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String, String, Vec<u8>) {
    let response = app.client.get(app.staff(path)).header("cookie", cookie).send().await.expect("request");
    let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (status, kind, disposition) = (response.status(), header("content-type"), header("content-disposition"));
    (status, kind, disposition, response.bytes().await.expect("body").to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_all_of_a_persons_data_and_nothing_of_anyone_else() {
    let app = spawn(|_| {}).await;
    let _online = operator(&app, "olive").await;
    let store = &app.app.state().store;
    let olive = store.user_by_name("olive").await.expect("read").expect("olive").id;
    let nia = seed(&app, &NIA, olive).await;
    seed(&app, &HUW, olive).await;
    let dpo = Staff::new(&app, "dora", "dpo").await;
    app.add_user("ada", "administrator", PASSWORD).await;
    let (ada, _) = app.login("ada", PASSWORD).await;
    let (olive_cookie, _) = app.login("olive", PASSWORD).await;
    let path = |format: &str| format!("/api/v1/gdpr/subjects/{nia}/export?format={format}");

    // JSON: one document, structured by category.
    let (status, kind, disposition, body) = download(&app, &ada, &path("json")).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/json"));
    assert_eq!(disposition, format!("attachment; filename=\"parley-subject-{nia}.json\""));
    let doc: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(doc["subject"], nia);
    let chat = &doc["conversations"][0];
    assert_eq!(chat["messages"].as_array().map(Vec::len), Some(2), "{doc}");
    assert_eq!((chat["rating"].as_i64(), chat["rating_comment"].as_str()), (Some(4), Some(NIA.markers[1])));
    assert_eq!(chat["notes"][0]["text"], NIA.markers[2]);
    assert_eq!(chat["ip_address"], "127.0.0.0/24", "as kept: truncated");
    assert_eq!(chat["answers"].as_array().map(Vec::len), Some(2), "e-mail and phone");
    assert_eq!(doc["offline_requests"][0]["email"], NIA.email);
    // The seeded consent, then the one the transcript request recorded.
    assert_eq!(
        (doc["consents"][0]["notice_version"].as_str(), doc["consents"].as_array().map(Vec::len)),
        (Some("notice-v1"), Some(2))
    );
    assert_eq!(doc["consents"][1]["purpose"], "transcript");
    assert_eq!(
        (doc["mails"][0]["kind"].as_str(), doc["mails"][0]["to"].as_str()),
        (Some("transcript"), Some(NIA.email))
    );
    only_mine("JSON", &String::from_utf8_lossy(&body));

    // CSV: category, record, time, field, value.
    let (status, kind, _, body) = download(&app, &ada, &path("CSV")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let records = parse_csv(std::str::from_utf8(&body).expect("UTF-8"));
    assert_eq!(records[0], ["category", "record", "time", "field", "value"]);
    assert!(records.iter().all(|r| r.len() == 5), "five fields each");
    let categories: std::collections::BTreeSet<&str> = records[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        categories,
        ["answer", "chat", "consent", "mail", "message", "note", "offline_message"].into_iter().collect()
    );
    only_mine("CSV", &records.iter().map(|r| r.join(" | ")).collect::<Vec<_>>().join("\n"));

    // XLSX: a sheet per category.
    let (status, _, _, body) = download(&app, &ada, &path("xlsx")).await;
    assert_eq!(status, StatusCode::OK);
    use calamine::Reader;
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(body)).expect("an XLSX workbook");
    let sheets = workbook.sheet_names();
    assert_eq!(
        sheets,
        ["Chats", "Pre-chat answers", "Consents", "Messages", "Staff notes", "Offline messages", "E-mails"]
    );
    let mut cells = String::new();
    for sheet in sheets {
        let range = workbook.worksheet_range(&sheet).expect("sheet");
        for row in range.rows() {
            cells.extend(row.iter().map(|c| format!("{c} | ")));
            cells.push('\n');
        }
    }
    only_mine("XLSX", &cells);

    // PDF: its text as pdftotext reads it.
    let (status, kind, _, body) = download(&app, &ada, &path("pdf")).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/pdf"));
    let file = app.dir.path().join("export-test.pdf");
    std::fs::write(&file, &body).expect("write");
    let pdf = std::process::Command::new("pdftotext").arg(&file).arg("-").output().expect("pdftotext (poppler-utils)");
    assert!(pdf.status.success() && pdf.stderr.is_empty(), "{}", String::from_utf8_lossy(&pdf.stderr));
    let pdf_text = String::from_utf8_lossy(&pdf.stdout);
    assert!(pdf_text.contains(&format!("data subject {nia}")), "{pdf_text}");
    only_mine("PDF", &pdf_text);

    // Who may, and what is refused.
    let (status, _, _, _) = download(&app, &olive_cookie, &path("json")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "operators may not export");
    let (status, _, _, body) = download(&app, &ada, "/api/v1/gdpr/subjects/999999/export?format=json").await;
    let error: Value = serde_json::from_slice(&body).expect("error JSON");
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_subject")));
    for bad in [path("docx"), format!("/api/v1/gdpr/subjects/{nia}/export")] {
        let (status, _, _, body) = download(&app, &ada, &bad).await;
        let error: Value = serde_json::from_slice(&body).expect("error JSON");
        assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_format")), "{bad}");
        assert!(error["message"].as_str().unwrap_or_default().contains("json, csv, xlsx or pdf"), "{error}");
    }

    // By e-mail: queued in the outbox to her own address only.
    let email = format!("/api/v1/gdpr/subjects/{nia}/export/email");
    let (status, body) =
        dpo.call(&app, Method::POST, &email, Some(json!({ "format": "json", "email": HUW.email }))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("not_their_address")), "{body}");
    let (status, queued) = dpo.call(&app, Method::POST, &email, Some(json!({ "format": "json" }))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let mail = store.recent_mail(10).await.expect("outbox").into_iter().find(|m| m.kind == "export").expect("mail");
    assert_eq!((mail.id, mail.to_addr.as_str()), (queued["mail_id"].as_i64().expect("id"), NIA.email));
    only_mine("e-mail", &mail.body);
    let (status, _) =
        dpo.call(&app, Method::POST, &email, Some(json!({ "format": "pdf", "email": "NIA@example.org" }))).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    // Audited by subject and format, never with personal values.
    let entries = store.audit_entries(100).await.expect("audit");
    let exports: Vec<_> = entries.iter().filter(|e| e.action == "gdpr.export").collect();
    assert_eq!(exports.len(), 6, "four downloads and two e-mails");
    let public = store.subject_public_id(nia).await.expect("read").expect("public id");
    assert!(exports.iter().all(|e| e.target.as_deref() == Some(format!("subject {public}").as_str())));
    let audit = format!("{entries:?}");
    assert!(!audit.contains("Nia") && !audit.contains("nia@"), "{audit}");

    // The command line writes a new file readable only by its owner.
    let dir = app.stop().await;
    let out = dir.path().join("subject.xlsx");
    let args = ["gdpr", "export", "--subject", &nia.to_string(), "--format", "xlsx", "--out"];
    let cli = parley(&[&args[..], &[out.to_str().expect("path")]].concat(), dir.path(), None);
    assert!(cli.status.success(), "{}", text(&cli));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&out).expect("file").permissions().mode() & 0o777, 0o600);
    let again = parley(&[&args[..], &[out.to_str().expect("path")]].concat(), dir.path(), None);
    assert!(!again.status.success() && text(&again).contains("must not exist"), "{}", text(&again));
}
