//! Session tokens and the `__Host-parley` cookie.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

pub const COOKIE_NAME: &str = "__Host-parley";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// 256 random bits, URL-safe base64.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An opaque id for a session (128 random bits, hex), safe to show and to put in URLs.
pub fn new_public_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill(&mut bytes);
    hex::encode(bytes)
}

/// True for a well-formed public session id.
pub fn is_public_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// "Firefox on Windows"-style summary of a `User-Agent` header: enough to recognise a session,
/// without keeping the full header (which can fingerprint a person).
pub fn short_user_agent(header: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("HeadlessChrome/", "Chrome (headless)"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("reqwest", "reqwest"),
    ]
    .into_iter()
    .find(|(needle, _)| header.contains(needle))
    .map(|(_, name)| name);
    let system = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(needle, _)| header.contains(needle))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("browser on {s}"),
        (None, None) if header.trim().is_empty() => "unknown".to_owned(),
        (None, None) => "other client".to_owned(),
    }
}

/// What the database stores instead of the token itself.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// `Set-Cookie` value for a new session. `__Host-` requires Secure, Path=/ and no Domain.
pub fn set_cookie(token: &str, max_age_seconds: u64) -> String {
    format!("{COOKIE_NAME}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}")
}

/// `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The session token from a `Cookie` header, if present and well-formed.
pub fn token_from_cookie_header(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE_NAME
            && value.len() == 43
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then_some(value)
    })
}

/// Compares two secrets without an early exit on the first differing byte.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_round_trip() {
        let token = new_token();
        let header = format!("other=1; {COOKIE_NAME}={token}; x=y");
        assert_eq!(token_from_cookie_header(&header), Some(token.as_str()));
        assert_eq!(token_from_cookie_header("__Host-parley=short"), None);
        let set = set_cookie(&token, 60);
        for part in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(part), "{set}");
        }
        assert!(!set.contains("Domain"));
    }

    #[test]
    fn hashes_and_comparison() {
        assert_eq!(token_hash("a").len(), 32);
        assert_ne!(token_hash("a"), token_hash("b"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn user_agents_are_summarised() {
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0";
        assert_eq!(short_user_agent(firefox), "Firefox on Windows");
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(short_user_agent(chrome), "Chrome on Linux");
        assert_eq!(short_user_agent(""), "unknown");
        let id = new_public_id();
        assert!(is_public_id(&id), "{id}");
        assert!(!is_public_id("../etc"));
    }
}
