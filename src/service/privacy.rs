//! The privacy notice at `/privacy`, generated from the settings (controller, DPO contact,
//! purposes, lawful basis, retention, cookies, data location) and versioned: the version is a
//! digest of the notice's text, so any change to the settings publishes a new version, which is
//! recorded with the date it was first published. Consents record the version the visitor saw.

use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::http::assets::escape;
use crate::store::{Store, StoreError};

/// The published notice in force.
#[derive(Debug, Clone)]
pub struct Notice {
    pub version: String,
    pub published_at: i64,
    /// The `<main>` content (HTML, everything escaped).
    pub html: String,
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
    let period = |days: u32| match days {
        0 => "kept until you ask us to delete them".to_owned(),
        1 => "1 day after the conversation ends".to_owned(),
        n => format!("{n} days after the conversation ends"),
    };
    let (chats, offline, mail) = (
        period(config.retention.chats_days),
        period(config.retention.offline_days),
        period(config.retention.mail_days),
    );
    format!(
        "<h1>Privacy notice for the {org} web chat</h1>\
         <h2>Who we are</h2><p>The data controller is {controller}. You can contact our Data Protection Officer at {dpo}.</p>\
         <h2>What we keep and why</h2><p>When you chat with us or leave a message, we keep the name and any contact details \
         you give in the form, what you write, the page you started the chat on and the time. We use them only to answer \
         your enquiry, to send you the transcript if you ask for it, and to keep a record of the conversation.</p>\
         <h2>Lawful basis</h2><p>{basis}</p>\
         <h2>Where it is kept</h2><p>{location} Your details are encrypted in our database, with a key of their own.</p>\
         <h2>How long we keep it</h2><ul><li>Chats: {chats}.</li><li>Messages you leave when no one can chat: {offline}.</li>\
         <li>E-mails we send you (such as a transcript): {mail}.</li></ul><p>After that they are deleted automatically.</p>\
         <h2>Cookies and storage</h2><p>This chat sets no cookies on the website you are visiting and loads nothing from \
         other websites. The chat window keeps your conversation in your browser's storage for this chat service only, so \
         that it continues if you move to another page; it is removed when the chat ends. Only if you tick \
         \u{201c}Remember this device\u{201d} does the chat service set one cookie, <code>parley_vid</code> (a random \
         number, kept for 1 year), so our advisers can see your earlier chats; \u{201c}Forget this device\u{201d} in \
         the chat window removes it and we stop recognising you.</p>\
         <h2>Your rights</h2><p>You can ask for a copy of your information, ask us to correct it, to delete it, or object \
         to how we use it. You can withdraw your consent at any time with the link in the transcript e-mail \
         or \u{201c}Forget this device\u{201d} in the chat window. Contact our \
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
        assert!(html.contains("Chats: 30 days"), "{html}");
        config.privacy.controller = "<script>".into();
        assert!(render(&config).contains("&lt;script&gt;"), "settings are escaped");
    }
}
