//! The key-encryption key: read from a systemd credential or a key file (created 0600 on first
//! start), checked against the fingerprints the database remembers, never written into the
//! database and never logged. A missing key for a database that has one refuses to start
//! rather than create a new key over existing data.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::CryptoError;
use crate::config::Config;

/// The systemd credential name (`LoadCredentialEncrypted=parley-kek:…`).
pub const CREDENTIAL: &str = "parley-kek";

#[derive(Debug, thiserror::Error)]
pub enum KekError {
    #[error(
        "the key-encryption key {path} is missing, but this database was encrypted with key {fingerprint}. \
         parley will not create a new key over existing data. Restore the key file from your escrow copy \
         (`age -d -i ESCROW_IDENTITY parley-kek-recovery.age > {path}`, then `chmod 600` and `chown parley`), \
         or point keys.kek_file at it; see docs/backups.md, \"Key escrow\"."
    )]
    Missing { path: PathBuf, fingerprint: String },
    #[error(
        "the key-encryption key {path} (fingerprint {found}) does not belong to this database, which expects \
         key {expected}. Put the right key file in place (see docs/backups.md, \"Key escrow\")."
    )]
    Mismatch { path: PathBuf, found: String, expected: String },
    #[error(
        "the key-encryption key {path} can be read by its group or by others (mode {mode:o}); anyone who can \
         read it can decrypt the database. Make it private: `chmod 600 {path}` (and `chown parley` it), then start again."
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("cannot read the key-encryption key {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("cannot create the key-encryption key {path}: {reason}")]
    Create { path: PathBuf, reason: String },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Where the KEK comes from.
#[derive(Debug, Clone)]
pub struct KekFile {
    pub path: PathBuf,
    /// A systemd credential: never created by parley.
    pub credential: bool,
}

impl KekFile {
    pub fn from_config(config: &Config) -> KekFile {
        if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
            let path = Path::new(&dir).join(CREDENTIAL);
            if path.exists() {
                return KekFile { path, credential: true };
            }
        }
        KekFile { path: config.kek_file(), credential: false }
    }

    /// The file of the next KEK during a rotation.
    pub fn next_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".next");
        PathBuf::from(name)
    }
}

/// A short, stable, non-secret name of a key: the first 16 hex digits of a SHA-256 over it.
pub fn fingerprint(key: &[u8; 32]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"parley kek fingerprint v1\0");
    hasher.update(key);
    hex::encode(hasher.finalize())[..16].to_owned()
}

/// Refuses a key file that its group or others may read (or write).
pub fn check_private(path: &Path) -> Result<(), KekError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                return Err(KekError::TooOpen { path: path.to_owned(), mode: meta.permissions().mode() & 0o777 });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(KekError::Unreadable { path: path.to_owned(), reason: e.to_string() }),
        }
    }
    Ok(())
}

/// Reads a key file: 64 hex digits (surrounding white space ignored), readable by its owner only.
/// None when it does not exist.
pub fn read_key(path: &Path) -> Result<Option<[u8; 32]>, KekError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(KekError::Unreadable { path: path.to_owned(), reason: e.to_string() }),
    };
    check_private(path)?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut key).map_err(|_| KekError::Unreadable {
        path: path.to_owned(),
        reason: "it must hold exactly 64 hexadecimal digits".into(),
    })?;
    Ok(Some(key))
}

/// Writes a new random key to `path` (mode 0600, never over an existing file); returns it.
pub fn create_key(path: &Path) -> Result<[u8; 32], KekError> {
    let key: [u8; 32] = rand::random();
    let fail = |e: std::io::Error| KekError::Create { path: path.to_owned(), reason: e.to_string() };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(format!("{}\n", hex::encode(key)).as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(if dir.as_os_str().is_empty() { Path::new(".") } else { dir })
    {
        let _ = dir.sync_all();
    }
    Ok(key)
}
