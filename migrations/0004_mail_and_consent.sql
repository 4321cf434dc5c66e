-- Durable e-mail outbox (retried with back-off; status visible to administrators) and the
-- visitor's withdrawal of consent for a conversation.

CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    client_id       TEXT    UNIQUE,
    kind            TEXT    NOT NULL,
    to_addr         TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;

CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at);

ALTER TABLE conversations ADD COLUMN consent_withdrawn_at INTEGER;
