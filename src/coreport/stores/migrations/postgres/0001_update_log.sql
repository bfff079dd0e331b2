-- The update log of every document, its snapshot, and the allocator of its sequence numbers.

-- One row per document. The append transaction bumps last_seq with an upsert; the row lock it
-- takes serializes the writers of one document, so sequence numbers are gapless and assigned
-- in commit order.
CREATE TABLE documents (
    name       text        NOT NULL PRIMARY KEY,
    last_seq   bigint      NOT NULL CHECK (last_seq >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE updates (
    doc        text        NOT NULL REFERENCES documents (name) ON DELETE CASCADE,
    seq        bigint      NOT NULL CHECK (seq >= 1),
    data       bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (doc, seq)
);

-- The merged state of every update with seq <= snapshots.seq (those rows are deleted).
CREATE TABLE snapshots (
    doc        text        NOT NULL PRIMARY KEY REFERENCES documents (name) ON DELETE CASCADE,
    seq        bigint      NOT NULL CHECK (seq >= 1),
    data       bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
