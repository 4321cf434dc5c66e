-- Foundation schema: appliance metadata, staff accounts and their sessions.
-- Times are Unix seconds (UTC).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE staff_users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT    NOT NULL UNIQUE,
    display_name         TEXT    NOT NULL,
    role                 TEXT    NOT NULL,
    -- argon2id PHC string; NULL for directory (LDAP) accounts.
    password_hash        TEXT,
    source               TEXT    NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ldap')),
    disabled             INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

CREATE TABLE staff_sessions (
    -- SHA-256 of the cookie token: a stolen database does not yield live sessions.
    token_hash   BLOB    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX staff_sessions_by_user ON staff_sessions(user_id);
