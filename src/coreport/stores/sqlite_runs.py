"""The embedded run store: projects and runs in the SQLite file of the documents (their
history, logs and media: :mod:`coreport.stores.sqlite_run_data`).

It opens its own connection and worker thread on the same file (the same design as
:mod:`coreport.stores.sqlite`: WAL, ``synchronous=FULL``, one thread owning the connection).
A separate connection is a bulkhead: a large history query or ingest batch never queues in
front of a document append, whose latency every live editor feels. Writes of the two still
take turns on the file's write lock (the busy timeout makes them wait, not fail). Its own
reads that may be long (a chart's history of a long run, console lines, media, run lists)
go on connections with threads of their own (``readers``), so that appends and
the lookups of runs never wait behind them.

History and console lines come from many runs at once, each of a sweep's runs sending its
steps as they are logged: their appends share commits (:mod:`coreport.stores.sqlite_shared`),
one sync of the log for all that came while the one before was committed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
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
from coreport.stores import sqlite_run_data as data
from coreport.stores.run_queries import sqlite_run_query
from coreport.stores.shared_reads import Begun, HistoryRead, SharedReads
from coreport.stores.sqlite import WorkerStore, _transaction
from coreport.stores.sqlite_run_data import from_text, to_text
from coreport.stores.sqlite_shared import SharedCommits

_RUN_COLUMNS = (
    "id, project, name, state, config, summary, tags, git_commit, repository, diff_summary, "
    "created_at, updated_at"
)

# At most this many metric values (or console lines) in one shared commit, unless a single
# call brings more: about 5 ms of upserts, for which the file's write lock is held.
_POINTS_PER_COMMIT = 2_000

_PROJECTS = """
SELECT p.name, p.created_at, count(r.id), max(r.updated_at)
FROM projects AS p LEFT JOIN runs AS r ON r.project = p.name
GROUP BY p.name ORDER BY p.name
"""


class SQLiteRunStore(WorkerStore):
    """A :class:`~coreport.runs.ports.RunStore` in the SQLite file at ``path``."""

    label = "SQLite run store"
    # A panel's history of a long run (800,000 points: half a second to read) must not
    # hold up every run's appends, nor the reads of runs that each request makes. Two
    # readers: a report opens its runs' histories together, and SQLite lets go of the
    # interpreter while it reads, so two reads go on at once on two cores.
    readers = 2

    def __init__(self, path: Path, **options: Any) -> None:
        super().__init__(path, **options)
        # Many runs log at once (a sweep, every step of each): their appends share
        # commits, one sync for all that came during the one before.
        self._history = SharedCommits(
            self,
            "append history",
            data.write_history,
            size=lambda append: sum(len(row.metrics) for row in append.rows),
            max_size=_POINTS_PER_COMMIT,
        )
        self._logs = SharedCommits(
            self,
            "append logs",
            data.write_logs,
            size=lambda append: len(append.lines),
            max_size=_POINTS_PER_COMMIT,
        )
        self._history_reads: SharedReads[HistoryRead, dict[str, StoredSeries]] = SharedReads()

    async def close(self) -> None:
        """Close the file once the appends handed over so far are committed and the
        history reads under way have ended."""
        await self._history.drained()
        await self._logs.drained()
        await self._history_reads.drained()
        await super().close()

    async def ping(self) -> None:
        await self._call("ping", lambda conn: conn.execute("SELECT 1").fetchone())

    async def create_run(self, run: Run) -> None:
        await self._call("create a run", lambda conn: _create_run(conn, run))

    async def get_run(self, run_id: str) -> Run:
        # On the writing connection: a point lookup (a request's access check, for a run
        # the service has not seen yet), which must not wait behind a long read of history.
        return await self._call("read a run", lambda conn: _get_run(conn, run_id))

    async def update_run(self, run_id: str, change: RunChange, now: datetime) -> Run:
        return await self._call("update a run", lambda conn: _update_run(conn, run_id, change, now))

    async def list_runs(self, project: str, query: RunQuery) -> RunPage:
        return await self._read("list runs", lambda conn: _list_runs(conn, project, query))

    async def list_projects(self) -> list[Project]:
        def work(conn: sqlite3.Connection) -> list[Project]:
            return [
                Project(name, from_text(created), count, from_text(last or created))
                for name, created, count, last in conn.execute(_PROJECTS)
            ]

        return await self._read("list projects", work)

    async def append_history(self, run_id: str, rows: Sequence[HistoryRow], now: datetime) -> None:
        await self._history(data.HistoryAppend(run_id, rows, now))

    async def history_keys(self, run_id: str) -> list[str]:
        return await self._read("list history keys", lambda c: data.history_keys(c, run_id))

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

        def start(begun: Begun) -> Awaitable[dict[str, StoredSeries]]:
            def work(conn: sqlite3.Connection) -> dict[str, StoredSeries]:
                begun()
                return data.read_history(conn, run_id, keys, low, high, max_points)

            return self._read("read history", work)

        # Those who open a report at once wait here for a reading thread, for the same series.
        return await self._history_reads.read((run_id, keys, low, high, max_points), start)

    async def append_logs(
        self, run_id: str, lines: Sequence[LogLine], first_line: int | None
    ) -> int:
        return await self._logs(data.LogAppend(run_id, lines, first_line))

    async def read_logs(
        self, run_id: str, start: int, limit: int
    ) -> tuple[list[StoredLogLine], int]:
        return await self._read("read logs", lambda c: data.read_logs(c, run_id, start, limit))

    async def put_media(self, run_id: str, media: NewMedia, now: datetime) -> MediaInfo:
        return await self._call("store media", lambda c: data.put_media(c, run_id, media, now))

    async def list_media(
        self, run_id: str, key: str | None, step: int | None, limit: int, offset: int
    ) -> list[MediaInfo]:
        return await self._read(
            "list media", lambda c: data.list_media(c, run_id, key, step, limit, offset)
        )

    async def get_media(self, run_id: str, media_id: str) -> tuple[MediaInfo, bytes]:
        return await self._read("read media", lambda c: data.get_media(c, run_id, media_id))


def _create_run(conn: sqlite3.Connection, run: Run) -> None:
    with _transaction(conn):
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run.id,)).fetchone():
            raise RunExists(run.id)
        conn.execute(
            "INSERT INTO projects (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (run.project, to_text(run.created_at)),
        )
        conn.execute(
            f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run.id,
                run.project,
                run.name,
                run.state,
                _json(run.config),
                _json(run.summary),
                _json(list(run.tags)),
                run.code.git_commit,
                run.code.repository,
                run.code.diff_summary,
                to_text(run.created_at),
                to_text(run.updated_at),
            ),
        )


def _get_run(conn: sqlite3.Connection, run_id: str) -> Run:
    row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise RunNotFound(run_id)
    return _run(row)


def _update_run(conn: sqlite3.Connection, run_id: str, change: RunChange, now: datetime) -> Run:
    with _transaction(conn):
        current = _get_run(conn, run_id)
        changed = change(current)
        # Identity and creation time are not the change's to alter.
        updated = replace(
            changed, id=current.id, project=current.project, created_at=current.created_at
        )
        stamp = conn.execute(
            "UPDATE runs SET name = ?, state = ?, config = ?, summary = ?, tags = ?, "
            "updated_at = max(updated_at, ?) WHERE id = ? RETURNING updated_at",
            (
                updated.name,
                updated.state,
                _json(updated.config),
                _json(updated.summary),
                _json(list(updated.tags)),
                to_text(now),
                run_id,
            ),
        ).fetchone()[0]
    return replace(updated, updated_at=from_text(stamp))


def _list_runs(conn: sqlite3.Connection, project: str, query: RunQuery) -> RunPage:
    sql = sqlite_run_query(project, query)
    with _transaction(conn, "DEFERRED"):
        (total,) = conn.execute(
            f"SELECT count(*) FROM runs WHERE {sql.where}", sql.where_args
        ).fetchone()
        rows = conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE {sql.where} ORDER BY {sql.order} "
            "LIMIT ? OFFSET ?",
            [*sql.args, query.limit, query.offset],
        ).fetchall()
    return RunPage([_run(row) for row in rows], total)


def _run(row: Sequence[Any]) -> Run:
    return Run(
        id=row[0],
        project=row[1],
        name=row[2],
        state=row[3],
        config=json.loads(row[4]),
        summary=json.loads(row[5]),
        tags=tuple(json.loads(row[6])),
        code=CodeRef(row[7], row[8], row[9]),
        created_at=from_text(row[10]),
        updated_at=from_text(row[11]),
    )


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
