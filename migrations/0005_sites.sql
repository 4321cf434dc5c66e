-- Websites that embed the widget: a key used in the embed snippet and the origins allowed to
-- show it. Created from `widget.site_origins` on first start; managed in Administration.

CREATE TABLE sites (
    id         INTEGER PRIMARY KEY,
    key        TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    -- JSON array of origins, e.g. ["https://www.example.gov.uk"].
    origins    TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
