-- Access control (coreport.access): users, API keys, browser sessions, the report registry,
-- report members, project default roles, share links, and server secrets.
-- Timestamps are ISO 8601 UTC text of fixed width (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text
-- order is time order. Secrets are never stored: only SHA-256 digests of them.

CREATE TABLE users (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    email      TEXT,
    color      TEXT    NOT NULL,
    admin      INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    created_at TEXT    NOT NULL
) STRICT;

CREATE UNIQUE INDEX users_by_name ON users (lower(name));
CREATE UNIQUE INDEX users_by_email ON users (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE api_keys (
    prefix       TEXT NOT NULL PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest       BLOB NOT NULL,
    label        TEXT,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;

CREATE INDEX api_keys_by_user ON api_keys (user_id);

-- A signed-in browser. Revoking the key it signed in with ends it too.
CREATE TABLE browser_sessions (
    id_hash    BLOB NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    via        TEXT NOT NULL CHECK (via IN ('key', 'signin_link', 'proxy')),
    key_prefix TEXT REFERENCES api_keys (prefix) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

CREATE INDEX browser_sessions_by_user ON browser_sessions (user_id);

-- A report exists once registered; deleting it keeps the row (and so the id taken).
CREATE TABLE reports (
    id         TEXT NOT NULL PRIMARY KEY,
    project    TEXT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT
) STRICT;

CREATE INDEX reports_by_project ON reports (project);

CREATE TABLE report_members (
    report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'commenter', 'viewer')),
    added_by  TEXT,
    added_at  TEXT NOT NULL,
    PRIMARY KEY (report_id, user_id)
) STRICT;

CREATE INDEX report_members_by_user ON report_members (user_id);

-- The role every user has on a project's reports when they are not a member.
CREATE TABLE project_roles (
    project      TEXT NOT NULL PRIMARY KEY,
    default_role TEXT NOT NULL CHECK (default_role IN ('editor', 'commenter', 'viewer'))
) STRICT;

CREATE TABLE share_links (
    prefix     TEXT NOT NULL PRIMARY KEY,
    report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('commenter', 'viewer')),
    digest     BLOB NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
) STRICT;

CREATE INDEX share_links_by_report ON share_links (report_id);

-- Secrets every instance must share, e.g. the key that signs session cookies.
CREATE TABLE server_secrets (
    name       TEXT NOT NULL PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
