//! Key snapshots on disk (`parley-YYYYMMDD-HHMMSS.keys.age` with a `.keys.manifest.json`):
//! found beside the backups, the newest one chosen for a restore, checked and decrypted, and
//! pruned with their own short retention. Blocking I/O: call from `spawn_blocking`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::BackupError;
use super::archive::{self, Manifest, manifest_path, parse_keys_name, target_error};
use crate::store::key_snapshot::KeySnapshot;

/// A key snapshot decrypts to at most this much JSON (about 4 million subjects).
const KEYS_MAX_BYTES: u64 = 1 << 30;

/// The key snapshots in `dir`, newest first, as (file name, time from the name).
pub fn list(dir: &Path) -> Result<Vec<(String, i64)>, BackupError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(target_error(dir, e)),
    };
    let mut found: Vec<(String, i64)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            let (_, time) = parse_keys_name(&name)?;
            Some((name, time))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(found)
}

/// The newest key snapshot in `dir`; the data snapshot made at `data_time` needs one no older
/// than itself (each backup writes both), or a restore would drop people it cannot key.
pub fn newest_for(dir: &Path, data_time: i64) -> Result<Option<PathBuf>, BackupError> {
    let listed = list(dir)?;
    match listed.first() {
        None => Ok(None),
        Some((name, time)) if *time < data_time => Err(BackupError::KeySnapshotTooOld {
            dir: dir.to_owned(),
            newest: name.clone(),
            data: archive::stem_at(data_time),
        }),
        Some((name, _)) => Ok(Some(dir.join(name))),
    }
}

/// Checks a key snapshot against its manifest, decrypts it with `identity` and parses it.
pub fn load(file: &Path, identity: &Path) -> Result<(Manifest, KeySnapshot), BackupError> {
    let manifest = archive::read_manifest(file)?;
    archive::check_against_manifest(file, &manifest)?;
    let identities = archive::load_identities(identity)?;
    let json = archive::decrypt_keys(file, &identities, identity, &manifest, KEYS_MAX_BYTES)?;
    let keys: KeySnapshot = serde_json::from_slice(&json).map_err(|e| BackupError::Damaged {
        file: file.to_owned(),
        detail: format!("it is not a parley key snapshot ({e})"),
    })?;
    if keys.format != crate::store::key_snapshot::KEY_SNAPSHOT_FORMAT {
        let detail = format!("key snapshot format {} is not known to this parley", keys.format);
        return Err(BackupError::Damaged { file: file.to_owned(), detail });
    }
    Ok((manifest, keys))
}

/// Retention of key snapshots: keeps the newest `keep_last` and none older than `max_age_days`
/// (0: no limit), but never the newest one nor `keep`. Returns the names removed.
pub fn prune(dir: &Path, keep_last: u32, max_age_days: u32, now: i64, keep: &str) -> Result<Vec<String>, BackupError> {
    let oldest = (max_age_days > 0).then(|| now - i64::from(max_age_days) * 86_400);
    let mut removed = Vec::new();
    for (index, (name, time)) in list(dir)?.into_iter().enumerate() {
        let surplus = index >= keep_last as usize;
        let too_old = oldest.is_some_and(|limit| time < limit);
        if index == 0 || name == keep || !(surplus || too_old) {
            continue;
        }
        let path = dir.join(&name);
        fs::remove_file(&path).map_err(|e| target_error(&path, e))?;
        if let Some(manifest) = manifest_path(&path) {
            match fs::remove_file(&manifest) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(target_error(&manifest, e)),
                _ => {}
            }
        }
        removed.push(name);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::archive::{KEYS_MANIFEST_SUFFIX, KEYS_SUFFIX, SUFFIX, stem_at};

    #[test]
    fn key_snapshots_expire_by_age_and_count_but_the_newest_stays() {
        let dir = tempfile::tempdir().expect("tempdir");
        let day = 86_400;
        let now = 1_767_225_600;
        for age_days in [0, 1, 8, 9] {
            let stem = stem_at(now - age_days * day);
            fs::write(dir.path().join(format!("{stem}{KEYS_SUFFIX}")), b"x").expect("write");
            fs::write(dir.path().join(format!("{stem}{KEYS_MANIFEST_SUFFIX}")), b"{}").expect("write");
            fs::write(dir.path().join(format!("{stem}{SUFFIX}")), b"x").expect("write");
        }
        let removed = prune(dir.path(), 7, 7, now, "").expect("prune");
        assert_eq!(removed, vec![stem_at(now - 8 * day) + KEYS_SUFFIX, stem_at(now - 9 * day) + KEYS_SUFFIX]);
        assert!(dir.path().join(stem_at(now - 9 * day) + SUFFIX).exists(), "data snapshots are not touched");
        assert_eq!(prune(dir.path(), 1, 0, now, "").expect("prune"), vec![stem_at(now - day) + KEYS_SUFFIX]);
        assert_eq!(prune(dir.path(), 1, 1, now + 400 * day, "").expect("prune"), Vec::<String>::new());
        assert!(newest_for(dir.path(), now + 1).is_err(), "a key snapshot older than the data is refused");
        assert_eq!(newest_for(dir.path(), now).expect("newest"), Some(dir.path().join(stem_at(now) + KEYS_SUFFIX)));
    }
}
