"""What a run accumulates, in SQLite: metric history, console lines, media.

Functions of a connection, run by :class:`~coreport.stores.sqlite_runs.SQLiteRunStore` on its
worker thread; each is one transaction, except the two appends (``write_history``,
``write_logs``), which run inside the one that their ``SharedCommits``
(:mod:`coreport.stores.sqlite_shared`) opens for every append that came meanwhile. They
also hold the helpers both modules share.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from coreport.runs.ports import (
    Buckets,
    HistoryRow,
    LogLine,
    MediaInfo,
    MediaNotFound,
    NewMedia,
    RunNotFound,
    Series,
    StoredLogLine,
    StoredSeries,
    buckets,
    downsample,
)
from coreport.stores.sqlite import _transaction

MAX_INT = 2**63 - 1

_MEDIA_COLUMNS = "id, run_id, key, step, idx, content_type, caption, size, created_at"

_UPSERT_POINT = """
INSERT INTO run_history (run_id, key, step, value, ts) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value, ts = excluded.ts
"""

_UPSERT_LINE = """
INSERT INTO run_logs (run_id, line, stream, ts, text) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (run_id, line) DO UPDATE SET stream = excluded.stream, ts = excluded.ts,
    text = excluded.text
"""

_UPSERT_MEDIA = f"""
INSERT INTO run_media (id, run_id, key, step, idx, content_type, caption, size, created_at, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id, key, step, idx) DO UPDATE SET content_type = excluded.content_type,
    caption = excluded.caption, size = excluded.size, created_at = excluded.created_at,
    data = excluded.data
RETURNING {_MEDIA_COLUMNS}
"""

_LINE_COUNT = "SELECT coalesce(max(line) + 1, 0) FROM run_logs WHERE run_id = ?"


@dataclass(frozen=True, slots=True)
class HistoryAppend:
    """One call's rows of one run (see ``write_history``)."""

    run_id: str
    rows: Sequence[HistoryRow]
    now: datetime


def write_history(conn: sqlite3.Connection, append: HistoryAppend) -> None:
    """Store ``append``'s rows, inside the caller's transaction."""
    run_id = append.run_id
    # Later rows of a step overwrite earlier ones, here as in the upsert.
    points = {
        (key, row.step): (value, row.timestamp)
        for row in append.rows
        for key, value in row.metrics.items()
    }
    cursor = conn.execute(
        "UPDATE runs SET updated_at = max(updated_at, ?) WHERE id = ?",
        (to_text(append.now), run_id),
    )
    if cursor.rowcount == 0:
        raise RunNotFound(run_id)
    conn.executemany(
        _UPSERT_POINT,
        # In primary-key order: the index is then filled front to back.
        ((run_id, key, step, value, ts) for (key, step), (value, ts) in sorted(points.items())),
    )


def history_keys(conn: sqlite3.Connection, run_id: str) -> list[str]:
    with _transaction(conn, "DEFERRED"):
        require_run(conn, run_id)
        rows = conn.execute(
            "SELECT DISTINCT key FROM run_history WHERE run_id = ? ORDER BY key", (run_id,)
        ).fetchall()
    return [key for (key,) in rows]


def read_history(
    conn: sqlite3.Connection,
    run_id: str,
    keys: Sequence[str],
    low: int,
    high: int,
    max_points: int | None,
) -> dict[str, StoredSeries]:
    # One read transaction: every series is read from the same state of the file.
    with _transaction(conn, "DEFERRED"):
        require_run(conn, run_id)
        ranges = ((run_id, key, low, min(high, MAX_INT)) for key in keys)
        return {where[1]: _read_series(conn, where, max_points) for where in ranges}


# tests/bench/charts.py, 4 metrics for 1,000 points each: SQLite's way 1.13x the time of
# reading whole at 8,000 points a metric, 0.86x at 12,000, 0.56x at 32,000.
_SKIMMED_FROM = 10

# One metric's points in a step range are one range of the primary key.
_IN_RANGE = "run_id = ? AND key = ? AND step BETWEEN ? AND ?"
_POINTS = f"SELECT step, value, ts FROM run_history WHERE {_IN_RANGE} ORDER BY step"
# With the first and last step: when they are count - 1 apart, every step between is there.
_COUNT = f"SELECT count(*), min(step), max(step) FROM run_history WHERE {_IN_RANGE}"
# The step OFFSET points after a step: SQLite seeks to it and steps over the rows between.
_STEP_AFTER = """
SELECT step FROM run_history WHERE run_id = ? AND key = ? AND step > ? AND step <= ?
ORDER BY step LIMIT 1 OFFSET ?
"""
# The step of the lowest and of the highest point of each bucket (a JSON array of
# [first step, last step] pairs), the earlier step of equal values as min_max_indices
# picks: a seek and a short scan of the primary key each.
_EXTREMES = """
SELECT
    (SELECT step FROM run_history
     WHERE run_id = :run AND key = :key
       AND step BETWEEN json_extract(bucket.value, '$[0]') AND json_extract(bucket.value, '$[1]')
     ORDER BY value, step LIMIT 1),
    (SELECT step FROM run_history
     WHERE run_id = :run AND key = :key
       AND step BETWEEN json_extract(bucket.value, '$[0]') AND json_extract(bucket.value, '$[1]')
     ORDER BY value DESC, step LIMIT 1)
FROM json_each(:buckets) AS bucket
"""
_POINTS_AT = """
SELECT step, value, ts FROM run_history
WHERE run_id = ? AND key = ? AND step IN (SELECT value FROM json_each(?)) ORDER BY step
"""


def _read_series(
    conn: sqlite3.Connection, where: tuple[str, str, int, int], max_points: int | None
) -> StoredSeries:
    """One metric's points, every one or as many as min_max_indices keeps of
    ``max_points``.

    Reading a long run's 200,000 points into Python to keep 1,000 of them cost about 150 ms
    of the interpreter per metric. SQLite finds them itself instead (about 80 ms per such
    metric, the interpreter free meanwhile: the sqlite3 module lets go of it while SQLite
    works), and only the kept points become Python objects. That costs a statement per
    bucket, though, about 10 us, against about 0.9 us per point read whole: for fewer than
    ``_SKIMMED_FROM`` points per point kept, the series is read whole and reduced here.
    """
    if max_points is not None:
        count, first, last = conn.execute(_COUNT, where).fetchone()
        layout = buckets(count, max_points)
        if layout is not None and count >= _SKIMMED_FROM * max_points:
            # A run logged at every step (the usual run): the n-th point is at step first + n.
            dense = first if last - first == count - 1 else None
            return StoredSeries(_extremes(conn, where, layout, count, dense), count)
    rows = conn.execute(_POINTS, where).fetchall()
    points = Series.of_rows(rows)
    if max_points is not None:
        points = downsample(points, max_points)  # the same series when it fits
    return StoredSeries(points, len(rows))


def _extremes(
    conn: sqlite3.Connection,
    where: tuple[str, str, int, int],
    layout: Buckets,
    count: int,
    dense: int | None,
) -> Series:
    """The points :func:`min_max_indices` keeps of the ``count`` points in ``where``;
    ``dense``: the first step, when the points are at every step from it (each bucket's
    bounds are then known without looking them up)."""
    run_id, key, _, high = where
    ends = [0, count - 1] if layout.keeps_ends else []
    # The indices whose steps bound the buckets (the last bucket may end with the range).
    edges = sorted({*ends, *(start for start, _ in layout.ranges), layout.ranges[-1][1]} - {count})
    steps = _steps_at(conn, where, edges) if dense is None else [dense + i for i in edges]
    step_at = dict(zip(edges, steps, strict=True))
    # A bucket's steps run up to the step before the next bucket's first; steps are integers.
    bounds = [
        [step_at[start], step_at[stop] - 1 if stop < count else high]
        for start, stop in layout.ranges
    ]
    params = {"run": run_id, "key": key, "buckets": json.dumps(bounds)}
    kept = {step for pair in conn.execute(_EXTREMES, params) for step in pair}
    kept.update(step_at[index] for index in ends)
    rows = conn.execute(_POINTS_AT, (run_id, key, json.dumps(sorted(kept)))).fetchall()
    return Series.of_rows(rows)


def _steps_at(
    conn: sqlite3.Connection, where: tuple[str, str, int, int], indices: Sequence[int]
) -> list[int]:
    """The steps of the points at ``indices`` (ascending) among those in ``where``, each
    found by skipping from the one before."""
    run_id, key, low, high = where
    steps: list[int] = []
    index, step = -1, low - 1
    for wanted in indices:
        skip = wanted - index - 1
        (step,) = conn.execute(_STEP_AFTER, (run_id, key, step, high, skip)).fetchone()
        steps.append(step)
        index = wanted
    return steps


@dataclass(frozen=True, slots=True)
class LogAppend:
    """One call's console lines of one run (see ``write_logs``)."""

    run_id: str
    lines: Sequence[LogLine]
    first_line: int | None


def write_logs(conn: sqlite3.Connection, append: LogAppend) -> int:
    """Store ``append``'s lines, inside the caller's transaction; the first one's number
    (after the run's last line unless ``first_line`` is given)."""
    run_id = append.run_id
    require_run(conn, run_id)
    first: int = (
        conn.execute(_LINE_COUNT, (run_id,)).fetchone()[0]
        if append.first_line is None
        else append.first_line
    )
    conn.executemany(
        _UPSERT_LINE,
        (
            (run_id, first + i, line.stream, line.timestamp, line.text)
            for i, line in enumerate(append.lines)
        ),
    )
    return first


def read_logs(
    conn: sqlite3.Connection, run_id: str, start: int, limit: int
) -> tuple[list[StoredLogLine], int]:
    with _transaction(conn, "DEFERRED"):
        require_run(conn, run_id)
        rows = conn.execute(
            "SELECT line, text, stream, ts FROM run_logs WHERE run_id = ? AND line >= ? "
            "ORDER BY line LIMIT ?",
            (run_id, start, limit),
        ).fetchall()
        (total,) = conn.execute(_LINE_COUNT, (run_id,)).fetchone()
    return [StoredLogLine(*row) for row in rows], total


def put_media(conn: sqlite3.Connection, run_id: str, media: NewMedia, now: datetime) -> MediaInfo:
    with _transaction(conn):
        require_run(conn, run_id)
        row = conn.execute(
            _UPSERT_MEDIA,
            (
                secrets.token_hex(8),
                run_id,
                media.key,
                media.step,
                media.index,
                media.content_type,
                media.caption,
                len(media.data),
                to_text(now),
                media.data,
            ),
        ).fetchone()
    return _media(row)


def list_media(
    conn: sqlite3.Connection,
    run_id: str,
    key: str | None,
    step: int | None,
    limit: int,
    offset: int,
) -> list[MediaInfo]:
    with _transaction(conn, "DEFERRED"):
        require_run(conn, run_id)
        rows = conn.execute(
            f"SELECT {_MEDIA_COLUMNS} FROM run_media WHERE run_id = ? "
            "AND (? IS NULL OR key = ?) AND (? IS NULL OR step = ?) "
            "ORDER BY key, step, idx LIMIT ? OFFSET ?",
            (run_id, key, key, step, step, limit, offset),
        ).fetchall()
    return [_media(row) for row in rows]


def get_media(conn: sqlite3.Connection, run_id: str, media_id: str) -> tuple[MediaInfo, bytes]:
    with _transaction(conn, "DEFERRED"):
        row = conn.execute(
            f"SELECT {_MEDIA_COLUMNS}, data FROM run_media WHERE run_id = ? AND id = ?",
            (run_id, media_id),
        ).fetchone()
        if row is None:
            require_run(conn, run_id)
            raise MediaNotFound(run_id, media_id)
    return _media(row[:-1]), row[-1]


def require_run(conn: sqlite3.Connection, run_id: str) -> None:
    """Raise :class:`RunNotFound` unless the run exists."""
    if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
        raise RunNotFound(run_id)


def to_text(moment: datetime) -> str:
    """Fixed-width UTC text, so that text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _media(row: Sequence[Any]) -> MediaInfo:
    media_id, run_id, key, step, index, content_type, caption, size, created = row
    return MediaInfo(
        media_id, run_id, key, step, index, content_type, caption, size, from_text(created)
    )
