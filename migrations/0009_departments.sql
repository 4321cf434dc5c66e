-- Departments (teams with members, routing mode, business hours), the appliance's bank-holiday
-- list, per-operator chat limits, site themes and offline-request handling.

CREATE TABLE departments (
    id                      INTEGER PRIMARY KEY,
    key                     TEXT    NOT NULL UNIQUE,
    name                    TEXT    NOT NULL,
    name_cy                 TEXT,
    routing                 TEXT    NOT NULL DEFAULT 'least_busy' CHECK (routing IN ('least_busy', 'round_robin')),
    assignment              TEXT    NOT NULL DEFAULT 'auto' CHECK (assignment IN ('auto', 'manual')),
    -- NULL: always open; else JSON {"mon": [["09:00", "17:00"]], …} in UK time.
    hours                   TEXT,
    closed_on_bank_holidays INTEGER NOT NULL DEFAULT 1 CHECK (closed_on_bank_holidays IN (0, 1)),
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
) STRICT;

CREATE TABLE department_members (
    department_id INTEGER NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
    PRIMARY KEY (department_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE bank_holidays (
    day  TEXT NOT NULL PRIMARY KEY, -- YYYY-MM-DD
    name TEXT NOT NULL
) STRICT, WITHOUT ROWID;

ALTER TABLE staff_users ADD COLUMN max_chats INTEGER CHECK (max_chats BETWEEN 1 AND 20);

-- JSON array of department keys the site's widget offers, and JSON object of colours/texts.
ALTER TABLE sites ADD COLUMN departments TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sites ADD COLUMN theme TEXT NOT NULL DEFAULT '{}';

ALTER TABLE conversations ADD COLUMN department_id INTEGER REFERENCES departments(id) ON DELETE SET NULL;
ALTER TABLE offline_requests ADD COLUMN department_id INTEGER REFERENCES departments(id) ON DELETE SET NULL;
ALTER TABLE offline_requests ADD COLUMN replied_at INTEGER;
