-- Roles (docs/security.md, "Roles and permissions"). The five built-in roles have fixed
-- permissions defined in the code; their rows here hold only their login restrictions. Custom
-- roles hold their permissions as a JSON array of `module.action` names.
CREATE TABLE roles (
    name             TEXT    PRIMARY KEY,
    description      TEXT    NOT NULL DEFAULT '',
    builtin          INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
    permissions      TEXT    NOT NULL DEFAULT '[]',
    -- JSON array of CIDR ranges a login may come from; empty = anywhere.
    allowed_networks TEXT    NOT NULL DEFAULT '[]',
    -- Weekly schedule in UK time, as for department hours ({"mon": [["08:00","18:00"]]});
    -- empty = any time.
    login_hours      TEXT    NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

INSERT INTO roles (name, description, builtin, created_at, updated_at) VALUES
    ('operator', 'Answers chats and offline requests', 1, unixepoch(), unixepoch()),
    ('supervisor', 'Operator who also supervises chats, teams and reports', 1, unixepoch(), unixepoch()),
    ('administrator', 'Runs the appliance: users, roles, settings, keys and backups', 1, unixepoch(), unixepoch()),
    ('dpo', 'Data protection officer: data-subject requests, erasure, audit', 1, unixepoch(), unixepoch()),
    ('auditor', 'Reads the audit log and settings; no personal data', 1, unixepoch(), unixepoch());
