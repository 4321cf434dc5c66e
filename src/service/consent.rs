//! Lawful basis and consent for a chat: a site's chat runs on its lawful basis (public task or
//! legitimate interests), never behind a consent box unless its administrator chooses to require
//! one; consent is asked only for optional purposes, each recorded on its own in the ledger.

use serde::{Deserialize, Serialize};

/// The basis a site's chats run on (UK GDPR Article 6(1)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LawfulBasis {
    /// Article 6(1)(e): a public authority answering an enquiry (the default).
    #[default]
    PublicTask,
    /// Article 6(1)(f).
    LegitimateInterests,
}

impl LawfulBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            LawfulBasis::PublicTask => "public_task",
            LawfulBasis::LegitimateInterests => "legitimate_interests",
        }
    }

    pub fn parse(raw: &str) -> LawfulBasis {
        match raw {
            "legitimate_interests" => LawfulBasis::LegitimateInterests,
            _ => LawfulBasis::PublicTask,
        }
    }
}

/// An optional purpose a visitor may agree to in the `start` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Contact about related services (only where the site offers the box).
    Marketing,
    /// E-mailing the transcript (also recorded when the visitor asks for it).
    Transcript,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Marketing => "marketing",
            Purpose::Transcript => "transcript",
        }
    }

    /// In the withdrawal page's words.
    pub fn describe(purpose: &str) -> Option<&'static str> {
        match purpose {
            "chat" => Some("using the details of this chat to answer your enquiry"),
            "marketing" => Some("contacting you about related services"),
            "tracking" => Some("recognising this device on later visits"),
            _ => None,
        }
    }
}

/// What a `start` frame says about consent, checked against the site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartConsents {
    /// The purposes to record (`chat` first when given), each with the notice version.
    pub purposes: Vec<&'static str>,
}

/// Why a start's consents were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The site requires consent and the visitor did not give it.
    Required,
    /// A purpose the site does not ask for.
    NotOffered(&'static str),
}

/// Checks a start's consents: where the site requires consent, a start without `consent: true`
/// is refused and one with it records `chat` (elsewhere `consent` is ignored: older widgets always
/// sent it); a purpose the site does not offer is refused.
pub fn check_start(
    require_consent: bool,
    ask_marketing: bool,
    consent: bool,
    consents: &[Purpose],
) -> Result<StartConsents, Refusal> {
    if require_consent && !consent {
        return Err(Refusal::Required);
    }
    let mut purposes = Vec::new();
    // Where the site does not require it, the box is not shown and chat runs on the lawful basis.
    if require_consent {
        purposes.push("chat");
    }
    for purpose in consents {
        if *purpose == Purpose::Marketing && !ask_marketing {
            return Err(Refusal::NotOffered(purpose.as_str()));
        }
        if !purposes.contains(&purpose.as_str()) {
            purposes.push(purpose.as_str());
        }
    }
    Ok(StartConsents { purposes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_is_needed_only_where_the_site_requires_it() {
        assert_eq!(check_start(false, false, false, &[]).map(|c| c.purposes), Ok(vec![]));
        assert!(check_start(true, false, false, &[Purpose::Transcript]).is_err());
        assert_eq!(check_start(true, false, true, &[]).map(|c| c.purposes), Ok(vec!["chat"]));
        assert_eq!(check_start(false, false, true, &[]).map(|c| c.purposes), Ok(vec![]), "old widgets");
        let both = check_start(false, true, false, &[Purpose::Marketing, Purpose::Transcript, Purpose::Marketing]);
        assert_eq!(both.map(|c| c.purposes), Ok(vec!["marketing", "transcript"]));
        assert!(check_start(false, false, false, &[Purpose::Marketing]).is_err(), "not offered");
    }
}
