-- Tracking cookies and the data subject's choices (docs/gdpr.md, "Tracking and objection").
-- sites.tracking: 'consent' = the parley_vid/parley_sid cookies only after the visitor agrees
-- (default); 'off' = never; 'always' = without asking (only where the DPO has decided that no
-- consent is needed).
ALTER TABLE sites ADD COLUMN tracking TEXT NOT NULL DEFAULT 'consent' CHECK (tracking IN ('consent', 'off', 'always'));
-- Set when the person withdraws tracking consent or objects: their visitor id is no longer used.
ALTER TABLE subjects ADD COLUMN no_tracking INTEGER NOT NULL DEFAULT 0 CHECK (no_tracking IN (0, 1));
-- UK GDPR art. 21: the person objects to profiling (prospect scoring and tracking stop).
ALTER TABLE subjects ADD COLUMN objects_to_profiling INTEGER NOT NULL DEFAULT 0 CHECK (objects_to_profiling IN (0, 1));

-- Erasures waiting for a second approver (`privacy.erasure_approvers = 2`). The reason is the
-- DPO's own words about the request; the row goes with the subject when the erasure runs.
CREATE TABLE erasure_requests (
    subject_id   INTEGER PRIMARY KEY REFERENCES subjects(id) ON DELETE CASCADE,
    requested_by TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    requested_at INTEGER NOT NULL
) STRICT;
