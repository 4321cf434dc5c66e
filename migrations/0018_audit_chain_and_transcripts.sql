-- Issue #14 points 3 and 4 (docs/security.md, "Audit log" and "Chat tokens").
-- Audit entries written by a process that does not hold the audit-chain key (a command run
-- without the key file, the restore's own connection) wait here, unchained, until a process
-- holding the key chains them (oldest first, their time kept, marked in `details`).
CREATE TABLE audit_pending (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  TEXT,
    details TEXT
) STRICT;

-- Transcript e-mails queued per conversation (chat.transcript_emails_per_conversation).
ALTER TABLE conversations ADD COLUMN transcript_emails INTEGER NOT NULL DEFAULT 0;
