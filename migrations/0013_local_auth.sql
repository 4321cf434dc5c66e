-- Local accounts: password age, history, lockout, TOTP two-factor with recovery codes, and
-- session details a user can see (opaque id, source address, browser).

ALTER TABLE staff_users ADD COLUMN password_changed_at INTEGER NOT NULL DEFAULT 0;
UPDATE staff_users SET password_changed_at = updated_at;
-- A new account's password dates from its creation.
CREATE TRIGGER staff_users_password_age AFTER INSERT ON staff_users WHEN NEW.password_changed_at = 0
BEGIN
    UPDATE staff_users SET password_changed_at = NEW.created_at WHERE id = NEW.id;
END;
-- Failed sign-ins since the last success; the account is locked while locked_until is ahead.
ALTER TABLE staff_users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE staff_users ADD COLUMN locked_until INTEGER;
-- TOTP secret, AES-256-GCM sealed (see docs/security.md); enrolment is pending until confirmed.
ALTER TABLE staff_users ADD COLUMN totp_secret BLOB;
ALTER TABLE staff_users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1));
-- The last accepted 30-second step: a code is never accepted twice.
ALTER TABLE staff_users ADD COLUMN totp_last_step INTEGER;

-- The argon2id hashes of a user's last passwords (newest kept, older ones pruned).
CREATE TABLE staff_password_history (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
    password_hash TEXT    NOT NULL,
    set_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX staff_password_history_by_user ON staff_password_history(user_id, id);

-- SHA-256 of unused one-time recovery codes; a used code is deleted.
CREATE TABLE staff_recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
    code_hash BLOB    NOT NULL,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

ALTER TABLE staff_sessions ADD COLUMN public_id TEXT;
UPDATE staff_sessions SET public_id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX staff_sessions_public_id ON staff_sessions(public_id);
ALTER TABLE staff_sessions ADD COLUMN source_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE staff_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
