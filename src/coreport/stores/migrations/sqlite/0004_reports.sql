-- The Report API (coreport.reports): titles for listing and search, versions of a report's
-- document, and the runs each version refers to. Timestamps as in 0003: fixed-width UTC
-- text, so text order is time order.

-- The title as last written through the API or seen when a version was taken; the live
-- document is the truth, this copy only serves listing and title search.
CREATE TABLE report_titles (
    report_id  TEXT NOT NULL PRIMARY KEY REFERENCES reports (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- A version: the document's encoded state at one moment. ``number`` counts from 1 per
-- report; ``state_vector`` tells whether the document changed since.
CREATE TABLE report_versions (
    id           TEXT    NOT NULL PRIMARY KEY,
    report_id    TEXT    NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('auto', 'named', 'restore')),
    name         TEXT,
    title        TEXT    NOT NULL,
    created_by   TEXT,
    created_at   TEXT    NOT NULL,
    state        BLOB    NOT NULL,
    state_vector BLOB    NOT NULL,
    UNIQUE (report_id, number)
) STRICT;

-- The runs a version draws on: named in a run set (explicit) or matched by its filters.
CREATE TABLE report_run_refs (
    version_id TEXT    NOT NULL REFERENCES report_versions (id) ON DELETE CASCADE,
    run_id     TEXT    NOT NULL,
    explicit   INTEGER NOT NULL CHECK (explicit IN (0, 1)),
    PRIMARY KEY (version_id, run_id)
) STRICT;

CREATE INDEX report_run_refs_by_run ON report_run_refs (run_id);
