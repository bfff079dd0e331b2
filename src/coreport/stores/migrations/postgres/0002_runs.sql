-- Runs: projects, runs, metric history, console logs and media (coreport.runs).
-- History and log timestamps are Unix seconds (double precision), as clients send them.

CREATE TABLE projects (
    name       text        NOT NULL PRIMARY KEY,
    created_at timestamptz NOT NULL
);

CREATE TABLE runs (
    id           text        NOT NULL PRIMARY KEY,
    project      text        NOT NULL REFERENCES projects (name),
    name         text        NOT NULL,
    state        text        NOT NULL
                 CHECK (state IN ('running', 'finished', 'failed', 'crashed')),
    config       jsonb       NOT NULL CHECK (jsonb_typeof(config) = 'object'),
    summary      jsonb       NOT NULL CHECK (jsonb_typeof(summary) = 'object'),
    tags         text[]      NOT NULL,
    git_commit   text,
    repository   text,
    diff_summary text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

CREATE INDEX runs_by_project ON runs (project, created_at);

-- One row per (run, metric, step): a point logged again replaces the stored one, so a
-- retried batch cannot duplicate, and one metric's series is one index range.
CREATE TABLE run_history (
    run_id text             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key    text             NOT NULL,
    step   bigint           NOT NULL CHECK (step >= 0),
    value  double precision NOT NULL CHECK (value <> 'NaN' AND abs(value) <> 'Infinity'),
    ts     double precision NOT NULL,
    PRIMARY KEY (run_id, key, step)
);

CREATE TABLE run_logs (
    run_id text             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    line   bigint           NOT NULL CHECK (line >= 0),
    stream text             NOT NULL CHECK (stream IN ('stdout', 'stderr')),
    ts     double precision NOT NULL,
    text   text             NOT NULL,
    PRIMARY KEY (run_id, line)
);

CREATE TABLE run_media (
    id           text        NOT NULL PRIMARY KEY,
    run_id       text        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key          text        NOT NULL,
    step         bigint      NOT NULL CHECK (step >= 0),
    idx          integer     NOT NULL CHECK (idx >= 0),
    content_type text        NOT NULL,
    caption      text,
    size         integer     NOT NULL,
    created_at   timestamptz NOT NULL,
    data         bytea       NOT NULL,
    UNIQUE (run_id, key, step, idx)
);
