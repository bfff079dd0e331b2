-- The update log of every document, its snapshot, and the allocator of its sequence numbers.
-- STRICT tables (SQLite >= 3.37) make the engine reject a value of the wrong type (say a str
-- where an update's bytes belong) instead of storing it, so a bad batch fails and rolls back.

-- One row per document; bumping last_seq inside the append transaction allocates gapless
-- sequence numbers in commit order.
CREATE TABLE documents (
    name       TEXT    NOT NULL PRIMARY KEY,
    last_seq   INTEGER NOT NULL CHECK (last_seq >= 0),
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE updates (
    doc        TEXT    NOT NULL REFERENCES documents (name) ON DELETE CASCADE,
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    data       BLOB    NOT NULL,
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (doc, seq)
) STRICT;

-- The merged state of every update with seq <= snapshots.seq (those rows are deleted).
CREATE TABLE snapshots (
    doc        TEXT    NOT NULL PRIMARY KEY REFERENCES documents (name) ON DELETE CASCADE,
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    data       BLOB    NOT NULL,
    updated_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
