"""The embedded report store: titles, versions and run references in the SQLite file of
the documents, on its own connection and worker thread (the design of
:mod:`coreport.stores.sqlite_runs`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from coreport.reports.ports import (
    NewVersion,
    ReportInfo,
    RunRef,
    RunUse,
    StoredVersion,
    VersionInfo,
    VersionKind,
)
from coreport.stores.sqlite import WorkerStore, _transaction
from coreport.stores.sqlite_run_data import from_text, to_text

_REPORT = """
SELECT r.id, r.project, coalesce(t.title, ''), r.created_by, r.created_at,
       coalesce(t.updated_at, r.created_at) AS updated
FROM reports AS r LEFT JOIN report_titles AS t ON t.report_id = r.id
WHERE r.deleted_at IS NULL
"""

_VERSION = """
SELECT v.id, v.report_id, v.number, v.kind, v.name, v.title, v.created_by, v.created_at,
       v.state_vector, (SELECT count(*) FROM report_run_refs AS f WHERE f.version_id = v.id)
FROM report_versions AS v
"""

_USES = """
SELECT r.id, r.project, v.title, v.id, v.number, v.created_at, f.explicit
FROM report_run_refs AS f
JOIN report_versions AS v ON v.id = f.version_id
JOIN reports AS r ON r.id = v.report_id
WHERE f.run_id = ? AND r.deleted_at IS NULL
  AND v.number = (SELECT max(number) FROM report_versions WHERE report_id = v.report_id)
ORDER BY v.created_at DESC, r.id
"""

_SET_TITLE = """
INSERT INTO report_titles (report_id, title, updated_at) VALUES (?, ?, ?)
ON CONFLICT (report_id) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at
"""


class SQLiteReportStore(WorkerStore):
    """A :class:`~coreport.reports.ports.ReportStore` in the SQLite file at ``path``."""

    label = "SQLite report store"

    async def set_title(self, report_id: str, title: str, now: datetime) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute(_SET_TITLE, (report_id, title, to_text(now)))

        await self._call("record a report title", work)

    async def get_report(self, report_id: str) -> ReportInfo | None:
        def work(conn: sqlite3.Connection) -> ReportInfo | None:
            row = conn.execute(_REPORT + " AND r.id = ?", (report_id,)).fetchone()
            return None if row is None else _report(row)

        return await self._call("read a report", work)

    async def list_reports(
        self, *, project: str | None, query: str | None, limit: int, offset: int
    ) -> tuple[list[ReportInfo], int]:
        where = " AND (?1 IS NULL OR r.project = ?1)"
        where += " AND (?2 IS NULL OR instr(lower(coalesce(t.title, '')), lower(?2)) > 0)"

        def work(conn: sqlite3.Connection) -> tuple[list[ReportInfo], int]:
            params = (project, query, limit, offset)
            rows = conn.execute(
                _REPORT + where + " ORDER BY updated DESC, r.id LIMIT ?3 OFFSET ?4", params
            ).fetchall()
            total = conn.execute(
                f"SELECT count(*) FROM ({_REPORT + where})", (project, query)
            ).fetchone()[0]
            return [_report(row) for row in rows], int(total)

        return await self._call("list reports", work)

    async def add_version(self, version: NewVersion, runs: Sequence[RunRef]) -> VersionInfo:
        def work(conn: sqlite3.Connection) -> VersionInfo:
            with _transaction(conn):
                number = conn.execute(
                    "SELECT coalesce(max(number), 0) + 1 FROM report_versions WHERE report_id = ?",
                    (version.report_id,),
                ).fetchone()[0]
                conn.execute(
                    "INSERT INTO report_versions (id, report_id, number, kind, name, title, "
                    "created_by, created_at, state, state_vector) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        version.id,
                        version.report_id,
                        number,
                        version.kind,
                        version.name,
                        version.title,
                        version.created_by,
                        to_text(version.created_at),
                        version.state,
                        version.state_vector,
                    ),
                )
                conn.executemany(
                    "INSERT INTO report_run_refs (version_id, run_id, explicit) VALUES (?, ?, ?)",
                    [(version.id, ref.run_id, int(ref.explicit)) for ref in runs],
                )
                conn.execute(
                    _SET_TITLE, (version.report_id, version.title, to_text(version.created_at))
                )
                row = conn.execute(_VERSION + " WHERE v.id = ?", (version.id,)).fetchone()
            return _version(row)

        return await self._call("store a version", work)

    async def list_versions(self, report_id: str) -> list[VersionInfo]:
        def work(conn: sqlite3.Connection) -> list[VersionInfo]:
            rows = conn.execute(
                _VERSION + " WHERE v.report_id = ? ORDER BY v.number DESC", (report_id,)
            )
            return [_version(row) for row in rows]

        return await self._call("list versions", work)

    async def latest_version(self, report_id: str) -> VersionInfo | None:
        def work(conn: sqlite3.Connection) -> VersionInfo | None:
            row = conn.execute(
                _VERSION + " WHERE v.report_id = ? ORDER BY v.number DESC LIMIT 1", (report_id,)
            ).fetchone()
            return None if row is None else _version(row)

        return await self._call("read the latest version", work)

    async def get_version(self, report_id: str, version_id: str) -> StoredVersion | None:
        def work(conn: sqlite3.Connection) -> StoredVersion | None:
            row = conn.execute(
                _VERSION + " WHERE v.report_id = ? AND v.id = ?", (report_id, version_id)
            ).fetchone()
            if row is None:
                return None
            (state,) = conn.execute(
                "SELECT state FROM report_versions WHERE id = ?", (version_id,)
            ).fetchone()
            refs = conn.execute(
                "SELECT run_id, explicit FROM report_run_refs WHERE version_id = ? ORDER BY run_id",
                (version_id,),
            )
            return StoredVersion(_version(row), bytes(state), [RunRef(r, bool(e)) for r, e in refs])

        return await self._call("read a version", work)

    async def reports_using(self, run_id: str) -> list[RunUse]:
        def work(conn: sqlite3.Connection) -> list[RunUse]:
            return [
                RunUse(rid, project, title, vid, number, from_text(at), bool(explicit))
                for rid, project, title, vid, number, at, explicit in conn.execute(_USES, (run_id,))
            ]

        return await self._call("find the reports using a run", work)


def _report(row: Sequence[Any]) -> ReportInfo:
    report_id, project, title, created_by, created_at, updated_at = row
    return ReportInfo(
        report_id, project, title, created_by, from_text(created_at), from_text(updated_at)
    )


def _version(row: Sequence[Any]) -> VersionInfo:
    vid, report_id, number, kind, name, title, by, at, vector, runs = row
    return VersionInfo(
        vid,
        report_id,
        number,
        cast(VersionKind, kind),
        name,
        title,
        by,
        from_text(at),
        bytes(vector),
        runs,
    )
