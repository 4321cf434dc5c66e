-- Internal notes on a conversation (staff only, never shown to the visitor) and canned
-- responses (personal when owner_id is set, shared otherwise).

CREATE TABLE notes (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    client_id       TEXT    NOT NULL,
    author_user_id  INTEGER REFERENCES staff_users(id) ON DELETE SET NULL,
    author_name     TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (conversation_id, client_id)
) STRICT;

CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER REFERENCES staff_users(id) ON DELETE CASCADE,
    shortcut   TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX canned_shortcut ON canned_responses(COALESCE(owner_id, 0), shortcut);
