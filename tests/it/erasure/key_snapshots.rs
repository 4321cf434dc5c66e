//! Key snapshots: a data snapshot holds no data key; a restore takes the keys from the newest
//! key snapshot beside the backup, so a person erased after an old backup is not restored from
//! it (not even on a new machine without the live erasure ledger) once the key snapshots from
//! before the erasure are gone; without any key snapshot a restore stops and names what is missing.

use std::io::Read;
use std::path::Path;

use parley::backup::{BackupError, Trigger};

use super::{carve_bytes, chatting_visitor, erase};
use crate::backup::{backups, identity, spawn_with_recipient};
use crate::chat_support::operator;
use crate::harness::test_config;

/// The plaintext of an age file, decrypted with the identity file the way `age -d` does.
fn decrypt(file: &Path, identity_file: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(identity_file).expect("identity");
    let identity: age::x25519::Identity =
        text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).expect("key line").parse().expect("identity");
    let input = std::io::BufReader::new(std::fs::File::open(file).expect("backup"));
    let decryptor = age::Decryptor::new_buffered(input).expect("an age file");
    let mut reader = decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).expect("decrypts");
    let mut out = Vec::new();
    reader.read_to_end(&mut out).expect("read");
    out
}

fn keys_of(data_file: &str) -> (String, String) {
    let stem = data_file.strip_suffix(".db.age").expect("a backup name");
    (format!("{stem}.keys.age"), format!("{stem}.keys.manifest.json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_backup_cannot_bring_back_a_person_erased_after_it_once_older_key_snapshots_are_gone() {
    let keys = tempfile::tempdir().expect("tempdir");
    let (identity, recipient) = identity(keys.path(), "key.txt");
    let app = spawn_with_recipient(&recipient, |_| {}).await;
    let _olive = operator(&app, "olive").await;
    let erased = chatting_visitor(&app, "Ann Erased").await;
    let kept = chatting_visitor(&app, "Cat Kept").await;
    let old = backups(&app).create(Trigger::Cli, "cli", None).await.expect("backup 1").file.expect("file");
    erase(&app, erased.subject, "dora").await;
    let new = backups(&app).create(Trigger::Cli, "cli", None).await.expect("backup 2").file.expect("file");
    let dir = app.stop().await;
    let backup_dir = dir.path().join("backups");
    for name in [&old, &new] {
        let (keys, manifest) = keys_of(name);
        assert!(backup_dir.join(&keys).is_file() && backup_dir.join(manifest).is_file(), "{keys} is written");
    }

    // The data snapshot of backup 1 holds nobody's wrapped data key, but the ciphertexts.
    let plain = decrypt(&backup_dir.join(&old), &identity);
    for person in [&erased, &kept] {
        assert_eq!(carve_bytes(&plain, &person.needles[..1]), Vec::<usize>::new(), "no wrapped key in the data");
        assert!(!carve_bytes(&plain, &person.needles[1..]).is_empty(), "the data is in it, encrypted");
    }
    let verified = parley::backup::verify(&backup_dir.join(&old), &identity).await.expect("verifies");
    assert_eq!(verified.key_snapshot.as_ref().map(|k| k.0.clone()), Some(keys_of(&new).0), "the newest is used");

    // Backup 1's key snapshot has expired. A new machine: the KEK, backup 1, the newest keys.
    let (old_keys, old_manifest) = keys_of(&old);
    std::fs::remove_file(backup_dir.join(old_keys)).expect("expire");
    std::fs::remove_file(backup_dir.join(old_manifest)).expect("expire");
    let fresh = tempfile::tempdir().expect("tempdir");
    let data = fresh.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::copy(dir.path().join("kek.key"), data.join("kek.key")).expect("the KEK goes along");
    let restored =
        parley::backup::restore(&data, &backup_dir.join(&old), &identity, false, "cli").await.expect("restores");
    assert_eq!(restored.keyless_removed, 1, "the erased person had no key left");
    assert_eq!(restored.key_snapshot, Some(keys_of(&new).0));

    let mut config = test_config(&data);
    config.backup.recipients = vec![recipient];
    let again = parley::Application::build(config).await.expect("starts on the restored database");
    let store = &again.state().store;
    let chats: Vec<String> = sqlx::query_scalar("SELECT public_id FROM conversations ORDER BY id")
        .fetch_all(store.reader())
        .await
        .expect("chats");
    assert_eq!(chats, std::slice::from_ref(&kept.conversation), "the erased person's chat is not restored");
    let data_of_kept = store.subject_data(kept.subject).await.expect("readable").expect("kept is back");
    assert_eq!(data_of_kept.names, ["Cat Kept"], "the others decrypt with the newest keys");
    assert_eq!(store.subject_data(erased.subject).await.expect("lookup").map(|d| d.subject), None);
    again.stop().await;
    let carved = super::carve(&data, &erased.needles);
    assert_eq!(carved, [], "nothing of the erased person in the restored files");

    // Without any key snapshot beside it, the restore names what is missing and changes nothing.
    let (new_keys, new_manifest) = keys_of(&new);
    std::fs::remove_file(backup_dir.join(new_keys)).expect("remove");
    std::fs::remove_file(backup_dir.join(new_manifest)).expect("remove");
    let before = std::fs::read(data.join("parley.db")).expect("db");
    let err =
        parley::backup::restore(&data, &backup_dir.join(&old), &identity, false, "cli").await.expect_err("no keys");
    assert!(matches!(err, BackupError::KeySnapshotMissing { .. }), "{err}");
    assert!(err.to_string().contains(".keys.age") && err.to_string().contains("Copy"), "{err}");
    assert_eq!(std::fs::read(data.join("parley.db")).expect("db"), before, "nothing changed");
}
