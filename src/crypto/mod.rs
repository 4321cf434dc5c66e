//! Encryption at rest (DESIGN §5): a key-encryption key (KEK) outside the database wraps one
//! data key (DEK) per data subject; every personal field is AES-256-GCM encrypted under its
//! subject's DEK with `table.column:row` as associated data, so a ciphertext cannot be moved to
//! another row or column. Exact-match lookups use HMAC-SHA256 blind indexes.
//!
//! Stored field format: `e1.` + base64url(nonce ‖ ciphertext ‖ tag).

pub mod kek;
pub mod secrets;

pub use kek::{KekError, KekFile, fingerprint};

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

const PREFIX: &str = "e1.";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("a stored value could not be decrypted ({0}); the key file may not belong to this database")]
    Decrypt(String),
    #[error("no key-encryption key with id {0} is loaded")]
    UnknownKek(i64),
    #[error("the system random number generator failed")]
    Random,
}

/// An AES-256-GCM key.
pub struct AeadKey(LessSafeKey);

impl AeadKey {
    pub fn new(bytes: &[u8; 32]) -> Result<AeadKey, CryptoError> {
        UnboundKey::new(&AES_256_GCM, bytes)
            .map(|key| AeadKey(LessSafeKey::new(key)))
            .map_err(|_| CryptoError::Decrypt("key length".into()))
    }

    /// nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| CryptoError::Random)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_bytes()), &mut body)
            .map_err(|_| CryptoError::Random)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    pub fn open(&self, aad: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Decrypt("too short".into()));
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Decrypt("nonce".into()))?;
        let mut body = body.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut body)
            .map_err(|_| CryptoError::Decrypt(format!("authentication failed for {aad}")))?;
        Ok(plain.to_vec())
    }
}

/// Associated data of a field.
pub fn field_aad(table: &str, column: &str, row: &str) -> String {
    format!("parley:{table}.{column}:{row}")
}

/// Associated data of a wrapped DEK.
fn dek_aad(subject: i64) -> String {
    format!("parley:dek:{subject}")
}

/// Blind-index kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    Email,
    Phone,
    Ip,
    Visitor,
    Name,
}

impl IndexKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexKind::Email => "email",
            IndexKind::Phone => "phone",
            IndexKind::Ip => "ip",
            IndexKind::Visitor => "visitor",
            IndexKind::Name => "name",
        }
    }

    /// The form a value is indexed in: case and spacing do not matter; phones keep digits only.
    pub fn normalise(self, value: &str) -> String {
        match self {
            IndexKind::Phone => {
                // Digits only; a UK number in international form (+44, 0044, or a bare 44 with
                // a UK number's length, each perhaps with the trunk "(0)") matches its national form.
                let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                let plus = value.trim_start().starts_with('+');
                let bare_uk = |rest: &str| rest.len() == 10 || (rest.len() == 11 && rest.starts_with('0'));
                let national = match digits.strip_prefix("0044") {
                    Some(rest) => Some(rest),
                    None => digits.strip_prefix("44").filter(|rest| (plus && rest.len() >= 9) || bare_uk(rest)),
                };
                match national {
                    Some(rest) => format!("0{}", rest.strip_prefix('0').unwrap_or(rest)),
                    None => digits,
                }
            }
            _ => value.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase(),
        }
    }
}

/// Everything needed to encrypt and decrypt personal fields; cheap to share.
pub struct Keyring {
    /// Loaded KEKs by database id (the current one, and the next during a rotation).
    keks: RwLock<HashMap<i64, Arc<AeadKey>>>,
    /// Where more KEKs can be read from when another process (a rotation) introduced them.
    source: RwLock<Option<KekFile>>,
    current: RwLock<i64>,
    index: hmac::Key,
    deks: RwLock<HashMap<i64, Arc<AeadKey>>>,
    /// Keys the audit-log chain (HMAC-SHA256); kept across KEK rotations.
    audit: Option<hmac::Key>,
    /// Derives visitors' resume tokens; kept across KEK rotations.
    chat_token: Option<[u8; 32]>,
}

impl Keyring {
    pub fn new(kek_id: i64, kek: &[u8; 32], index_key: &[u8; 32]) -> Result<Keyring, CryptoError> {
        Ok(Keyring {
            keks: RwLock::new(HashMap::from([(kek_id, Arc::new(AeadKey::new(kek)?))])),
            source: RwLock::default(),
            current: RwLock::new(kek_id),
            index: hmac::Key::new(hmac::HMAC_SHA256, index_key),
            deks: RwLock::default(),
            audit: None,
            chat_token: None,
        })
    }

    /// Adds the audit-chain key and the chat-token key (see `secrets`).
    pub fn with_secrets(mut self, audit: &[u8; 32], chat_token: &[u8; 32]) -> Keyring {
        self.audit = Some(hmac::Key::new(hmac::HMAC_SHA256, audit));
        self.chat_token = Some(*chat_token);
        self
    }

    /// Whether the audit-chain key is loaded.
    pub fn has_audit_key(&self) -> bool {
        self.audit.is_some()
    }

    /// HMAC-SHA256 of `data` under the audit-chain key; None when it is not loaded.
    pub fn audit_mac(&self, data: &[u8]) -> Option<Vec<u8>> {
        self.audit.as_ref().map(|key| hmac::sign(key, data).as_ref().to_vec())
    }

    /// The key visitors' resume tokens are derived with; None when it is not loaded.
    pub fn chat_token_key(&self) -> Option<[u8; 32]> {
        self.chat_token
    }

    /// Adds another KEK (the next one during a rotation) and optionally makes it current.
    pub fn add_kek(&self, id: i64, kek: &[u8; 32], make_current: bool) -> Result<(), CryptoError> {
        let key = Arc::new(AeadKey::new(kek)?);
        if let Ok(mut keks) = self.keks.write() {
            keks.insert(id, key);
        }
        if make_current && let Ok(mut current) = self.current.write() {
            *current = id;
        }
        Ok(())
    }

    pub fn set_source(&self, source: KekFile) {
        if let Ok(mut slot) = self.source.write() {
            *slot = Some(source);
        }
    }

    pub fn has_kek(&self, id: i64) -> bool {
        self.keks.read().map(|k| k.contains_key(&id)).unwrap_or(false)
    }

    /// Makes KEK `id` (with this fingerprint) available, reading the key files if another
    /// process (a rotation) made it.
    pub fn ensure_kek(&self, id: i64, fingerprint: &str) -> Result<(), CryptoError> {
        if self.has_kek(id) {
            return Ok(());
        }
        let source = self.source.read().ok().and_then(|s| s.clone()).ok_or(CryptoError::UnknownKek(id))?;
        for path in [source.next_path(), source.path.clone()] {
            if let Ok(Some(key)) = kek::read_key(&path)
                && kek::fingerprint(&key) == fingerprint
            {
                return self.add_kek(id, &key, false);
            }
        }
        Err(CryptoError::UnknownKek(id))
    }

    pub fn current_kek(&self) -> i64 {
        self.current.read().map(|c| *c).unwrap_or_default()
    }

    fn kek(&self, id: i64) -> Result<Arc<AeadKey>, CryptoError> {
        self.keks.read().ok().and_then(|k| k.get(&id).cloned()).ok_or(CryptoError::UnknownKek(id))
    }

    /// A fresh DEK for `subject`, wrapped by KEK `kek_id`: (wrapped, key).
    pub fn new_dek(&self, subject: i64, kek_id: i64) -> Result<(Vec<u8>, Arc<AeadKey>), CryptoError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).map_err(|_| CryptoError::Random)?;
        let wrapped = self.kek(kek_id)?.seal(&dek_aad(subject), &bytes)?;
        let key = Arc::new(AeadKey::new(&bytes)?);
        if let Ok(mut deks) = self.deks.write() {
            deks.insert(subject, Arc::clone(&key));
        }
        Ok((wrapped, key))
    }

    /// The subject's DEK from the cache, if unwrapped before.
    pub fn cached_dek(&self, subject: i64) -> Option<Arc<AeadKey>> {
        self.deks.read().ok().and_then(|d| d.get(&subject).cloned())
    }

    /// Unwraps (and caches) a stored DEK.
    pub fn unwrap_dek(&self, subject: i64, kek_id: i64, wrapped: &[u8]) -> Result<Arc<AeadKey>, CryptoError> {
        let bytes = self.kek(kek_id)?.open(&dek_aad(subject), wrapped)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::Decrypt("data key length".into()))?;
        let key = Arc::new(AeadKey::new(&bytes)?);
        if let Ok(mut deks) = self.deks.write() {
            deks.insert(subject, Arc::clone(&key));
        }
        Ok(key)
    }

    /// Re-wraps a stored DEK under KEK `to` (for rotation).
    pub fn rewrap_dek(&self, subject: i64, from: i64, wrapped: &[u8], to: i64) -> Result<Vec<u8>, CryptoError> {
        let bytes = self.kek(from)?.open(&dek_aad(subject), wrapped)?;
        self.kek(to)?.seal(&dek_aad(subject), &bytes)
    }

    /// Forgets a subject's DEK (after erasure).
    pub fn forget(&self, subject: i64) {
        if let Ok(mut deks) = self.deks.write() {
            deks.remove(&subject);
        }
    }

    /// Wraps a small secret (the index key) under KEK `kek_id`.
    pub fn wrap_secret(&self, kek_id: i64, name: &str, secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.kek(kek_id)?.seal(&format!("parley:secret:{name}"), secret)
    }

    /// Unwraps a small secret wrapped by `wrap_secret`.
    pub fn unwrap_secret(&self, kek_id: i64, name: &str, wrapped: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.kek(kek_id)?.open(&format!("parley:secret:{name}"), wrapped)
    }

    /// A sealing key for one purpose (e.g. staff TOTP secrets), derived from the index key,
    /// which is kept across KEK rotations. The input cannot collide with a blind index: no
    /// index kind is named `parley-derived-key`.
    pub fn derived_key(&self, purpose: &str) -> Result<AeadKey, CryptoError> {
        let tag = hmac::sign(&self.index, format!("parley-derived-key\0{purpose}").as_bytes());
        let bytes: [u8; 32] = tag.as_ref().try_into().map_err(|_| CryptoError::Decrypt("derived key length".into()))?;
        AeadKey::new(&bytes)
    }

    /// The blind index of a value.
    pub fn blind(&self, kind: IndexKind, value: &str) -> Vec<u8> {
        let mut input = kind.as_str().as_bytes().to_vec();
        input.push(0);
        input.extend_from_slice(kind.normalise(value).as_bytes());
        hmac::sign(&self.index, &input).as_ref().to_vec()
    }
}

/// Encrypts one field value.
pub fn seal_field(dek: &AeadKey, aad: &str, value: &str) -> Result<String, CryptoError> {
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(dek.seal(aad, value.as_bytes())?)))
}

/// Decrypts one field value.
pub fn open_field(dek: &AeadKey, aad: &str, stored: &str) -> Result<String, CryptoError> {
    let encoded = stored.strip_prefix(PREFIX).ok_or_else(|| CryptoError::Decrypt(format!("{aad} is not sealed")))?;
    let sealed = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| CryptoError::Decrypt(format!("{aad} is damaged")))?;
    String::from_utf8(dek.open(aad, &sealed)?).map_err(|_| CryptoError::Decrypt(format!("{aad} is not text")))
}

/// Whether a stored value is in the sealed format.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_are_bound_to_their_place() {
        let ring = Keyring::new(1, &[7; 32], &[9; 32]).expect("ring");
        let (wrapped, dek) = ring.new_dek(42, 1).expect("dek");
        let aad = field_aad("messages", "body", "3:1");
        let sealed = seal_field(&dek, &aad, "Call me on 07700 900123").expect("seal");
        assert!(is_sealed(&sealed) && !sealed.contains("07700"));
        assert_eq!(open_field(&dek, &aad, &sealed).expect("open"), "Call me on 07700 900123");
        // Same text twice: different ciphertexts (random nonces).
        assert_ne!(seal_field(&dek, &aad, "x").expect("a"), seal_field(&dek, &aad, "x").expect("b"));
        // Moved to another row or column: refused.
        assert!(open_field(&dek, &field_aad("messages", "body", "3:2"), &sealed).is_err());
        assert!(open_field(&dek, &field_aad("notes", "body", "3:1"), &sealed).is_err());
        // A flipped byte: refused.
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert!(open_field(&dek, &aad, &String::from_utf8(bytes).expect("utf8")).is_err());
        // The wrapped DEK opens only for its subject and with its KEK.
        let again = Keyring::new(1, &[7; 32], &[9; 32]).expect("ring");
        assert!(again.unwrap_dek(42, 1, &wrapped).is_ok());
        assert!(again.unwrap_dek(43, 1, &wrapped).is_err());
        let other = Keyring::new(1, &[8; 32], &[9; 32]).expect("ring");
        assert!(other.unwrap_dek(42, 1, &wrapped).is_err());
    }

    #[test]
    fn blind_indexes_normalise_and_depend_on_the_key() {
        let ring = Keyring::new(1, &[7; 32], &[9; 32]).expect("ring");
        let a = ring.blind(IndexKind::Email, " Nia@Example.org ");
        assert_eq!(a, ring.blind(IndexKind::Email, "nia@example.org"));
        assert_ne!(a, ring.blind(IndexKind::Name, "nia@example.org"), "kinds are separate");
        assert_eq!(ring.blind(IndexKind::Phone, "+44 7700 900123"), ring.blind(IndexKind::Phone, "07700 900123"));
        assert_eq!(ring.blind(IndexKind::Phone, "0044 7700 900123"), ring.blind(IndexKind::Phone, "07700900123"));
        assert_ne!(ring.blind(IndexKind::Phone, "+353 1 234 5678"), ring.blind(IndexKind::Phone, "01 234 5678"));
        let national = ring.blind(IndexKind::Phone, "07700 900123");
        for form in ["+44 (0)7700 900123", "447700900123", "44 7700 900123", "0044 (0)7700 900123", "+44 7700-900123"] {
            assert_eq!(ring.blind(IndexKind::Phone, form), national, "{form}");
        }
        assert_ne!(
            ring.blind(IndexKind::Phone, "4412345"),
            ring.blind(IndexKind::Phone, "012345"),
            "too short for the UK"
        );
        let other = Keyring::new(1, &[7; 32], &[10; 32]).expect("ring");
        assert_ne!(a, other.blind(IndexKind::Email, "nia@example.org"));
    }

    #[test]
    fn rotation_rewraps_a_dek() {
        let ring = Keyring::new(1, &[7; 32], &[9; 32]).expect("ring");
        let (wrapped, dek) = ring.new_dek(5, 1).expect("dek");
        let sealed = seal_field(&dek, "a", "secret").expect("seal");
        ring.add_kek(2, &[8; 32], false).expect("add");
        let rewrapped = ring.rewrap_dek(5, 1, &wrapped, 2).expect("rewrap");
        let fresh = Keyring::new(2, &[8; 32], &[9; 32]).expect("ring");
        let dek = fresh.unwrap_dek(5, 2, &rewrapped).expect("unwrap with the new KEK");
        assert_eq!(open_field(&dek, "a", &sealed).expect("open"), "secret");
    }
}
