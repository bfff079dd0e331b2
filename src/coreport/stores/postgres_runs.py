"""The scaled run store: projects and runs in PostgreSQL, through asyncpg (their history,
logs and media: :mod:`coreport.stores.postgres_run_data`).

It keeps its own small connection pool on the database of the documents, a bulkhead: a
burst of history ingest from many training jobs can exhaust this pool but never the one
that commits document updates (the path every live editor waits on). Every rule holds
across instances because the database enforces it: a run's row lock serializes its patches
and its log appends; history upserts are keyed by (run, metric, step).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from coreport.runs.ports import (
    CodeRef,
    HistoryRow,
    LogLine,
    MediaInfo,
    NewMedia,
    Project,
    Run,
    RunChange,
    RunExists,
    RunNotFound,
    RunPage,
    RunQuery,
    StoredLogLine,
    StoredSeries,
)
from coreport.stores import postgres_run_data as data
from coreport.stores.postgres_pool import PooledStore
from coreport.stores.run_queries import postgres_run_query
from coreport.stores.shared_reads import Begun, HistoryRead, SharedReads

_RUN_COLUMNS = (
    "id, project, name, state, config::text, summary::text, tags, git_commit, repository, "
    "diff_summary, created_at, updated_at"
)

_INSERT_RUN = f"""
INSERT INTO runs ({_RUN_COLUMNS.replace("::text", "")})
VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12)
ON CONFLICT (id) DO NOTHING RETURNING id
"""

_PROJECTS = """
SELECT p.name, p.created_at, count(r.id) AS runs, max(r.updated_at) AS last
FROM projects AS p LEFT JOIN runs AS r ON r.project = p.name
GROUP BY p.name ORDER BY p.name COLLATE "C"
"""


class PostgresRunStore(PooledStore):
    """A :class:`~coreport.runs.ports.RunStore` in the PostgreSQL database named by ``dsn``."""

    label = "PostgreSQL run store"

    def __init__(
        self, dsn: str, min_size: int = 1, max_size: int = 5, *, history_readers: int | None = None
    ) -> None:
        super().__init__(dsn, min_size, max_size)
        self._history_reads: SharedReads[HistoryRead, dict[str, StoredSeries]] = SharedReads()
        # At most this many history reads hold connections; the others wait (and are shared,
        # SharedReads): the appends of training jobs and the run lookups of every request keep
        # connections of their own when a report with many runs is opened by many at once.
        readers = max_size - 2 if history_readers is None else history_readers
        self._readers = asyncio.Semaphore(max(1, readers))

    async def _closing(self) -> None:
        await self._history_reads.drained()

    async def ping(self) -> None:
        async with self._connection("ping") as conn:
            await conn.fetchval("SELECT 1")

    async def create_run(self, run: Run) -> None:
        async with self._connection("create a run") as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO projects (name, created_at) VALUES ($1, $2) "
                "ON CONFLICT (name) DO NOTHING",
                run.project,
                run.created_at,
            )
            created = await conn.fetchval(
                _INSERT_RUN,
                run.id,
                run.project,
                run.name,
                run.state,
                _json(run.config),
                _json(run.summary),
                list(run.tags),
                run.code.git_commit,
                run.code.repository,
                run.code.diff_summary,
                run.created_at,
                run.updated_at,
            )
            if created is None:
                raise RunExists(run.id)

    async def get_run(self, run_id: str) -> Run:
        async with self._connection("read a run") as conn:
            return await _get_run(conn, run_id)

    async def update_run(self, run_id: str, change: RunChange, now: datetime) -> Run:
        async with self._connection("update a run") as conn, conn.transaction():
            current = await _get_run(conn, run_id, lock=True)
            changed = change(current)
            # Identity and creation time are not the change's to alter.
            updated = replace(
                changed, id=current.id, project=current.project, created_at=current.created_at
            )
            stamp = await conn.fetchval(
                "UPDATE runs SET name = $2, state = $3, config = $4::jsonb, summary = $5::jsonb, "
                "tags = $6, updated_at = greatest(updated_at, $7) WHERE id = $1 "
                "RETURNING updated_at",
                run_id,
                updated.name,
                updated.state,
                _json(updated.config),
                _json(updated.summary),
                list(updated.tags),
                now,
            )
        return replace(updated, updated_at=stamp)

    async def list_runs(self, project: str, query: RunQuery) -> RunPage:
        sql = postgres_run_query(project, query)
        page = len(sql.args)
        # One snapshot for the count and the page.
        async with (
            self._connection("list runs") as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            total = await conn.fetchval(
                f"SELECT count(*) FROM runs WHERE {sql.where}", *sql.where_args
            )
            rows = await conn.fetch(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE {sql.where} ORDER BY {sql.order} "
                f"LIMIT ${page + 1} OFFSET ${page + 2}",
                *sql.args,
                query.limit,
                query.offset,
            )
        return RunPage([_run(row) for row in rows], total)

    async def list_projects(self) -> list[Project]:
        async with self._connection("list projects") as conn:
            rows = await conn.fetch(_PROJECTS)
        return [
            Project(row["name"], row["created_at"], row["runs"], row["last"] or row["created_at"])
            for row in rows
        ]

    async def append_history(self, run_id: str, rows: Sequence[HistoryRow], now: datetime) -> None:
        async with self._connection("append history") as conn:
            await data.append_history(conn, run_id, rows, now)

    async def history_keys(self, run_id: str) -> list[str]:
        async with self._connection("list history keys") as conn:
            return await data.history_keys(conn, run_id)

    async def read_history(
        self,
        run_id: str,
        keys: Sequence[str],
        start_step: int | None = None,
        end_step: int | None = None,
        max_points: int | None = None,
    ) -> dict[str, StoredSeries]:
        low = 0 if start_step is None else start_step
        high = data.MAX_INT if end_step is None else end_step
        keys = tuple(keys)

        async def start(begun: Begun) -> dict[str, StoredSeries]:
            async with self._readers, self._connection("read history") as conn:
                begun()
                return await data.read_history(conn, run_id, keys, low, high, max_points)

        # Those who open a report at once queue here for a reader's turn.
        return await self._history_reads.read((run_id, keys, low, high, max_points), start)

    async def append_logs(
        self, run_id: str, lines: Sequence[LogLine], first_line: int | None
    ) -> int:
        async with self._connection("append logs") as conn:
            return await data.append_logs(conn, run_id, lines, first_line)

    async def read_logs(
        self, run_id: str, start: int, limit: int
    ) -> tuple[list[StoredLogLine], int]:
        async with self._connection("read logs") as conn:
            return await data.read_logs(conn, run_id, start, limit)

    async def put_media(self, run_id: str, media: NewMedia, now: datetime) -> MediaInfo:
        async with self._connection("store media") as conn:
            return await data.put_media(conn, run_id, media, now)

    async def list_media(
        self, run_id: str, key: str | None, step: int | None, limit: int, offset: int
    ) -> list[MediaInfo]:
        async with self._connection("list media") as conn:
            return await data.list_media(conn, run_id, key, step, limit, offset)

    async def get_media(self, run_id: str, media_id: str) -> tuple[MediaInfo, bytes]:
        async with self._connection("read media") as conn:
            return await data.get_media(conn, run_id, media_id)


async def _get_run(conn: Any, run_id: str, *, lock: bool = False) -> Run:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = $1{suffix}", run_id)
    if row is None:
        raise RunNotFound(run_id)
    return _run(row)


def _run(row: Any) -> Run:
    return Run(
        id=row[0],
        project=row[1],
        name=row[2],
        state=row[3],
        config=json.loads(row[4]),
        summary=json.loads(row[5]),
        tags=tuple(row[6]),
        code=CodeRef(row[7], row[8], row[9]),
        created_at=row[10],
        updated_at=row[11],
    )


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
