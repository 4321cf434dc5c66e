//! E-mail: transcripts queued in the durable outbox, and the sender task that delivers them over
//! SMTP (STARTTLS, implicit TLS or plain for a local relay) with retries and back-off.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::{Notify, watch};

use crate::config::{Config, SmtpConfig, SmtpSecurity};
use crate::domain::Email;
use crate::store::{
    ConversationRow, MailRow, NewMail, OfflineRow, Store, StoreError, TranscriptOutcome, TranscriptRules,
};

/// Attempts before a mail is marked failed.
const MAX_ATTEMPTS: i64 = 8;
const BATCH: i64 = 20;
const POLL: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("e-mail is not configured on this appliance (set [smtp] host)")]
    Disabled,
    #[error("{0}")]
    Address(String),
    #[error("the transcript can be e-mailed only while the chat is open and for {0} hours after it ends")]
    WindowClosed(u32),
    #[error("the transcript of this chat has been e-mailed {0} times already, the most allowed")]
    LimitReached(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MailError {
    /// The stable `code` of the error frame a visitor gets.
    pub fn code(&self) -> &'static str {
        match self {
            MailError::Disabled | MailError::Address(_) => "invalid",
            MailError::WindowClosed(_) => "transcript_window_closed",
            MailError::LimitReached(_) => "transcript_limit",
            MailError::Store(_) => "internal",
        }
    }
}

#[derive(Clone)]
pub struct Mailer {
    store: Store,
    smtp: SmtpConfig,
    organisation: String,
    public_url: String,
    /// `chat.transcript_email_window_hours` and `chat.transcript_emails_per_conversation`.
    transcript_window_hours: u32,
    transcripts_per_conversation: u32,
    wake: Arc<Notify>,
}

impl Mailer {
    pub fn new(store: Store, config: &Config) -> Mailer {
        Mailer {
            store,
            smtp: config.smtp.clone(),
            organisation: config.server.organisation.clone(),
            public_url: config.server.public_base_url(),
            transcript_window_hours: config.chat.transcript_email_window_hours,
            transcripts_per_conversation: config.chat.transcript_emails_per_conversation,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.smtp.host.is_empty()
    }

    /// Queues the conversation's transcript for `email`, with a link to withdraw consent when the
    /// visitor gave one that the link can withdraw: while the chat is open and for
    /// `transcript_window_hours` after it ends, at most `transcripts_per_conversation` times;
    /// every request is audited without the address.
    /// A resent request (same `client_id`) queues one mail.
    pub async fn queue_transcript(
        &self,
        client_id: &str,
        conversation: &ConversationRow,
        token: &str,
        email: &str,
    ) -> Result<i64, MailError> {
        if !self.enabled() {
            return Err(MailError::Disabled);
        }
        let to = Email::parse(email).map_err(MailError::Address)?;
        let messages = self.store.messages_after(conversation.id, 0, i64::MAX).await?;
        let mut body = format!("Here is the transcript of your chat with {}.\n\n", self.organisation);
        for m in &messages {
            let at = time::OffsetDateTime::from_unix_timestamp(m.created_at)
                .ok()
                .and_then(|t| t.format(&time::macros::format_description!("[hour]:[minute]")).ok())
                .unwrap_or_default();
            body.push_str(&format!("[{at}] {}: {}\n", m.author_name, m.body));
        }
        // A withdrawal link only for someone who gave a consent it can act on, saying what it does.
        let live = self.store.withdrawable_consents(conversation.id).await?;
        let agreed: Vec<&str> = live.iter().filter_map(|p| crate::service::consent::Purpose::describe(p)).collect();
        if !agreed.is_empty() {
            body.push_str(&format!(
                "\nYou agreed to: {}. To withdraw that consent (this does not delete the chat), open:\n\
                 {}/consent/withdraw?conversation={}&token={}\n",
                agreed.join("; "),
                self.public_url,
                conversation.public_id,
                token
            ));
        }
        body.push_str(&format!("\nPrivacy notice: {}/privacy\n", self.public_url));
        let mail = NewMail {
            client_id: Some(client_id.to_owned()),
            kind: "transcript",
            subject_id: conversation.subject_id,
            to_addr: to.as_str().to_owned(),
            subject: format!("Your chat with {}", self.organisation),
            body,
        };
        let rules = TranscriptRules {
            window_secs: i64::from(self.transcript_window_hours) * 3600,
            max: i64::from(self.transcripts_per_conversation),
        };
        match self.store.queue_transcript_mail(conversation.id, &conversation.public_id, rules, mail).await? {
            TranscriptOutcome::Queued(id) => {
                self.wake.notify_one();
                Ok(id)
            }
            TranscriptOutcome::WindowClosed => Err(MailError::WindowClosed(self.transcript_window_hours)),
            TranscriptOutcome::LimitReached => Err(MailError::LimitReached(self.transcripts_per_conversation)),
        }
    }

    /// Queues a staff member's reply to an offline request and marks the request done, in one
    /// transaction. None when the request is not open any more.
    pub async fn queue_offline_reply(
        &self,
        request: &OfflineRow,
        user_id: i64,
        staff_name: &str,
        text: &str,
    ) -> Result<Option<i64>, MailError> {
        if !self.enabled() {
            return Err(MailError::Disabled);
        }
        let to = Email::parse(&request.email).map_err(MailError::Address)?;
        let body = format!(
            "Dear {name},\n\n{text}\n\n{staff_name}\n{org}\n\n\
             This is a reply to the message you left on our website:\n\n> {quoted}\n\n\
             Privacy notice: {url}/privacy\n",
            name = request.name,
            org = self.organisation,
            quoted = request.body.replace('\n', "\n> "),
            url = self.public_url,
        );
        let mail = NewMail {
            client_id: None,
            kind: "offline_reply",
            subject_id: request.subject_id,
            to_addr: to.as_str().to_owned(),
            subject: format!("Your message to {}", self.organisation),
            body,
        };
        let id = self.store.reply_offline(request.id, user_id, mail).await?;
        self.wake.notify_one();
        Ok(id)
    }

    /// Queues a mail to data subject `subject_id` at one of their own addresses; the subject
    /// line ends with the organisation's name.
    pub async fn queue_to_subject(
        &self,
        kind: &'static str,
        subject_id: i64,
        to: &Email,
        subject: &str,
        body: String,
    ) -> Result<i64, MailError> {
        if !self.enabled() {
            return Err(MailError::Disabled);
        }
        let mail = NewMail {
            client_id: None,
            kind,
            subject_id: Some(subject_id),
            to_addr: to.as_str().to_owned(),
            subject: format!("{subject} from {}", self.organisation),
            body,
        };
        let id = self.store.queue_mail(mail).await?;
        self.wake.notify_one();
        Ok(id)
    }

    /// Delivers due mail until shutdown.
    pub fn spawn_sender(&self, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let mailer = self.clone();
        tokio::spawn(async move {
            if !mailer.enabled() {
                return;
            }
            loop {
                if let Err(err) = mailer.deliver_due().await {
                    tracing::error!(error = %err, "mail outbox");
                }
                tokio::select! {
                    _ = mailer.wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = crate::shutdown::wait_for_shutdown(&mut shutdown) => return,
                }
            }
        })
    }

    async fn deliver_due(&self) -> Result<(), StoreError> {
        let due = self.store.due_mail(BATCH).await?;
        if due.is_empty() {
            return Ok(());
        }
        let transport = match self.transport() {
            Ok(t) => t,
            Err(problem) => {
                for mail in due {
                    self.failed(&mail, problem.clone()).await?;
                }
                return Ok(());
            }
        };
        for mail in due {
            match self.send(&transport, &mail).await {
                Ok(()) => {
                    self.store.mail_sent(mail.id).await?;
                    tracing::info!(mail_id = mail.id, kind = %mail.kind, "mail sent");
                }
                Err(problem) => self.failed(&mail, problem).await?,
            }
        }
        Ok(())
    }

    async fn failed(&self, mail: &MailRow, problem: String) -> Result<(), StoreError> {
        let attempts = mail.attempts + 1;
        let retry_at = (attempts < MAX_ATTEMPTS).then(|| crate::util::now() + (30i64 << attempts.min(7)).min(3600));
        // The reason may name the address, so it goes to the outbox table, not the log.
        tracing::warn!(mail_id = mail.id, attempts, gave_up = retry_at.is_none(), "mail delivery failed");
        self.store.mail_failed(mail.id, problem, retry_at).await
    }

    async fn send(&self, transport: &AsyncSmtpTransport<Tokio1Executor>, mail: &MailRow) -> Result<(), String> {
        let message = Message::builder()
            .from(self.smtp.from.parse().map_err(|e| format!("smtp.from: {e}"))?)
            .to(mail.to_addr.parse().map_err(|e| format!("recipient: {e}"))?)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| e.to_string())?;
        transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let smtp = &self.smtp;
        let mut tls = TlsParameters::builder(smtp.host.clone());
        if !smtp.ca_file.as_os_str().is_empty() {
            let pem =
                std::fs::read(&smtp.ca_file).map_err(|e| format!("smtp.ca_file {}: {e}", smtp.ca_file.display()))?;
            tls = tls.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| format!("smtp.ca_file: {e}"))?);
        }
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str()).port(smtp.port);
        let builder = match smtp.security {
            SmtpSecurity::None => builder,
            SmtpSecurity::Starttls => builder.tls(Tls::Required(tls.build_rustls().map_err(|e| e.to_string())?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls.build_rustls().map_err(|e| e.to_string())?)),
        };
        let builder = match smtp.username.is_empty() {
            true => builder,
            false => builder.credentials(Credentials::new(smtp.username.clone(), smtp.password.expose().to_owned())),
        };
        Ok(builder.timeout(Some(Duration::from_secs(30))).build())
    }
}
