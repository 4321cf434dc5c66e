//! Backup faults: an unwritable or full target, and a corrupted, truncated, manifest-less,
//! wrongly keyed or too new backup. Each gives a clear error; a failed run is recorded, counted
//! and audited and warns administrators; earlier backups and the live database stay as they were.

use std::path::{Path, PathBuf};
use std::process::Command;

use parley::backup::{BackupError, Trigger};
use reqwest::StatusCode;
use serde_json::Value;

use super::{admin, backups, get_backups, identity, post_backup, sha256_of, spawn_with_recipient};
use crate::harness::error_code;

/// A tmpfs of 64 KiB, too small for any backup; unmounted when dropped.
struct TinyDisk(PathBuf);

impl TinyDisk {
    fn mount(at: &Path) -> Option<TinyDisk> {
        std::fs::create_dir_all(at).expect("mount point");
        let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"]).arg(at).status();
        match mounted {
            Ok(status) if status.success() => Some(TinyDisk(at.to_owned())),
            _ => None,
        }
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[tokio::test]
async fn an_unwritable_or_full_target_fails_cleanly_and_warns_administrators() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (_, recipient) = identity(scratch.path(), "key.txt");
    // A directory under a regular file cannot be created, not even by root.
    let blocker = scratch.path().join("not-a-directory");
    std::fs::write(&blocker, b"a file").expect("write");
    let bad_dir = blocker.join("backups");
    let app = spawn_with_recipient(&recipient, |c| c.backup.dir = bad_dir.clone()).await;
    let (cookie, csrf) = admin(&app).await;

    let earlier_dir = scratch.path().join("earlier");
    let earlier = backups(&app).create(Trigger::Cli, "cli", Some(earlier_dir.clone())).await.expect("a good backup");
    let earlier_file = earlier_dir.join(earlier.file.expect("file"));
    let earlier_sha = sha256_of(&earlier_file);

    let response = post_backup(&app, &cookie, &csrf).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "backup_failed");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(&bad_dir.display().to_string()) && message.contains("backup.dir"), "{message}");

    let shown = get_backups(&app, &cookie).await;
    assert_eq!(shown["last_run"]["status"], "failed", "{shown}");
    assert!(shown["last_run"]["error"].as_str().unwrap_or_default().contains("backup.dir"), "{shown}");
    assert!(shown["warning"].as_str().unwrap_or_default().contains("failed"), "administrators are warned: {shown}");
    let metrics = app.app.state().metrics.render();
    assert!(metrics.contains("parley_backups_total{result=\"failed\"} 1"), "{metrics}");
    assert!(metrics.contains("parley_backups_total{result=\"ok\"} 1"), "{metrics}");
    let audit = app.app.state().store.audit_entries(5).await.expect("audit");
    assert_eq!((audit[0].action.as_str(), audit[0].actor.as_str()), ("backup.create.failed", "root"), "{audit:?}");

    // A full disk: the error says so, and no partial file is left on it.
    if is_root() {
        let full = TinyDisk::mount(&scratch.path().join("full")).expect("mount a tmpfs (as root)");
        let err = backups(&app).create(Trigger::Cli, "cli", Some(full.0.clone())).await.expect_err("disk full");
        assert!(err.to_string().contains("disk is full"), "{err}");
        assert_eq!(std::fs::read_dir(&full.0).expect("list").count(), 0, "nothing left behind");
        let runs = app.app.state().store.backup_runs(5).await.expect("runs");
        assert_eq!(runs.iter().filter(|r| r.status == "failed").count(), 2);
    } else {
        eprintln!("full-disk case skipped: mounting a small tmpfs needs root");
    }

    assert_eq!(sha256_of(&earlier_file), earlier_sha, "the earlier backup is untouched");
    let check: String =
        sqlx::query_scalar("PRAGMA integrity_check").fetch_one(app.app.state().store.reader()).await.expect("check");
    assert_eq!(check, "ok");
    let ready = app.client.get(app.staff("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), StatusCode::OK, "the appliance keeps serving");
    let not_admin = {
        app.add_user("olly", "operator", super::ADMIN_PASSWORD).await;
        let (cookie, _) = app.login("olly", super::ADMIN_PASSWORD).await;
        app.client.get(app.staff("/api/v1/backups")).header("cookie", cookie).send().await.expect("list")
    };
    assert_eq!(error_code(not_admin, StatusCode::FORBIDDEN).await, "forbidden");
    app.stop().await;
}

/// Copies a backup and its manifest into `to`; returns the copy's path.
fn copy_backup(file: &Path, to: &Path) -> PathBuf {
    let name = file.file_name().and_then(|n| n.to_str()).expect("name");
    let manifest = name.replace(".db.age", ".manifest.json");
    std::fs::create_dir_all(to).expect("dir");
    std::fs::copy(file, to.join(name)).expect("copy");
    std::fs::copy(file.with_file_name(&manifest), to.join(&manifest)).expect("copy manifest");
    // The key snapshot made with it goes along (a restore takes its keys from there).
    for keys in [name.replace(".db.age", ".keys.age"), name.replace(".db.age", ".keys.manifest.json")] {
        if file.with_file_name(&keys).exists() {
            std::fs::copy(file.with_file_name(&keys), to.join(&keys)).expect("copy key snapshot");
        }
    }
    to.join(name)
}

fn rewrite_manifest(file: &Path, change: impl FnOnce(&mut Value)) {
    let path = file
        .with_file_name(file.file_name().and_then(|n| n.to_str()).expect("name").replace(".db.age", ".manifest.json"));
    let mut manifest: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    change(&mut manifest);
    std::fs::write(&path, manifest.to_string()).expect("write");
}

/// A copy of a backup re-encrypted with the schema version moved past this binary's.
async fn from_the_future(file: &Path, identity: &Path, recipient: &str, to: &Path) -> PathBuf {
    let copy = copy_backup(file, to);
    let plain = to.join("plain.db");
    let key = std::fs::read_to_string(identity).expect("identity");
    let identity: age::x25519::Identity =
        key.lines().find(|l| l.starts_with("AGE-SECRET")).expect("key").parse().expect("id");
    let bytes = age::decrypt(&identity, &std::fs::read(&copy).expect("read")).expect("decrypts");
    std::fs::write(&plain, bytes).expect("write");
    let future = parley::store::known_schema_version() + 1;
    let mut conn = parley::store::backups::open_file(&plain, false).await.expect("open");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (?1, 'from the future', 1, x'00', 0)",
    )
    .bind(future)
    .execute(&mut conn)
    .await
    .expect("insert");
    sqlx::Connection::close(conn).await.expect("close");
    let recipient: age::x25519::Recipient = recipient.parse().expect("recipient");
    let sealed = age::encrypt(&recipient, &std::fs::read(&plain).expect("read")).expect("encrypts");
    std::fs::write(&copy, &sealed).expect("write");
    let sha = sha256_of(&copy);
    rewrite_manifest(&copy, |m| {
        m["schema_version"] = future.into();
        m["size"] = sealed.len().into();
        m["sha256"] = sha.into();
    });
    copy
}

#[tokio::test]
async fn damaged_or_foreign_backups_are_refused_and_change_nothing() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (identity, recipient) = identity(scratch.path(), "key.txt");
    let (stranger, _) = super::identity(scratch.path(), "someone-elses-key.txt");
    let app = spawn_with_recipient(&recipient, |_| {}).await;
    let first = backups(&app).create(Trigger::Cli, "cli", None).await.expect("backup");
    let second = backups(&app).create(Trigger::Cli, "cli", None).await.expect("backup");
    let data = app.stop().await;
    let dir = data.path().join("backups");
    let originals: Vec<PathBuf> = [first, second].into_iter().map(|r| dir.join(r.file.expect("file"))).collect();
    let original_shas: Vec<String> = originals.iter().map(|p| sha256_of(p)).collect();
    let live = data.path().join("parley.db");
    let live_sha = sha256_of(&live);
    let good = &originals[1];

    type Fault = (&'static str, PathBuf, PathBuf, &'static str);
    let mut faults: Vec<Fault> = Vec::new();

    let corrupted = copy_backup(good, &scratch.path().join("corrupted"));
    let mut bytes = std::fs::read(&corrupted).expect("read");
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0xff;
    }
    std::fs::write(&corrupted, &bytes).expect("write");
    faults.push(("corrupted", corrupted.clone(), identity.clone(), "is damaged"));

    // Corrupted with a manifest to match: age's authentication catches it.
    let forged = copy_backup(&corrupted, &scratch.path().join("forged"));
    let forged_sha = sha256_of(&forged);
    rewrite_manifest(&forged, |m| m["sha256"] = forged_sha.into());
    faults.push(("corrupted, manifest to match", forged, identity.clone(), "decryption stopped"));

    let truncated = copy_backup(good, &scratch.path().join("truncated"));
    let file = std::fs::OpenOptions::new().write(true).open(&truncated).expect("open");
    file.set_len(std::fs::metadata(&truncated).expect("meta").len() / 2).expect("truncate");
    faults.push(("truncated", truncated, identity.clone(), "is truncated"));

    let lonely = copy_backup(good, &scratch.path().join("lonely"));
    std::fs::remove_file(lonely.with_file_name(
        lonely.file_name().and_then(|n| n.to_str()).expect("name").replace(".db.age", ".manifest.json"),
    ))
    .expect("remove manifest");
    faults.push(("missing manifest", lonely, identity.clone(), "no manifest"));

    faults.push(("wrong identity", good.clone(), stranger, "cannot decrypt"));
    faults.push(("not an identity", good.clone(), corrupted.clone(), "cannot use the identity file"));

    for (what, file, key, expected) in &faults {
        let verify = parley::backup::verify(file, key).await.expect_err(what).to_string();
        assert!(verify.contains(expected), "verify, {what}: {verify}");
        let restore = parley::backup::restore(data.path(), file, key, false, "test").await.expect_err(what);
        assert!(restore.to_string().contains(expected), "restore, {what}: {restore}");
        assert_eq!(sha256_of(&live), live_sha, "{what}: the live database is untouched");
    }
    let wrong = parley::backup::verify(good, &faults[4].2).await.expect_err("wrong identity");
    assert!(wrong.to_string().contains(&recipient), "names the keys that would work: {wrong}");

    let newer = from_the_future(good, &identity, &recipient, &scratch.path().join("future")).await;
    let verified = parley::backup::verify(&newer, &identity).await.expect("a sound backup");
    assert!(verified.newer_than_binary);
    let refused = parley::backup::restore(data.path(), &newer, &identity, false, "test").await.expect_err("newer");
    assert!(matches!(refused, BackupError::NewerSchema { .. }), "{refused}");
    assert!(refused.to_string().contains("newer than this parley binary"), "{refused}");

    assert_eq!(sha256_of(&live), live_sha, "the live database is untouched");
    let after: Vec<String> = originals.iter().map(|p| sha256_of(p)).collect();
    assert_eq!(after, original_shas, "earlier backups are untouched");
    let leftovers: Vec<_> = std::fs::read_dir(data.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("restore-") || n.starts_with("backup-snapshot-"))
        .collect();
    assert!(leftovers.is_empty(), "no decrypted copies left behind: {leftovers:?}");
}
