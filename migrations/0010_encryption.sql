-- Encryption at rest (docs/decisions/0004-encryption.md): key-encryption-key records, data
-- subjects with their wrapped data keys, blind indexes, the erasure ledger, an append-only
-- hash-chained audit log and backup runs. Personal fields keep their columns but hold
-- "e1." + base64url(nonce ‖ AES-256-GCM ciphertext) from now on; rows written before this
-- version are sealed by the appliance on first start (rows with subject_id NULL).

-- Key-encryption keys by fingerprint (never the key). state: current, next (a rotation in
-- progress), retired.
CREATE TABLE keks (
    id          INTEGER PRIMARY KEY,
    fingerprint TEXT    NOT NULL UNIQUE,
    state       TEXT    NOT NULL CHECK (state IN ('current', 'next', 'retired')),
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
) STRICT;

-- One per data subject (a visitor or contact): their data key, wrapped by a KEK.
CREATE TABLE subjects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kek_id      INTEGER NOT NULL REFERENCES keks(id),
    wrapped_dek BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX subjects_by_kek ON subjects(kek_id);

-- HMAC-SHA256 blind indexes for exact-match lookup without decrypting.
CREATE TABLE subject_index (
    kind       TEXT    NOT NULL CHECK (kind IN ('email', 'phone', 'ip', 'visitor', 'name')),
    digest     BLOB    NOT NULL,
    subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    PRIMARY KEY (kind, digest, subject_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX subject_index_by_subject ON subject_index(subject_id);

-- Subjects erased (ids only, no personal data); re-applied after any backup restore.
CREATE TABLE erasure_ledger (
    subject_id INTEGER PRIMARY KEY,
    erased_at  INTEGER NOT NULL,
    reference  TEXT
) STRICT;

-- Append-only, hash-chained: hash = SHA-256(prev_hash ‖ canonical entry).
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    target    TEXT,
    details   TEXT,
    prev_hash BLOB    NOT NULL,
    hash      BLOB    NOT NULL
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Backup runs (scheduled or by hand) for the administration page.
CREATE TABLE backup_runs (
    id          INTEGER PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    trigger     TEXT    NOT NULL CHECK (trigger IN ('schedule', 'manual', 'cli')),
    status      TEXT    NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
    file        TEXT,
    size        INTEGER,
    sha256      TEXT,
    error       TEXT
) STRICT;

ALTER TABLE conversations ADD COLUMN subject_id INTEGER REFERENCES subjects(id);
ALTER TABLE offline_requests ADD COLUMN subject_id INTEGER REFERENCES subjects(id);
ALTER TABLE mail_outbox ADD COLUMN subject_id INTEGER REFERENCES subjects(id);

CREATE INDEX conversations_by_subject ON conversations(subject_id);
CREATE INDEX offline_requests_by_subject ON offline_requests(subject_id);
CREATE INDEX mail_outbox_by_subject ON mail_outbox(subject_id);
