-- Subject identities that are never reused (docs/gdpr.md, "Erasure"): each data subject gets a
-- random 128-bit public id (32 hex digits; the integer stays the internal row id), and the
-- erasure ledger is keyed by it, so a restore that brings back an older AUTOINCREMENT counter
-- cannot make the ledger erase a new person who got an erased person's old row id. Ledger rows
-- keep the erasure's case reference, time and actor role (no personal data).

ALTER TABLE subjects ADD COLUMN public_id TEXT;
UPDATE subjects SET public_id = lower(hex(randomblob(16))) WHERE public_id IS NULL;
CREATE UNIQUE INDEX subjects_by_public_id ON subjects(public_id);

-- Every subject has a public id, however it was inserted.
CREATE TRIGGER subjects_public_id AFTER INSERT ON subjects WHEN NEW.public_id IS NULL
BEGIN UPDATE subjects SET public_id = lower(hex(randomblob(16))) WHERE id = NEW.id; END;

-- subject: the public id. Entries made before this version name a subject that is already
-- gone by its row id only: they get `legacy-<row id>` (never a 32-hex public id) and keep the
-- row id in legacy_row_id, which matches only a subject of that row id created no later than
-- the erasure (so never a person who got the id afterwards).
CREATE TABLE erasure_ledger_v2 (
    subject       TEXT    PRIMARY KEY,
    erased_at     INTEGER NOT NULL,
    case_ref      TEXT,
    actor_role    TEXT,
    legacy_row_id INTEGER
) STRICT;

INSERT INTO erasure_ledger_v2 (subject, erased_at, case_ref, actor_role, legacy_row_id)
    SELECT 'legacy-' || subject_id, erased_at, NULL, NULL, subject_id FROM erasure_ledger;
DROP TABLE erasure_ledger;
ALTER TABLE erasure_ledger_v2 RENAME TO erasure_ledger;
