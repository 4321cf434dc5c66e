//! Transcript e-mail through the durable outbox to a real SMTP server (Python aiosmtpd from
//! Debian), and consent withdrawal from the link in that e-mail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::chat_support::{accept, operator, send, start, until, uuid, visitor};
use crate::harness::TestApp;
use crate::websocket::Client;

/// A real SMTP server on a loopback port that stores every mail in a Maildir.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let dir = tempfile::tempdir().expect("tempdir");
        let maildir = dir.path().join("mail");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd is installed by scripts/test (Debian package python3-aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpSink { child, port, maildir, _dir: dir }
    }

    /// Waits (bounded) for `count` mails and returns their raw text.
    pub fn wait_for(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mails = read_dir(&self.maildir.join("new"));
            if mails.len() >= count {
                return mails;
            }
            assert!(Instant::now() < deadline, "expected {count} mails, got {}", mails.len());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Decodes quoted-printable text (soft line breaks and =XX escapes).
pub fn quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_dir(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect())
        .unwrap_or_default()
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server whose mail server nobody listens on, with one transcript mail queued (asked for by
/// a visitor "Ola" while an operator is online); the operator's and visitor's sockets stay
/// open as long as the returned clients live.
pub async fn with_an_undeliverable_transcript() -> (TestApp, Client, Client) {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let app = TestApp::spawn_with(with_smtp(unused)).await;
    let staff = operator(&app, "pip").await;
    let mut ws = visitor(&app).await;
    let (conversation, token) = start(&mut ws, "Ola").await;
    send(&mut ws, json!({ "v": 1, "type": "email_transcript", "id": uuid(), "conversation": conversation, "token": token, "email": "ola@example.org" })).await;
    until(&mut ws, "ack").await;
    (app, staff, ws)
}

pub fn with_smtp(port: u16) -> impl FnOnce(&mut parley::config::Config) {
    move |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = port;
        c.smtp.security = parley::config::SmtpSecurity::None;
        c.smtp.from = "chat@example.gov.uk".into();
        c.server.public_url = "https://chat.example.gov.uk".into();
    }
}

async fn outbox(app: &TestApp) -> Value {
    app.add_user("auditor1", "administrator", "correct horse battery staple").await;
    let (cookie, _) = app.login("auditor1", "correct horse battery staple").await;
    let response =
        app.client.get(app.staff("/api/v1/mail-outbox")).header("cookie", cookie).send().await.expect("outbox");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcript_is_mailed_once_with_a_working_withdrawal_link() {
    let smtp = SmtpSink::start();
    let app = TestApp::spawn_with(with_smtp(smtp.port)).await;
    // A site that requires consent: the consent to the chat is what the link withdraws.
    crate::consent::site(&app, "public_task", true, false).await;
    let mut staff = operator(&app, "mo").await;
    let mut ws = visitor(&app).await;
    let started =
        crate::consent::start(&mut ws, "Nia", json!({ "consent": true, "question": "Where do I pay my council tax?" }))
            .await;
    let conversation = started["conversation"].as_str().expect("id").to_owned();
    let token = started["token"].as_str().expect("token").to_owned();
    accept(&mut staff, &conversation).await;
    send(&mut staff, json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": "Your reference is ZX-4471." })).await;
    until(&mut staff, "ack").await;
    let id = uuid();
    for _ in 0..2 {
        send(&mut ws, json!({ "v": 1, "type": "email_transcript", "id": id, "conversation": conversation, "token": token, "email": "nia@example.org" })).await;
        assert_eq!(until(&mut ws, "ack").await.0["id"], id.as_str());
    }
    let mails = smtp.wait_for(1);
    let mail = &quoted_printable(&mails[0]);
    assert!(mail.contains("To: nia@example.org"), "{mail}");
    assert!(mail.contains("From: chat@example.gov.uk"), "{mail}");
    assert!(mail.contains("Subject: Your chat with Example Council"), "{mail}");
    assert!(mail.contains("Nia: Where do I pay my council tax?"), "{mail}");
    assert!(mail.contains("mo: Your reference is ZX-4471."), "{mail}");
    let link = format!("https://chat.example.gov.uk/consent/withdraw?conversation={conversation}&token={token}");
    assert!(mail.contains(&link), "withdrawal link in {mail}");
    assert!(mail.contains("You agreed to: using the details of this chat to answer your enquiry"), "{mail}");
    let status = outbox(&app).await;
    assert_eq!(status.as_array().map(Vec::len), Some(1), "queued once: {status}");
    assert_eq!(status[0]["status"], "sent");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(read_dir(&smtp.maildir.join("new")).len(), 1, "delivered once");

    // The link, opened on the public listener: a confirmation page, then the withdrawal.
    let path = format!("/consent/withdraw?conversation={conversation}&token={token}");
    let page = app.client.get(app.public(&path)).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("Withdraw my consent") && page.contains(&token), "{page}");
    let withdrawn: Option<i64> = sqlx::query_scalar("SELECT consent_withdrawn_at FROM conversations")
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("row");
    assert_eq!(withdrawn, None, "opening the link changes nothing");
    let form = [("conversation", conversation.as_str()), ("token", token.as_str())];
    let done = app.client.post(app.public("/consent/withdraw")).form(&form).send().await.expect("post");
    assert_eq!(done.status(), 200);
    assert!(done.text().await.expect("html").contains("withdrawal has been recorded"));
    let withdrawn: Option<i64> = sqlx::query_scalar("SELECT consent_withdrawn_at FROM conversations")
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("row");
    assert!(withdrawn.is_some());
    let forged = [("conversation", conversation.as_str()), ("token", "forged")];
    let refused = app.client.post(app.public("/consent/withdraw")).form(&forged).send().await.expect("post");
    assert_eq!(refused.status(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_mail_server_leaves_the_mail_queued_with_its_error() {
    let (app, _staff, _ws) = with_an_undeliverable_transcript().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status = outbox(&app).await;
        if status[0]["attempts"].as_i64() >= Some(1) {
            break status;
        }
        assert!(Instant::now() < deadline, "no delivery attempt: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status[0]["status"], "pending", "kept for a retry: {status}");
    assert!(status[0]["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{status}");
    app.stop().await;
}

#[tokio::test]
async fn without_smtp_the_request_is_refused_clearly() {
    let app = TestApp::spawn().await;
    let _staff = operator(&app, "quin").await;
    let mut ws = visitor(&app).await;
    let (conversation, token) = start(&mut ws, "Rae").await;
    send(&mut ws, json!({ "v": 1, "type": "email_transcript", "id": uuid(), "conversation": conversation, "token": token, "email": "rae@example.org" })).await;
    let (error, _) = until(&mut ws, "error").await;
    assert_eq!(error["code"], "invalid");
    assert!(error["message"].as_str().unwrap_or_default().contains("not configured"), "{error}");
    app.stop().await;
}
