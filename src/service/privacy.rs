//! The privacy notice at `/privacy`, generated from the settings (controller, DPO contact,
//! purposes, lawful basis, retention, cookies, data location) and versioned: the version is a
//! digest of the notice's text, so any change to the settings publishes a new version, which is
//! recorded with the date it was first published. Consents record the version the visitor saw.

use sha2::{Digest, Sha256};

use crate::config::{Config, IpRetention};
use crate::store::{AuditEntry, ConversationRow, Store, StoreError};
use crate::util::escape;

/// The published notice in force.
#[derive(Debug, Clone)]
pub struct Notice {
    pub version: String,
    pub published_at: i64,
    /// The `<main>` content (HTML, everything escaped).
    pub html: String,
}

/// What the notice says about the IP address, per `privacy.visitor_ip`.
fn ip_sentence(kept: IpRetention) -> &'static str {
    match kept {
        IpRetention::None => "We do not keep the IP address your chat comes from.",
        IpRetention::Truncated => {
            "We keep the network part of the IP address your chat comes from (the last part is removed, for example 203.0.113.0/24), so that we can deal with abuse; it is kept with the chat and deleted with it."
        }
        IpRetention::Full => {
            "We keep the IP address your chat comes from, so that we can deal with abuse; it is kept with the chat and deleted with it."
        }
    }
}

/// The notice's body for these settings.
pub fn render(config: &Config) -> String {
    let organisation = &config.server.organisation;
    let controller = if config.privacy.controller.trim().is_empty() {
        organisation.as_str()
    } else {
        config.privacy.controller.trim()
    };
    let (controller, org) = (escape(controller), escape(organisation));
    let dpo = escape(&config.privacy.dpo_contact);
    let basis = escape(&config.privacy.lawful_basis);
    let location = escape(&config.privacy.data_location);
    let ip = ip_sentence(config.privacy.visitor_ip);
    let period = |days: u32, after: &str| match days {
        0 => "kept until you ask us to delete them".to_owned(),
        1 => format!("1 day after {after}"),
        n => format!("{n} days after {after}"),
    };
    let (chats, offline, mail) = (
        period(config.retention.chats_days, "the conversation ends"),
        period(config.retention.offline_days, "we have dealt with it (or after it arrived, while it is still open)"),
        period(config.retention.mail_days, "it is sent"),
    );
    format!(
        "<h1>Privacy notice for the {org} web chat</h1>\
         <h2>Who we are</h2><p>The data controller is {controller}. You can contact our Data Protection Officer at {dpo}.</p>\
         <h2>What we keep and why</h2><p>When you chat with us or leave a message, we keep the name and any contact details \
         you give in the form, what you write, the page you started the chat on, the page that linked to it (the \
         referrer), the time, and the rating and comment if you rate the chat. {ip} We use these only to answer \
         your enquiry, to send you the transcript if you ask for it, and to keep a record of the conversation.</p>\
         <h2>Lawful basis</h2><p>{basis}</p><p>You do not have to agree to anything to chat with us. We ask for your \
         consent only for optional things: remembering your device, contacting you about related services (where the \
         chat form offers it) and e-mailing you the transcript. Each consent is recorded on its own, with the version \
         of this notice you saw and the time.</p>\
         <h2>Where it is kept</h2><p>{location} Your details are encrypted in our database, with a key of their own.</p>\
         <h2>How long we keep it</h2><ul><li>Chats (with their messages, form answers, pages, IP address and rating): \
         {chats}.</li><li>Messages you leave when no one can chat: {offline}.</li>\
         <li>E-mails we send you (such as a transcript): {mail}.</li></ul><p>After that they are deleted automatically.</p>\
         <h2>Cookies and storage</h2><p>This chat sets no cookies on the website you are visiting and loads nothing from \
         other websites. The chat window keeps your conversation in your browser's storage for this chat service only, so \
         that it continues if you move to another page; it is removed when the chat ends. Only if you tick \
         \u{201c}Remember this device\u{201d} does the chat service set one cookie, <code>parley_vid</code> (a random \
         number, kept for 1 year), so our advisers can see your earlier chats; \u{201c}Forget this device\u{201d} in \
         the chat window removes it and we stop recognising you.</p>\
         <h2>Your rights</h2><p>You can ask for a copy of your information, ask us to correct it, to delete it, or object \
         to how we use it. You can withdraw a consent at any time: \u{201c}Forget this device\u{201d} in the chat \
         window, or, if you gave a consent with a chat, the link in its transcript e-mail. Withdrawing stops what you \
         agreed to from then on; it does not delete the chat (ask us for that). Contact our \
         Data Protection Officer; you can also complain to the Information Commissioner's Office (ico.org.uk).</p>"
    )
}

/// The version of a notice: the first 12 hex digits of a SHA-256 over its text.
pub fn version_of(html: &str) -> String {
    hex::encode(Sha256::digest(html.as_bytes()))[..12].to_owned()
}

/// Publishes the notice for the current settings (recording a new version when they changed)
/// and returns the one in force.
pub async fn publish(store: &Store, config: &Config) -> Result<Notice, StoreError> {
    let html = render(config);
    let version = version_of(&html);
    let published_at = store.publish_privacy_notice(version.clone(), html.clone()).await?;
    Ok(Notice { version, published_at, html })
}

/// Every published version, newest first: (version, published at).
pub async fn versions(store: &Store) -> Result<Vec<(String, i64)>, StoreError> {
    store.privacy_versions().await
}

/// A published version as it was: (published at, `<main>` content); None if there is none.
pub async fn published(store: &Store, version: &str) -> Result<Option<(i64, String)>, StoreError> {
    store.privacy_notice(version).await
}

/// What the withdrawal link of a conversation would withdraw (purpose names: its `chat` and
/// `marketing` consents and the person's `tracking` consent; a sent transcript cannot be
/// unsent); empty when the visitor gave no consent that a link can act on.
pub async fn withdrawable(store: &Store, conversation: &ConversationRow) -> Result<Vec<String>, StoreError> {
    store.withdrawable_consents(conversation.id).await
}

/// Withdraws by the link (the conversation's consents and the person's tracking) and audits it
/// with the conversation id and the purposes only; returns the purposes withdrawn.
pub async fn withdraw(store: &Store, conversation: &ConversationRow) -> Result<Vec<String>, StoreError> {
    let withdrawn = store.withdraw_consent(conversation.id).await?;
    let purposes = if withdrawn.is_empty() { "none".to_owned() } else { withdrawn.join(", ") };
    let entry = AuditEntry::new("visitor", "consent.withdrawn")
        .target(format!("conversation {}", conversation.public_id))
        .details(format!("purposes: {purposes}"));
    store.audit(entry).await?;
    Ok(withdrawn)
}

/// Records that the visitor asked for the transcript by e-mail (their consent to that purpose,
/// under the notice in force).
pub async fn record_transcript_consent(
    store: &Store,
    conversation: &ConversationRow,
    notice_version: &str,
) -> Result<(), StoreError> {
    match conversation.subject_id {
        Some(subject) => store.add_consent(subject, conversation.id, "transcript", notice_version.to_owned()).await,
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_follows_the_settings() {
        let mut config = Config::embedded().expect("config");
        let first = version_of(&render(&config));
        assert_eq!(first, version_of(&render(&config)), "same settings, same version");
        config.privacy.dpo_contact = "dpo@council.example.gov.uk".into();
        assert_ne!(first, version_of(&render(&config)));
        let before = version_of(&render(&config));
        config.retention.chats_days = 30;
        let html = render(&config);
        assert_ne!(before, version_of(&html), "retention settings are part of the notice");
        assert!(html.contains("30 days after the conversation ends"), "{html}");
        config.privacy.controller = "<script>".into();
        assert!(render(&config).contains("&lt;script&gt;"), "settings are escaped");
    }

    #[test]
    fn the_notice_names_the_ip_address_referrer_and_rating_and_each_retention_period() {
        let mut config = Config::embedded().expect("config");
        (config.retention.chats_days, config.retention.offline_days, config.retention.mail_days) = (30, 60, 1);
        let html = render(&config);
        assert!(html.contains("referrer") && html.contains("rating"), "{html}");
        assert!(html.contains("Chats (with their messages, form answers, pages, IP address and rating): 30 days after the conversation ends"), "{html}");
        assert!(html.contains("leave when no one can chat: 60 days after we have dealt with it"), "{html}");
        assert!(html.contains("such as a transcript): 1 day after it is sent"), "{html}");
        let mut versions = Vec::new();
        for kept in [IpRetention::Truncated, IpRetention::Full, IpRetention::None] {
            config.privacy.visitor_ip = kept;
            let html = render(&config);
            assert!(html.contains(ip_sentence(kept)), "{kept:?}");
            versions.push(version_of(&html));
        }
        assert!(render(&config).contains("do not keep the IP address"));
        versions.dedup();
        assert_eq!(versions.len(), 3, "the IP setting is part of the notice");
    }
}
