//! Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits) with the
//! QR code an authenticator app scans, rendered here as SVG, and one-time recovery codes.

use rand::Rng;
use ring::hmac;
use sha2::{Digest, Sha256};

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
pub const SECRET_BYTES: usize = 20;
pub const RECOVERY_CODES: usize = 10;

/// A fresh random 160-bit secret (the size RFC 4226 recommends).
pub fn new_secret() -> [u8; SECRET_BYTES] {
    let mut secret = [0u8; SECRET_BYTES];
    rand::rng().fill(&mut secret);
    secret
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The time step that contains Unix time `at`.
pub fn step_at(at: i64) -> i64 {
    at.div_euclid(STEP_SECONDS)
}

/// The code for one time step (RFC 4226 dynamic truncation).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let digest = tag.as_ref();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let value = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    value % 10u32.pow(DIGITS)
}

/// True when `input` looks like a TOTP code (6 digits, spaces allowed) rather than a recovery code.
pub fn looks_like_code(input: &str) -> bool {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The step a code was made for, when it matches the current step or one either side and
/// that step is later than `last_used` (a code is accepted once only).
pub fn verify(secret: &[u8], input: &str, at: i64, last_used: Option<i64>) -> Option<i64> {
    if !looks_like_code(input) {
        return None;
    }
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let code: u32 = digits.parse().ok()?;
    let now = step_at(at);
    let mut matched = None;
    // Check every candidate so the time taken does not depend on which one matched.
    for step in [now - 1, now, now + 1] {
        if code_at(secret, step) == code && last_used.is_none_or(|last| step > last) {
            matched = Some(step);
        }
    }
    matched
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        account = percent_encode(account),
        secret = base32(secret),
    )
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The QR code of `text` as a standalone SVG document (black on white, with a quiet zone).
pub fn qr_svg(text: &str) -> Result<String, String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| format!("cannot make a QR code: {e}"))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

/// Ten fresh recovery codes, `xxxxx-xxxxx` from an alphabet without look-alikes (~50 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut code: String = (0..10).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
            code.insert(5, '-');
            code
        })
        .collect()
}

/// What is stored for a recovery code: SHA-256 of the code without case, spaces or dashes.
/// The codes are random and long, so a fast hash is enough (unlike passwords).
pub fn recovery_hash(code: &str) -> Vec<u8> {
    let normal: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    Sha256::digest(normal.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn matches_rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B gives 8 digits; the last 6 are the 6-digit code.
        for (at, expected) in [(59, 287_082), (1_111_111_109, 81_804), (1_234_567_890, 5_924), (2_000_000_000, 279_037)]
        {
            assert_eq!(code_at(RFC_SECRET, step_at(at)), expected, "time {at}");
        }
    }

    #[test]
    fn accepts_one_step_either_side_once() {
        let at = 1_700_000_000;
        let now = step_at(at);
        let code = |step: i64| format!("{:06}", code_at(RFC_SECRET, step));
        assert_eq!(verify(RFC_SECRET, &code(now), at, None), Some(now));
        assert_eq!(verify(RFC_SECRET, &code(now - 1), at, None), Some(now - 1));
        assert_eq!(verify(RFC_SECRET, &code(now + 1), at, None), Some(now + 1));
        assert_eq!(verify(RFC_SECRET, &code(now - 2), at, None), None, "too old");
        assert_eq!(verify(RFC_SECRET, &code(now), at, Some(now)), None, "replay of the same step");
        assert_eq!(verify(RFC_SECRET, &code(now + 1), at, Some(now)), Some(now + 1));
        assert_eq!(verify(RFC_SECRET, "12345", at, None), None);
        assert_eq!(verify(RFC_SECRET, "abcdef", at, None), None);
    }

    #[test]
    fn base32_and_uri() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        let uri = otpauth_uri("Borough Council", "ada", RFC_SECRET);
        assert!(
            uri.starts_with("otpauth://totp/Borough%20Council:ada?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"),
            "{uri}"
        );
        let svg = qr_svg(&uri).expect("svg");
        assert!(svg.contains("<svg") && svg.contains("#000000"), "{svg}");
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalised() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        assert_eq!(recovery_hash(&codes[0]), recovery_hash(&codes[0].to_uppercase().replace('-', " ")));
        assert_ne!(recovery_hash(&codes[0]), recovery_hash(&codes[1]));
    }
}
