-- The SQLite store numbers a document's updates from its log (the last row, or the snapshot's
-- seq once a compaction folded every row) under the file's write lock, instead of bumping a
-- counter in the document's row: every append rewrote that row, one more page scattered over
-- a large file for the WAL and each checkpoint to copy. The counter and the time it was
-- bumped (updated_at, read by nothing) go; the log's rows keep their own created_at.
-- Numbers carry on where they were: the counter always equalled the log's last number.
-- A process of an earlier release can no longer append to this file (its append names
-- last_seq and fails without writing): upgrade every process that shares the file together.
ALTER TABLE documents DROP COLUMN last_seq;
ALTER TABLE documents DROP COLUMN updated_at;
