-- Chat runs on each site's lawful basis (public task or legitimate interests) instead of behind a
-- consent box; a site may still require consent. The consent ledger takes the optional purposes
-- asked for separately: marketing contact and the e-mailed transcript (beside tracking).

ALTER TABLE sites ADD COLUMN lawful_basis TEXT NOT NULL DEFAULT 'public_task'
    CHECK (lawful_basis IN ('public_task', 'legitimate_interests'));
ALTER TABLE sites ADD COLUMN require_consent INTEGER NOT NULL DEFAULT 0 CHECK (require_consent IN (0, 1));
-- Whether the pre-chat form offers the optional "contact me about …" box.
ALTER TABLE sites ADD COLUMN ask_marketing INTEGER NOT NULL DEFAULT 0 CHECK (ask_marketing IN (0, 1));

CREATE TABLE consents_v2 (
    id              INTEGER PRIMARY KEY,
    subject_id      INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    conversation_id INTEGER REFERENCES conversations(id) ON DELETE CASCADE,
    -- 'chat': consent to use the details to answer the enquiry (only where the site requires it);
    -- 'tracking': remember this device; 'marketing': contact about related services;
    -- 'transcript': e-mail the transcript.
    purpose         TEXT    NOT NULL CHECK (purpose IN ('chat', 'tracking', 'marketing', 'transcript')),
    notice_version  TEXT    NOT NULL,
    given_at        INTEGER NOT NULL,
    withdrawn_at    INTEGER
) STRICT;

INSERT INTO consents_v2 (id, subject_id, conversation_id, purpose, notice_version, given_at, withdrawn_at)
    SELECT id, subject_id, conversation_id, purpose, notice_version, given_at, withdrawn_at FROM consents;
DROP TABLE consents;
ALTER TABLE consents_v2 RENAME TO consents;
CREATE INDEX consents_by_subject ON consents(subject_id);
CREATE INDEX consents_by_conversation ON consents(conversation_id);
