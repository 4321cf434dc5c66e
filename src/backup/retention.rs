//! The backups in a directory (newest first, with their manifests) and retention: keep the
//! newest `keep_last`, none older than `max_age_days`, never the newest one.

use std::fs;
use std::io;
use std::path::Path;

use super::BackupError;
use super::archive::{Manifest, manifest_path, parse_name, read_manifest, target_error};

/// A backup found in a directory.
#[derive(Debug, Clone)]
pub struct Listed {
    pub file: String,
    pub size: u64,
    /// From the name (UTC seconds).
    pub time: i64,
    pub manifest: Option<Manifest>,
    /// Why it cannot be restored as it is (no manifest, wrong size), if so.
    pub problem: Option<String>,
}

/// The backups in `dir`, newest first; none if the directory does not exist yet.
pub fn list(dir: &Path) -> Result<Vec<Listed>, BackupError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(target_error(dir, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| target_error(dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        let Some((_, time)) = parse_name(&name) else { continue };
        let path = entry.path();
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        let (manifest, problem) = match read_manifest(&path) {
            Ok(m) if m.size != size => {
                let problem = format!("{size} bytes, but the manifest says {}: truncated or damaged", m.size);
                (Some(m), Some(problem))
            }
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e.to_string())),
        };
        found.push(Listed { file: name, size, time, manifest, problem });
    }
    found.sort_by(|a, b| b.file.cmp(&a.file));
    Ok(found)
}

/// Retention: keeps the newest `keep_last` and none older than `max_age_days` (0: no limit),
/// but never the newest one nor `keep`. Returns the names removed.
pub fn prune(dir: &Path, keep_last: u32, max_age_days: u32, now: i64, keep: &str) -> Result<Vec<String>, BackupError> {
    let oldest = (max_age_days > 0).then(|| now - i64::from(max_age_days) * 86_400);
    let mut removed = Vec::new();
    for (index, listed) in list(dir)?.into_iter().enumerate() {
        let surplus = index >= keep_last as usize;
        let too_old = oldest.is_some_and(|limit| listed.time < limit);
        if index == 0 || listed.file == keep || !(surplus || too_old) {
            continue;
        }
        let path = dir.join(&listed.file);
        fs::remove_file(&path).map_err(|e| target_error(&path, e))?;
        if let Some(manifest) = manifest_path(&path) {
            match fs::remove_file(&manifest) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(target_error(&manifest, e)),
                _ => {}
            }
        }
        removed.push(listed.file);
    }
    Ok(removed)
}

/// Removes what an interrupted backup or restore left behind: plaintext snapshots
/// (`backup-snapshot-*.db`) and, with `restores`, decrypted restore directories (`restore-*`)
/// in the data directory — they would keep people erased since — and partial files
/// (`.parley-*.partial`) in `backup_dir`. Call only while holding `backup.lock` (and
/// `serve.lock` for `restores`). Returns the names removed.
pub fn remove_leftovers(data_dir: &Path, backup_dir: Option<&Path>, restores: bool) -> Vec<String> {
    let mut removed = Vec::new();
    let mut sweep = |dir: &Path, matches: &dyn Fn(&str) -> bool| {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !matches(&name) {
                continue;
            }
            let path = entry.path();
            let result = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            match result {
                Ok(()) => removed.push(name),
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err, "cannot remove a leftover backup file")
                }
            }
        }
    };
    sweep(data_dir, &|name| {
        (name.starts_with("backup-snapshot-") && name.ends_with(".db")) || (restores && name.starts_with("restore-"))
    });
    if let Some(dir) = backup_dir {
        sweep(dir, &|name| name.starts_with(".parley-") && name.ends_with(".partial"));
    }
    if !removed.is_empty() {
        tracing::warn!(files = ?removed, "removed what an interrupted backup or restore left behind");
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::archive::{MANIFEST_SUFFIX, SUFFIX, stem_at};

    #[test]
    fn prune_keeps_the_newest_and_the_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let day = 86_400;
        let now = 1_767_225_600;
        for age_days in [0, 1, 2, 3, 40] {
            let stem = stem_at(now - age_days * day);
            fs::write(dir.path().join(format!("{stem}{SUFFIX}")), b"x").expect("write");
            fs::write(dir.path().join(format!("{stem}{MANIFEST_SUFFIX}")), b"{}").expect("write");
        }
        fs::write(dir.path().join("notes.txt"), b"not ours").expect("write");
        let removed = prune(dir.path(), 3, 30, now, "").expect("prune");
        assert_eq!(removed, vec![stem_at(now - 3 * day) + SUFFIX, stem_at(now - 40 * day) + SUFFIX]);
        assert_eq!(list(dir.path()).expect("list").len(), 3);
        assert!(dir.path().join("notes.txt").exists(), "other files stay");
        // Everything too old except the newest, which always stays.
        let removed = prune(dir.path(), 10, 1, now + 400 * day, "").expect("prune");
        assert_eq!(removed.len(), 2);
        assert_eq!(list(dir.path()).expect("list")[0].file, stem_at(now) + SUFFIX);
    }

    #[test]
    fn leftovers_of_interrupted_runs_go() {
        let data = tempfile::tempdir().expect("tempdir");
        let backups = data.path().join("backups");
        fs::create_dir_all(data.path().join("restore-1234")).expect("dir");
        fs::create_dir_all(&backups).expect("dir");
        for name in ["backup-snapshot-1.db", "parley.db", "restore-1234/parley.db"] {
            fs::write(data.path().join(name), b"x").expect("write");
        }
        for name in [".parley-20260101-000000.db.age.partial", "parley-20260101-000000.db.age"] {
            fs::write(backups.join(name), b"x").expect("write");
        }
        let mut removed = remove_leftovers(data.path(), Some(&backups), false);
        removed.sort();
        assert_eq!(removed, [".parley-20260101-000000.db.age.partial", "backup-snapshot-1.db"]);
        assert!(data.path().join("restore-1234").exists(), "restores only when asked");
        assert_eq!(remove_leftovers(data.path(), None, true), ["restore-1234"]);
        assert!(data.path().join("parley.db").exists() && backups.join("parley-20260101-000000.db.age").exists());
    }
}
