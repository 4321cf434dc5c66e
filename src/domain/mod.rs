//! Plain types and validated newtypes: raw strings become these once, at the edge.

pub mod permission;
mod role;
pub mod scope;

pub use permission::{Action, Module, Permission, PermissionSet};
pub use role::Role;
pub use scope::{Reach, Scope};

use serde::Serialize;

/// A staff login name: 1–64 characters of letters, digits and `. _ - @`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, String> {
        let name = raw.trim().to_lowercase();
        if name.is_empty() || name.chars().count() > 64 {
            return Err("a user name has 1 to 64 characters".into());
        }
        if !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')) {
            return Err("a user name may contain only letters, digits and . _ - @".into());
        }
        Ok(Username(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address, checked for shape only (one `@`, a dotted domain, no spaces, ≤ 254 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let email = raw.trim();
        let problem = || format!("`{email}` is not an e-mail address like name@example.org");
        let (local, domain) = email.split_once('@').ok_or_else(problem)?;
        let valid = !local.is_empty()
            && email.len() <= 254
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'));
        if valid { Ok(Email(email.to_owned())) } else { Err(problem()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A web origin `scheme://host[:port]` with scheme http or https and nothing after the authority.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Origin(String);

impl Origin {
    pub fn parse(raw: &str) -> Result<Origin, String> {
        let lower = raw.trim().trim_end_matches('/').to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .ok_or_else(|| format!("`{raw}` must start with https:// (or http://)"))?;
        let valid = !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !valid {
            return Err(format!("`{raw}` must be scheme://host[:port] with no path, e.g. https://www.example.gov.uk"));
        }
        Ok(Origin(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(Username::parse(" Alice.Smith ").map(|u| u.0), Ok("alice.smith".into()));
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse("x*)(uid=*").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn emails_are_checked() {
        assert!(Email::parse("ann@example.gov.uk").is_ok());
        for bad in
            ["", "ann", "ann@", "@example.org", "ann@example", "a b@example.org", "a@b@c.org", "ann@example.org>"]
        {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_are_checked() {
        assert_eq!(Origin::parse("https://WWW.Example.gov.uk/").map(|o| o.0), Ok("https://www.example.gov.uk".into()));
        assert!(Origin::parse("https://127.0.0.1:8443").is_ok());
        assert!(Origin::parse("www.example.gov.uk").is_err());
        assert!(Origin::parse("https://example.gov.uk/path").is_err());
        assert!(Origin::parse("https://").is_err());
    }
}
