//! Backup files on disk: names (`parley-YYYYMMDD-HHMMSS.db.age`, UTC), the manifest beside
//! each (`parley-YYYYMMDD-HHMMSS.manifest.json`), age encryption to the recipients, decryption
//! with an identity file, listing and retention. Blocking I/O: call from `spawn_blocking`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BackupError;

pub const PREFIX: &str = "parley-";
pub const SUFFIX: &str = ".db.age";
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
/// The key snapshot beside each backup: `parley-YYYYMMDD-HHMMSS.keys.age` and its manifest.
pub const KEYS_SUFFIX: &str = ".keys.age";
pub const KEYS_MANIFEST_SUFFIX: &str = ".keys.manifest.json";
/// Manifest format of a data snapshot whose keys are in a key snapshot (1: keys inside).
pub const KEYS_APART_FORMAT: u32 = 2;
const MANIFEST_MAX_BYTES: u64 = 64 * 1024;
const NAME_TIME: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]-[hour][minute][second]");

/// What is known about a backup without decrypting it. Not secret: no keys, no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout of this manifest (1).
    pub format: u32,
    /// The encrypted file's name (in the same directory).
    pub file: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub parley_version: String,
    /// Highest database migration in the backup.
    pub schema_version: i64,
    /// Size and SHA-256 (hex) of the encrypted file.
    pub size: u64,
    pub sha256: String,
    /// The age public keys it was encrypted to.
    pub recipients: Vec<String>,
    /// The audit log's head just before the snapshot: an anchor outside the database
    /// (`parley audit verify --manifest`). Absent in manifests of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<crate::store::AuditHead>,
}

/// A finished encrypted file.
#[derive(Debug, Clone)]
pub struct Written {
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

/// `parley-YYYYMMDD-HHMMSS` for a Unix time.
pub fn stem_at(unix: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{PREFIX}{}", at.format(NAME_TIME).unwrap_or_default())
}

/// The stem and time of a backup file name, if it is one of ours.
pub fn parse_name(name: &str) -> Option<(&str, i64)> {
    let stem = name.strip_suffix(SUFFIX)?;
    let stamp = stem.strip_prefix(PREFIX)?;
    let at = time::PrimitiveDateTime::parse(stamp, NAME_TIME).ok()?;
    Some((stem, at.assume_utc().unix_timestamp()))
}

/// The stem and time of a key snapshot file name, if it is one of ours.
pub fn parse_keys_name(name: &str) -> Option<(&str, i64)> {
    let stem = name.strip_suffix(KEYS_SUFFIX)?;
    let stamp = stem.strip_prefix(PREFIX)?;
    let at = time::PrimitiveDateTime::parse(stamp, NAME_TIME).ok()?;
    Some((stem, at.assume_utc().unix_timestamp()))
}

/// The manifest that belongs beside backup (or key snapshot) `file`.
pub fn manifest_path(file: &Path) -> Option<PathBuf> {
    let name = file.file_name()?.to_str()?;
    if let Some(stem) = name.strip_suffix(KEYS_SUFFIX) {
        return Some(file.with_file_name(format!("{stem}{KEYS_MANIFEST_SUFFIX}")));
    }
    let stem = name.strip_suffix(SUFFIX)?;
    Some(file.with_file_name(format!("{stem}{MANIFEST_SUFFIX}")))
}

/// The error for a failed write into the backup directory, with what to do about it.
pub fn target_error(path: &Path, source: io::Error) -> BackupError {
    let hint = match source.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            "The disk is full: free space there, lower backup.keep_last, or set backup.dir to a disk with room."
        }
        io::ErrorKind::ReadOnlyFilesystem => {
            "The packaged service may write only under /var/lib/parley (ProtectSystem=strict): allow this \
             directory with a drop-in, `systemctl edit parley` and add [Service] ReadWritePaths=<the directory> \
             (docs/operations.md, \"Directories outside /var/lib/parley\"), or set backup.dir inside /var/lib/parley."
        }
        io::ErrorKind::PermissionDenied => {
            "Make the directory writable by the user parley runs as, or set backup.dir to one that is."
        }
        io::ErrorKind::NotADirectory | io::ErrorKind::NotFound => {
            "The path is not a directory: fix backup.dir (or --to) so it names a directory."
        }
        _ => "Check that backup.dir (or --to) is a directory parley can write to.",
    };
    BackupError::Target { path: path.to_owned(), source, hint }
}

/// Creates the backup directory (0700) if needed and checks it is one.
pub fn prepare_dir(dir: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| target_error(dir, e))?;
    if !dir.is_dir() {
        return Err(target_error(dir, io::Error::from(io::ErrorKind::NotADirectory)));
    }
    Ok(())
}

/// A file removed when dropped unless `keep` was called: partial output, plaintext snapshots.
pub struct Scratch(Option<PathBuf>);

impl Scratch {
    pub fn new(path: PathBuf) -> Scratch {
        Scratch(Some(path))
    }

    pub fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    pub fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(path) = self.0.take()
            && let Err(err) = fs::remove_file(&path)
            && err.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), error = %err, "cannot remove a temporary backup file");
        }
    }
}

/// Counts and hashes what passes through to the inner writer.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A name in `dir` not used yet: `parley-<time>`, the time moved on a second while taken.
pub fn free_stem(dir: &Path, unix: i64) -> String {
    let mut at = unix;
    loop {
        let stem = stem_at(at);
        let taken = [SUFFIX, MANIFEST_SUFFIX, KEYS_SUFFIX, KEYS_MANIFEST_SUFFIX]
            .iter()
            .any(|s| dir.join(format!("{stem}{s}")).exists());
        if !taken {
            return stem;
        }
        at += 1;
    }
}

/// Encrypts `snapshot` to `recipients` as `<dir>/<stem>.db.age`, then writes its manifest
/// (`manifest.file`, `size` and `sha256` are filled in here). Each file is written under a
/// temporary name, synced and renamed, so a failure leaves nothing behind.
pub fn encrypt_to(
    snapshot: &Path,
    dir: &Path,
    stem: &str,
    recipients: &[age::x25519::Recipient],
    manifest: Manifest,
) -> Result<Written, BackupError> {
    let mut input =
        BufReader::new(File::open(snapshot).map_err(|e| BackupError::io("cannot read the snapshot", snapshot, e))?);
    encrypt_stream(&mut input, dir, (stem, SUFFIX, MANIFEST_SUFFIX), recipients, manifest)
}

/// Encrypts a key snapshot (`keys`, its JSON) as `<dir>/<stem>.keys.age` with its manifest,
/// like `encrypt_to`.
pub fn encrypt_keys(
    keys: &[u8],
    dir: &Path,
    stem: &str,
    recipients: &[age::x25519::Recipient],
    manifest: Manifest,
) -> Result<Written, BackupError> {
    encrypt_stream(&mut io::Cursor::new(keys), dir, (stem, KEYS_SUFFIX, KEYS_MANIFEST_SUFFIX), recipients, manifest)
}

fn encrypt_stream(
    input: &mut dyn Read,
    dir: &Path,
    (stem, suffix, manifest_suffix): (&str, &str, &str),
    recipients: &[age::x25519::Recipient],
    mut manifest: Manifest,
) -> Result<Written, BackupError> {
    let file = format!("{stem}{suffix}");
    let final_path = dir.join(&file);
    let partial = Scratch::new(dir.join(format!(".{file}.partial")));
    let out = create_private(partial.path()).map_err(|e| target_error(partial.path(), e))?;
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| BackupError::Encrypt(e.to_string()))?;
    let hashing = Hashing { inner: BufWriter::new(out), hasher: Sha256::new(), size: 0 };
    let write_err = |e| target_error(partial.path(), e);
    let mut stream = encryptor.wrap_output(hashing).map_err(write_err)?;
    io::copy(input, &mut stream).map_err(write_err)?;
    let mut hashing = stream.finish().map_err(write_err)?;
    hashing.flush().map_err(write_err)?;
    let Hashing { inner, hasher, size } = hashing;
    let out = inner.into_inner().map_err(|e| write_err(e.into_error()))?;
    out.sync_all().map_err(write_err)?;
    drop(out);
    let sha256 = hex::encode(hasher.finalize());
    fs::rename(partial.path(), &final_path).map_err(|e| target_error(&final_path, e))?;
    partial.keep();
    // From here the backup exists; without its manifest it is of no use, so it goes again if
    // the manifest cannot be written.
    let written = Scratch::new(final_path);
    manifest.file = file.clone();
    manifest.size = size;
    manifest.sha256 = sha256.clone();
    write_manifest(dir, &format!("{stem}{manifest_suffix}"), &manifest)?;
    sync_dir(dir).map_err(|e| target_error(dir, e))?;
    written.keep();
    Ok(Written { file, size, sha256 })
}

fn write_manifest(dir: &Path, name: &str, manifest: &Manifest) -> Result<(), BackupError> {
    let path = dir.join(name);
    let partial = Scratch::new(dir.join(format!(".{name}.partial")));
    let mut text = serde_json::to_vec_pretty(manifest).map_err(|e| BackupError::Encrypt(e.to_string()))?;
    text.push(b'\n');
    let write_err = |e| target_error(partial.path(), e);
    let mut out = create_private(partial.path()).map_err(write_err)?;
    out.write_all(&text).map_err(write_err)?;
    out.sync_all().map_err(write_err)?;
    drop(out);
    fs::rename(partial.path(), &path).map_err(|e| target_error(&path, e))?;
    partial.keep();
    Ok(())
}

/// The manifest beside backup `file`.
pub fn read_manifest(file: &Path) -> Result<Manifest, BackupError> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let path = manifest_path(file).ok_or_else(|| BackupError::BadName(name.to_owned()))?;
    let opened = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BackupError::ManifestMissing { manifest: path }),
        Err(e) => return Err(BackupError::io("cannot read the manifest", &path, e)),
    };
    let mut text = Vec::new();
    opened
        .take(MANIFEST_MAX_BYTES)
        .read_to_end(&mut text)
        .map_err(|e| BackupError::io("cannot read the manifest", &path, e))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| BackupError::ManifestInvalid { path: path.clone(), message: e.to_string() })?;
    if manifest.file != name {
        let message = format!("it describes {}, not {name}", manifest.file);
        return Err(BackupError::ManifestInvalid { path, message });
    }
    Ok(manifest)
}

/// Size and SHA-256 (hex) of a file.
pub fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    let mut input = BufReader::new(File::open(path)?);
    let mut hashing = Hashing { inner: io::sink(), hasher: Sha256::new(), size: 0 };
    io::copy(&mut input, &mut hashing)?;
    Ok((hashing.size, hex::encode(hashing.hasher.finalize())))
}

/// Proves `file` is the one its manifest describes: size first (a truncated copy), then SHA-256.
pub fn check_against_manifest(file: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let (size, sha256) = sha256_file(file).map_err(|e| BackupError::io("cannot read the backup", file, e))?;
    if size < manifest.size {
        return Err(BackupError::Truncated { file: file.to_owned(), actual: size, expected: manifest.size });
    }
    if size != manifest.size || sha256 != manifest.sha256 {
        let detail = format!(
            "{size} bytes with SHA-256 {sha256}; the manifest says {} bytes, {}",
            manifest.size, manifest.sha256
        );
        return Err(BackupError::Damaged { file: file.to_owned(), detail });
    }
    Ok(())
}

/// The identities (private keys) in an age identity file, as made by `age-keygen`.
pub fn load_identities(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, BackupError> {
    let problem = |message: String| BackupError::Identity { path: path.to_owned(), message };
    let file = File::open(path).map_err(|e| problem(e.to_string()))?;
    let identities = age::IdentityFile::from_buffer(BufReader::new(file))
        .map_err(|e| problem(e.to_string()))?
        .into_identities()
        .map_err(|e| problem(e.to_string()))?;
    if identities.is_empty() {
        return Err(problem("it holds no AGE-SECRET-KEY-1… line".into()));
    }
    Ok(identities)
}

/// Decrypts backup `file` into `out` (created, 0600); returns the plaintext size.
pub fn decrypt_to(
    file: &Path,
    identities: &[Box<dyn age::Identity + Send + Sync>],
    identity_path: &Path,
    out: &Path,
    manifest: &Manifest,
) -> Result<u64, BackupError> {
    let mut output = create_private(out).map_err(|e| BackupError::io("cannot write the decrypted copy", out, e))?;
    let size = decrypt_into(file, identities, identity_path, &mut output, manifest, u64::MAX)?;
    output.sync_all().map_err(|e| BackupError::io("cannot write the decrypted copy", out, e))?;
    Ok(size)
}

/// Decrypts a key snapshot into memory (at most `limit` bytes).
pub fn decrypt_keys(
    file: &Path,
    identities: &[Box<dyn age::Identity + Send + Sync>],
    identity_path: &Path,
    manifest: &Manifest,
    limit: u64,
) -> Result<Vec<u8>, BackupError> {
    let mut out = Vec::new();
    decrypt_into(file, identities, identity_path, &mut out, manifest, limit)?;
    Ok(out)
}

fn decrypt_into(
    file: &Path,
    identities: &[Box<dyn age::Identity + Send + Sync>],
    identity_path: &Path,
    output: &mut dyn Write,
    manifest: &Manifest,
    limit: u64,
) -> Result<u64, BackupError> {
    let damaged = |detail: String| BackupError::Damaged { file: file.to_owned(), detail };
    let input = BufReader::new(File::open(file).map_err(|e| BackupError::io("cannot read the backup", file, e))?);
    let decryptor = age::Decryptor::new_buffered(input).map_err(|e| match e {
        age::DecryptError::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof => BackupError::Truncated {
            file: file.to_owned(),
            actual: fs::metadata(file).map(|m| m.len()).unwrap_or(0),
            expected: manifest.size,
        },
        other => damaged(format!("it is not a readable age file ({other})")),
    })?;
    let mut reader =
        decryptor.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity)).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => BackupError::WrongIdentity {
                identity: identity_path.to_owned(),
                file: file.to_owned(),
                recipients: manifest.recipients.join(", "),
            },
            other => damaged(format!("its header cannot be decrypted ({other})")),
        })?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(damaged(format!("decryption stopped after {size} bytes ({e})"))),
        };
        output.write_all(&buf[..n]).map_err(|e| BackupError::io("cannot write the decrypted copy", file, e))?;
        size += n as u64;
        if size > limit {
            return Err(damaged(format!("it decrypts to more than {limit} bytes")));
        }
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_only_file_system_names_the_drop_in() {
        let error = target_error(Path::new("/srv/backups"), io::Error::from(io::ErrorKind::ReadOnlyFilesystem));
        let text = error.to_string();
        assert!(text.contains("ReadWritePaths=") && text.contains("systemctl edit parley"), "{text}");
        let denied = target_error(Path::new("/srv/backups"), io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(!denied.to_string().contains("ReadWritePaths="), "{denied}");
    }

    #[test]
    fn names_round_trip_and_strangers_are_ignored() {
        let stem = stem_at(1_767_225_600); // 2026-01-01 00:00:00 UTC
        assert_eq!(stem, "parley-20260101-000000");
        assert_eq!(parse_name(&format!("{stem}.db.age")), Some((stem.as_str(), 1_767_225_600)));
        for stranger in ["parley.db", "parley-2026-01-01.db.age", "../parley-20260101-000000.db.age", "x.db.age"] {
            assert_eq!(parse_name(stranger), None, "{stranger}");
        }
        let manifest = manifest_path(Path::new("/b/parley-20260101-000000.db.age"));
        assert_eq!(manifest, Some(PathBuf::from("/b/parley-20260101-000000.manifest.json")));
    }
}
