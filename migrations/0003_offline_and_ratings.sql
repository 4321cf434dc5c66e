-- Offline requests ("leave a message" when no operator is available) and chat ratings.

CREATE TABLE offline_requests (
    id          INTEGER PRIMARY KEY,
    client_id   TEXT    NOT NULL UNIQUE,
    site        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    assigned_to INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    done_at     INTEGER
) STRICT;

CREATE INDEX offline_requests_by_status ON offline_requests(status, created_at);

ALTER TABLE conversations ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE conversations ADD COLUMN rating_comment TEXT;
