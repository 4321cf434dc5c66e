-- The access log (docs/gdpr.md, "Access log"): one row per data subject shown in one response
-- to one staff member (lists, searches, the dashboard's queue). Ids only, never personal data.
-- Views of one transcript or contact are also audit entries; the reports read both.
CREATE TABLE access_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    -- The staff account's user name.
    actor      TEXT    NOT NULL,
    -- What was shown, e.g. `list.offline_requests`, `ws.queue`.
    view       TEXT    NOT NULL,
    subject_id INTEGER NOT NULL
) STRICT;
CREATE INDEX access_log_subject ON access_log (subject_id, at);
CREATE INDEX access_log_at ON access_log (at);

-- A role's reach (docs/security.md, "Team scope"): 'all' chats, offline requests and transcripts,
-- or only those of the departments its members belong to. Built-in roles stay 'all'.
ALTER TABLE roles ADD COLUMN scope TEXT NOT NULL DEFAULT 'all' CHECK (scope IN ('all', 'own_teams'));
