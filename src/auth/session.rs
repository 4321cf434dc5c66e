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
}
