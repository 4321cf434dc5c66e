-- Live chat: conversations and their messages. Times are Unix seconds (UTC).
-- Personal data columns (visitor_name, body) are encrypted with the subject's key once
-- encryption at rest lands; the columns keep their names.

CREATE TABLE conversations (
    id                 INTEGER PRIMARY KEY,
    public_id          TEXT    NOT NULL UNIQUE,
    -- The client-generated id of the `start` frame, so a resent start is not a second chat.
    start_client_id    TEXT    NOT NULL UNIQUE,
    -- SHA-256 of the visitor's resume token.
    visitor_token_hash BLOB    NOT NULL,
    site               TEXT    NOT NULL,
    visitor_name       TEXT    NOT NULL,
    status             TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'active', 'closed')),
    operator_id        INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    last_seq           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    accepted_at        INTEGER,
    closed_at          INTEGER,
    closed_by          TEXT CHECK (closed_by IN ('visitor', 'operator', 'system'))
) STRICT;

CREATE INDEX conversations_open ON conversations(status, created_at) WHERE status != 'closed';
CREATE INDEX conversations_by_operator ON conversations(operator_id, status);

CREATE TABLE messages (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    client_id       TEXT    NOT NULL,
    author          TEXT    NOT NULL CHECK (author IN ('visitor', 'operator', 'system')),
    author_user_id  INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    author_name     TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, client_id)
) STRICT, WITHOUT ROWID;
