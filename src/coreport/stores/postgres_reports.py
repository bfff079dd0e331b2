"""The scaled report store: titles, versions and run references in PostgreSQL, through
asyncpg, with its own small pool (a bulkhead, as :mod:`coreport.stores.postgres_runs`).
Version numbers stay gapless and unique across instances: taking one locks the report's
registry row."""

from __future__ import annotations

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
from coreport.stores.postgres_pool import PooledStore

_REPORT = """
SELECT r.id, r.project, coalesce(t.title, '') AS title, r.created_by, r.created_at,
       coalesce(t.updated_at, r.created_at) AS updated
FROM reports AS r LEFT JOIN report_titles AS t ON t.report_id = r.id
WHERE r.deleted_at IS NULL
"""

_FILTERS = """
  AND ($1::text IS NULL OR r.project = $1)
  AND ($2::text IS NULL OR strpos(lower(coalesce(t.title, '')), lower($2)) > 0)
"""

_VERSION = """
SELECT v.id, v.report_id, v.number, v.kind, v.name, v.title, v.created_by, v.created_at,
       v.state_vector, (SELECT count(*) FROM report_run_refs AS f WHERE f.version_id = v.id)
FROM report_versions AS v
"""

_USES = """
SELECT r.id, r.project, v.title, v.id AS vid, v.number, v.created_at, f.explicit
FROM report_run_refs AS f
JOIN report_versions AS v ON v.id = f.version_id
JOIN reports AS r ON r.id = v.report_id
WHERE f.run_id = $1 AND r.deleted_at IS NULL
  AND v.number = (SELECT max(number) FROM report_versions WHERE report_id = v.report_id)
ORDER BY v.created_at DESC, r.id
"""

_SET_TITLE = """
INSERT INTO report_titles (report_id, title, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (report_id) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at
"""


class PostgresReportStore(PooledStore):
    """A :class:`~coreport.reports.ports.ReportStore` in the database named by ``dsn``."""

    label = "PostgreSQL report store"

    def __init__(self, dsn: str, min_size: int = 1, max_size: int = 3) -> None:
        super().__init__(dsn, min_size, max_size)

    async def set_title(self, report_id: str, title: str, now: datetime) -> None:
        async with self._connection("record a report title") as conn:
            await conn.execute(_SET_TITLE, report_id, title, now)

    async def get_report(self, report_id: str) -> ReportInfo | None:
        async with self._connection("read a report") as conn:
            row = await conn.fetchrow(_REPORT + " AND r.id = $1", report_id)
        return None if row is None else _report(row)

    async def list_reports(
        self, *, project: str | None, query: str | None, limit: int, offset: int
    ) -> tuple[list[ReportInfo], int]:
        async with self._connection("list reports") as conn:
            rows = await conn.fetch(
                _REPORT + _FILTERS + " ORDER BY updated DESC, r.id LIMIT $3 OFFSET $4",
                project,
                query,
                limit,
                offset,
            )
            total = await conn.fetchval(
                f"SELECT count(*) FROM ({_REPORT + _FILTERS}) AS matching", project, query
            )
        return [_report(row) for row in rows], int(total)

    async def add_version(self, version: NewVersion, runs: Sequence[RunRef]) -> VersionInfo:
        async with self._connection("store a version") as conn, conn.transaction():
            # The registry row's lock orders the versions of one report across instances.
            await conn.execute("SELECT 1 FROM reports WHERE id = $1 FOR UPDATE", version.report_id)
            number = await conn.fetchval(
                "SELECT coalesce(max(number), 0) + 1 FROM report_versions WHERE report_id = $1",
                version.report_id,
            )
            await conn.execute(
                "INSERT INTO report_versions (id, report_id, number, kind, name, title, "
                "created_by, created_at, state, state_vector) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                version.id,
                version.report_id,
                number,
                version.kind,
                version.name,
                version.title,
                version.created_by,
                version.created_at,
                version.state,
                version.state_vector,
            )
            if runs:
                await conn.executemany(
                    "INSERT INTO report_run_refs (version_id, run_id, explicit) "
                    "VALUES ($1, $2, $3)",
                    [(version.id, ref.run_id, ref.explicit) for ref in runs],
                )
            await conn.execute(_SET_TITLE, version.report_id, version.title, version.created_at)
            row = await conn.fetchrow(_VERSION + " WHERE v.id = $1", version.id)
        return _version(row)

    async def list_versions(self, report_id: str) -> list[VersionInfo]:
        async with self._connection("list versions") as conn:
            rows = await conn.fetch(
                _VERSION + " WHERE v.report_id = $1 ORDER BY v.number DESC", report_id
            )
        return [_version(row) for row in rows]

    async def latest_version(self, report_id: str) -> VersionInfo | None:
        async with self._connection("read the latest version") as conn:
            row = await conn.fetchrow(
                _VERSION + " WHERE v.report_id = $1 ORDER BY v.number DESC LIMIT 1", report_id
            )
        return None if row is None else _version(row)

    async def get_version(self, report_id: str, version_id: str) -> StoredVersion | None:
        async with self._connection("read a version") as conn, conn.transaction():
            row = await conn.fetchrow(
                _VERSION + " WHERE v.report_id = $1 AND v.id = $2", report_id, version_id
            )
            if row is None:
                return None
            state = await conn.fetchval(
                "SELECT state FROM report_versions WHERE id = $1", version_id
            )
            refs = await conn.fetch(
                "SELECT run_id, explicit FROM report_run_refs WHERE version_id = $1 "
                'ORDER BY run_id COLLATE "C"',
                version_id,
            )
        return StoredVersion(
            _version(row), bytes(state), [RunRef(r["run_id"], r["explicit"]) for r in refs]
        )

    async def reports_using(self, run_id: str) -> list[RunUse]:
        async with self._connection("find the reports using a run") as conn:
            rows = await conn.fetch(_USES, run_id)
        return [
            RunUse(
                r["id"],
                r["project"],
                r["title"],
                r["vid"],
                r["number"],
                r["created_at"],
                r["explicit"],
            )
            for r in rows
        ]


def _report(row: Any) -> ReportInfo:
    return ReportInfo(
        row["id"],
        row["project"],
        row["title"],
        row["created_by"],
        row["created_at"],
        row["updated"],
    )


def _version(row: Any) -> VersionInfo:
    return VersionInfo(
        row["id"],
        row["report_id"],
        row["number"],
        cast(VersionKind, row["kind"]),
        row["name"],
        row["title"],
        row["created_by"],
        row["created_at"],
        bytes(row["state_vector"]),
        row["count"],
    )
