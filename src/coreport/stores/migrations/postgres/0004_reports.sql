-- The Report API (coreport.reports): titles for listing and search, versions of a report's
-- document, and the runs each version refers to.

-- The title as last written through the API or seen when a version was taken; the live
-- document is the truth, this copy only serves listing and title search.
CREATE TABLE report_titles (
    report_id  text        NOT NULL PRIMARY KEY REFERENCES reports (id) ON DELETE CASCADE,
    title      text        NOT NULL,
    updated_at timestamptz NOT NULL
);

-- A version: the document's encoded state at one moment. ``number`` counts from 1 per
-- report; ``state_vector`` tells whether the document changed since.
CREATE TABLE report_versions (
    id           text        NOT NULL PRIMARY KEY,
    report_id    text        NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    number       integer     NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('auto', 'named', 'restore')),
    name         text,
    title        text        NOT NULL,
    created_by   text,
    created_at   timestamptz NOT NULL,
    state        bytea       NOT NULL,
    state_vector bytea       NOT NULL,
    UNIQUE (report_id, number)
);

-- The runs a version draws on: named in a run set (explicit) or matched by its filters.
CREATE TABLE report_run_refs (
    version_id text    NOT NULL REFERENCES report_versions (id) ON DELETE CASCADE,
    run_id     text    NOT NULL,
    explicit   boolean NOT NULL,
    PRIMARY KEY (version_id, run_id)
);

CREATE INDEX report_run_refs_by_run ON report_run_refs (run_id);
