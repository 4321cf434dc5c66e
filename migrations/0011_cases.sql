-- Data-subject requests as cases (docs/gdpr.md, "Requests (cases)"): one row per request with
-- its legal deadline (one calendar month after receipt). Notes are for the handling of the
-- case, not personal data: the person is linked through subject_id only.
CREATE TABLE gdpr_cases (
    id          INTEGER PRIMARY KEY,
    reference   TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('access', 'erasure', 'rectification', 'objection')),
    received_on TEXT    NOT NULL,
    deadline    TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'refused')),
    subject_id  INTEGER REFERENCES subjects(id) ON DELETE SET NULL,
    notes       TEXT    NOT NULL DEFAULT '',
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER
) STRICT;

CREATE INDEX gdpr_cases_by_status ON gdpr_cases(status, deadline);
