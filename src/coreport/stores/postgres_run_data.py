"""What a run accumulates, in PostgreSQL: metric history, console lines, media.

Functions of an asyncpg connection, called by
:class:`~coreport.stores.postgres_runs.PostgresRunStore` inside its error wrapping; each is
one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
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
)

MAX_INT = 2**63 - 1

_MEDIA_COLUMNS = "id, run_id, key, step, idx, content_type, caption, size, created_at"

# One statement for the whole batch: unnest turns the arrays back into rows.
_UPSERT_POINTS = """
INSERT INTO run_history (run_id, key, step, value, ts)
SELECT $1, key, step, value, ts
FROM unnest($2::text[], $3::bigint[], $4::float8[], $5::float8[]) AS p (key, step, value, ts)
ON CONFLICT (run_id, key, step) DO UPDATE SET value = EXCLUDED.value, ts = EXCLUDED.ts
"""

_UPSERT_LINES = """
INSERT INTO run_logs (run_id, line, stream, ts, text)
SELECT $1, line, stream, ts, text
FROM unnest($2::bigint[], $3::text[], $4::float8[], $5::text[]) AS l (line, stream, ts, text)
ON CONFLICT (run_id, line) DO UPDATE SET stream = EXCLUDED.stream, ts = EXCLUDED.ts,
    text = EXCLUDED.text
"""

_UPSERT_MEDIA = f"""
INSERT INTO run_media (id, run_id, key, step, idx, content_type, caption, size, created_at, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (run_id, key, step, idx) DO UPDATE SET content_type = EXCLUDED.content_type,
    caption = EXCLUDED.caption, size = EXCLUDED.size, created_at = EXCLUDED.created_at,
    data = EXCLUDED.data
RETURNING {_MEDIA_COLUMNS}
"""

_LINE_COUNT = "SELECT coalesce(max(line) + 1, 0) FROM run_logs WHERE run_id = $1"


async def append_history(conn: Any, run_id: str, rows: Sequence[HistoryRow], now: datetime) -> None:
    # One upsert may not touch a row twice: collapse repeats (the later row wins).
    points = {
        (key, row.step): (value, row.timestamp)
        for row in rows
        for key, value in row.metrics.items()
    }
    columns: tuple[list[Any], ...] = ([], [], [], [])
    # In primary-key order: the index is then filled front to back (about twice as fast).
    for (key, step), (value, ts) in sorted(points.items()):
        for column, item in zip(columns, (key, step, value, ts), strict=True):
            column.append(item)
    async with conn.transaction():
        # Also takes the run's row lock: batches of one run are stored one after another.
        touched = await conn.fetchval(
            "UPDATE runs SET updated_at = greatest(updated_at, $2) WHERE id = $1 RETURNING id",
            run_id,
            now,
        )
        if touched is None:
            raise RunNotFound(run_id)
        await conn.execute(_UPSERT_POINTS, run_id, *columns)


async def history_keys(conn: Any, run_id: str) -> list[str]:
    await require_run(conn, run_id)
    rows = await conn.fetch(
        'SELECT key FROM run_history WHERE run_id = $1 GROUP BY key ORDER BY key COLLATE "C"',
        run_id,
    )
    return [row["key"] for row in rows]


_IN_RANGE = "run_id = $1 AND key = $2 AND step BETWEEN $3 AND $4"
_POINTS = f"SELECT step, value, ts FROM run_history WHERE {_IN_RANGE} ORDER BY step"
# With the first and last step: when they are count - 1 apart, every step between is there.
_COUNT = f"SELECT count(*), min(step), max(step) FROM run_history WHERE {_IN_RANGE}"

# min_max_indices' rule in SQL, so that a long run's chart receives 1,000 points instead
# of 200,000 (asyncpg decodes rows on the event loop: a second for 800,000). Each point
# falls in the bucket whose first index ($5, ascending) is the last at or below its own;
# one pass finds each bucket's lowest and highest point (the earlier step of equal values:
# min/max of [value, step] arrays, exact since steps are below 2**53, schemas.MAX_STEP),
# and the kept steps are looked up.
_KEPT = """
SELECT step, value, ts FROM run_history
WHERE run_id = $1 AND key = $2
    AND step IN (SELECT low[2]::bigint FROM picks UNION SELECT (-high[2])::bigint FROM picks)
ORDER BY step
"""
_EXTREMES = f"""
WITH picks AS (
    SELECT min(ARRAY[value, step]) AS low, max(ARRAY[value, -step]) AS high
    FROM (
        SELECT value, step::float8 AS step,
            width_bucket(row_number() OVER (ORDER BY step) - 1, $5::bigint[]) AS bucket
        FROM run_history WHERE {_IN_RANGE}
    ) AS numbered
    GROUP BY bucket
)
{_KEPT}"""
# The same for a series with a point at every step from $6: a point's index is its step
# less $6, so the points need no numbering (10-15 % of the query for 200,000 points).
_DENSE_EXTREMES = f"""
WITH picks AS (
    SELECT min(ARRAY[value, step::float8]) AS low, max(ARRAY[value, -step::float8]) AS high
    FROM run_history WHERE {_IN_RANGE}
    GROUP BY width_bucket(step - $6, $5::bigint[])
)
{_KEPT}"""


async def read_history(
    conn: Any, run_id: str, keys: Sequence[str], low: int, high: int, max_points: int | None
) -> dict[str, StoredSeries]:
    result = {}
    # One snapshot: every series is read from the same state of the database.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await require_run(conn, run_id)
        for key in keys:
            where = (run_id, key, low, min(high, MAX_INT))
            layout = None
            if max_points is not None:
                count, first, last = await conn.fetchrow(_COUNT, *where)
                layout = buckets(count, max_points)
            if layout is None:
                rows = await conn.fetch(_POINTS, *where)
                count = len(rows)
            elif last - first == count - 1:  # a point at every step
                firsts = _first_indices(layout, count)
                rows = await conn.fetch(_DENSE_EXTREMES, *where, firsts, first)
            else:
                rows = await conn.fetch(_EXTREMES, *where, _first_indices(layout, count))
            result[key] = StoredSeries(Series.of_rows(rows), count)
    return result


def _first_indices(layout: Buckets, count: int) -> list[int]:
    """Each bucket's first index, the first and last point a bucket each when kept."""
    firsts = [start for start, _ in layout.ranges]
    return [0, *firsts, count - 1] if layout.keeps_ends else firsts


async def append_logs(
    conn: Any, run_id: str, lines: Sequence[LogLine], first_line: int | None
) -> int:
    async with conn.transaction():
        # The run's row lock serializes appends, so two never compute the same next line.
        await require_run(conn, run_id, lock=True)
        first: int = await conn.fetchval(_LINE_COUNT, run_id) if first_line is None else first_line
        await conn.execute(
            _UPSERT_LINES,
            run_id,
            list(range(first, first + len(lines))),
            [line.stream for line in lines],
            [line.timestamp for line in lines],
            [line.text for line in lines],
        )
    return first


async def read_logs(
    conn: Any, run_id: str, start: int, limit: int
) -> tuple[list[StoredLogLine], int]:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await require_run(conn, run_id)
        rows = await conn.fetch(
            "SELECT line, text, stream, ts FROM run_logs WHERE run_id = $1 AND line >= $2 "
            "ORDER BY line LIMIT $3",
            run_id,
            start,
            limit,
        )
        total = await conn.fetchval(_LINE_COUNT, run_id)
    return [StoredLogLine(*row) for row in rows], total


async def put_media(conn: Any, run_id: str, media: NewMedia, now: datetime) -> MediaInfo:
    async with conn.transaction():
        await require_run(conn, run_id)
        row = await conn.fetchrow(
            _UPSERT_MEDIA,
            secrets.token_hex(8),
            run_id,
            media.key,
            media.step,
            media.index,
            media.content_type,
            media.caption,
            len(media.data),
            now,
            media.data,
        )
    return MediaInfo(*row)


async def list_media(
    conn: Any, run_id: str, key: str | None, step: int | None, limit: int, offset: int
) -> list[MediaInfo]:
    await require_run(conn, run_id)
    rows = await conn.fetch(
        f"SELECT {_MEDIA_COLUMNS} FROM run_media WHERE run_id = $1 "
        "AND ($2::text IS NULL OR key = $2) AND ($3::bigint IS NULL OR step = $3) "
        'ORDER BY key COLLATE "C", step, idx LIMIT $4 OFFSET $5',
        run_id,
        key,
        step,
        limit,
        offset,
    )
    return [MediaInfo(*row) for row in rows]


async def get_media(conn: Any, run_id: str, media_id: str) -> tuple[MediaInfo, bytes]:
    row = await conn.fetchrow(
        f"SELECT {_MEDIA_COLUMNS}, data FROM run_media WHERE run_id = $1 AND id = $2",
        run_id,
        media_id,
    )
    if row is None:
        await require_run(conn, run_id)
        raise MediaNotFound(run_id, media_id)
    return MediaInfo(*tuple(row)[:-1]), row["data"]


async def require_run(conn: Any, run_id: str, *, lock: bool = False) -> None:
    """Raise :class:`RunNotFound` unless the run exists; ``lock`` takes its row lock."""
    suffix = " FOR UPDATE" if lock else ""
    if await conn.fetchval(f"SELECT 1 FROM runs WHERE id = $1{suffix}", run_id) is None:
        raise RunNotFound(run_id)
