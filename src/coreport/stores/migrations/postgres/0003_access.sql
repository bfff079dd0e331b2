-- Access control (coreport.access): users, API keys, browser sessions, the report registry,
-- report members, project default roles, share links, and server secrets.
-- Secrets are never stored: only SHA-256 digests of them.

CREATE TABLE users (
    id         text        NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    email      text,
    color      text        NOT NULL,
    admin      boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);

CREATE UNIQUE INDEX users_by_name ON users (lower(name));
CREATE UNIQUE INDEX users_by_email ON users (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE api_keys (
    prefix       text        NOT NULL PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest       bytea       NOT NULL,
    label        text,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX api_keys_by_user ON api_keys (user_id);

-- A signed-in browser. Revoking the key it signed in with ends it too.
CREATE TABLE browser_sessions (
    id_hash    bytea       NOT NULL PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    via        text        NOT NULL CHECK (via IN ('key', 'signin_link', 'proxy')),
    key_prefix text        REFERENCES api_keys (prefix) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE INDEX browser_sessions_by_user ON browser_sessions (user_id);

-- A report exists once registered; deleting it keeps the row (and so the id taken).
CREATE TABLE reports (
    id         text        NOT NULL PRIMARY KEY,
    project    text        NOT NULL,
    created_by text        REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    deleted_at timestamptz
);

CREATE INDEX reports_by_project ON reports (project);

CREATE TABLE report_members (
    report_id text        NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    user_id   text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      text        NOT NULL CHECK (role IN ('owner', 'editor', 'commenter', 'viewer')),
    added_by  text,
    added_at  timestamptz NOT NULL,
    PRIMARY KEY (report_id, user_id)
);

CREATE INDEX report_members_by_user ON report_members (user_id);

-- The role every user has on a project's reports when they are not a member.
CREATE TABLE project_roles (
    project      text NOT NULL PRIMARY KEY,
    default_role text NOT NULL CHECK (default_role IN ('editor', 'commenter', 'viewer'))
);

CREATE TABLE share_links (
    prefix     text        NOT NULL PRIMARY KEY,
    report_id  text        NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    role       text        NOT NULL CHECK (role IN ('commenter', 'viewer')),
    digest     bytea       NOT NULL,
    created_by text        REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz
);

CREATE INDEX share_links_by_report ON share_links (report_id);

-- Secrets every instance must share, e.g. the key that signs session cookies.
CREATE TABLE server_secrets (
    name       text        NOT NULL PRIMARY KEY,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL
);
