-- Runs: projects, runs, metric history, console logs and media (coreport.runs).
-- Timestamps of projects, runs and media are ISO 8601 UTC text of fixed width
-- (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text order is time order; history and log timestamps
-- are Unix seconds as REAL, as clients send them.

CREATE TABLE projects (
    name       TEXT NOT NULL PRIMARY KEY,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE runs (
    id           TEXT NOT NULL PRIMARY KEY,
    project      TEXT NOT NULL REFERENCES projects (name),
    name         TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('running', 'finished', 'failed', 'crashed')),
    config       TEXT NOT NULL CHECK (json_valid(config) AND json_type(config) = 'object'),
    summary      TEXT NOT NULL CHECK (json_valid(summary) AND json_type(summary) = 'object'),
    tags         TEXT NOT NULL CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    git_commit   TEXT,
    repository   TEXT,
    diff_summary TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE INDEX runs_by_project ON runs (project, created_at);

-- One row per (run, metric, step): a point logged again replaces the stored one, so a
-- retried batch cannot duplicate, and one metric's series is one index range.
-- REAL NOT NULL also refuses NaN, which SQLite stores as NULL.
CREATE TABLE run_history (
    run_id TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key    TEXT    NOT NULL,
    step   INTEGER NOT NULL CHECK (step >= 0),
    value  REAL    NOT NULL,
    ts     REAL    NOT NULL,
    PRIMARY KEY (run_id, key, step)
) STRICT, WITHOUT ROWID;

CREATE TABLE run_logs (
    run_id TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    line   INTEGER NOT NULL CHECK (line >= 0),
    stream TEXT    NOT NULL CHECK (stream IN ('stdout', 'stderr')),
    ts     REAL    NOT NULL,
    text   TEXT    NOT NULL,
    PRIMARY KEY (run_id, line)
) STRICT, WITHOUT ROWID;

-- data comes last: listing media reads the columns before it without touching the bytes.
CREATE TABLE run_media (
    id           TEXT    NOT NULL PRIMARY KEY,
    run_id       TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key          TEXT    NOT NULL,
    step         INTEGER NOT NULL CHECK (step >= 0),
    idx          INTEGER NOT NULL CHECK (idx >= 0),
    content_type TEXT    NOT NULL,
    caption      TEXT,
    size         INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    data         BLOB    NOT NULL,
    UNIQUE (run_id, key, step, idx)
) STRICT;
