-- The consent ledger (what was agreed to, under which privacy-notice version, when, and when it
-- was withdrawn), the published versions of the privacy notice, and the visitor's IP address
-- (sealed; kept truncated, in full or not at all as `privacy.visitor_ip` says).

CREATE TABLE privacy_notices (
    version      TEXT    NOT NULL PRIMARY KEY,
    published_at INTEGER NOT NULL,
    -- The notice as published (no personal data: it is generated from the settings).
    html         TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE consents (
    id              INTEGER PRIMARY KEY,
    subject_id      INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    conversation_id INTEGER REFERENCES conversations(id) ON DELETE CASCADE,
    -- 'chat': the pre-chat form's consent to use the details to answer the enquiry.
    purpose         TEXT    NOT NULL CHECK (purpose IN ('chat', 'tracking')),
    notice_version  TEXT    NOT NULL,
    given_at        INTEGER NOT NULL,
    withdrawn_at    INTEGER
) STRICT;

CREATE INDEX consents_by_subject ON consents(subject_id);
CREATE INDEX consents_by_conversation ON consents(conversation_id);

ALTER TABLE conversations ADD COLUMN visitor_ip TEXT;
