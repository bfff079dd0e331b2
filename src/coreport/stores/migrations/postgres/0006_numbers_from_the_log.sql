-- On SQLite this version drops documents.last_seq: the file's write lock serializes every
-- writer, so the log's last row numbers the next update. PostgreSQL keeps the counter, for
-- the reason its comment now gives.
COMMENT ON COLUMN documents.last_seq IS
    'The last update number of the document. Each append bumps it with an upsert whose row '
    'lock orders instances appending at once: gapless numbers, in commit order.';
