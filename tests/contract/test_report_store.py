"""The ReportStore contract (titles, versions, run references), run on SQLite and on
PostgreSQL. The report registry it joins is written through the access store of the same
database, as the app does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coreport.access.model import ReportEntry
from coreport.access.ports import AccessStore
from coreport.reports.ports import NewVersion, ReportStore, RunRef
from coreport.stores.postgres_access import PostgresAccessStore
from coreport.stores.postgres_reports import PostgresReportStore
from coreport.stores.sqlite_access import SQLiteAccessStore
from coreport.stores.sqlite_reports import SQLiteReportStore
from tests.support.postgres import scratch_database

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@dataclass
class Stores:
    reports: ReportStore
    access: AccessStore

    async def register(self, report_id: str, project: str = "p", minutes: int = 0) -> None:
        entry = ReportEntry(report_id, project, None, NOW + timedelta(minutes=minutes))
        await self.access.register_report(entry)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "sqlite":
        path = tmp_path / "data" / "coreport.sqlite3"
        chosen = Stores(SQLiteReportStore(path), SQLiteAccessStore(path))
        async with _opened(chosen):
            yield chosen
        return
    async with scratch_database() as dsn:
        chosen = Stores(PostgresReportStore(dsn), PostgresAccessStore(dsn))
        async with _opened(chosen):
            yield chosen


@asynccontextmanager
async def _opened(stores: Stores) -> AsyncIterator[None]:
    await stores.reports.open()
    try:
        await stores.access.open()
        try:
            yield
        finally:
            await stores.access.close()
    finally:
        await stores.reports.close()


def version(
    version_id: str, report_id: str, *, title: str = "T", minutes: int = 0, vector: bytes = b"v"
) -> NewVersion:
    return NewVersion(
        id=version_id,
        report_id=report_id,
        kind="named",
        name=f"name of {version_id}",
        title=title,
        created_by=None,
        created_at=NOW + timedelta(minutes=minutes),
        state=b"state of " + version_id.encode(),
        state_vector=vector,
    )


async def test_reports_are_listed_with_titles_newest_first(stores: Stores) -> None:
    await stores.register("r1", "a")
    await stores.register("r2", "a", minutes=1)
    await stores.register("r3", "b", minutes=2)
    store = stores.reports
    await store.set_title("r1", "Learning-rate SWEEP", NOW + timedelta(minutes=5))
    await store.set_title("r3", "dropout sweep", NOW + timedelta(minutes=3))

    found, total = await store.list_reports(project=None, query=None, limit=10, offset=0)
    assert total == 3
    assert [(r.id, r.title) for r in found] == [
        ("r1", "Learning-rate SWEEP"),
        ("r3", "dropout sweep"),
        ("r2", ""),
    ]
    assert found[0].updated_at == NOW + timedelta(minutes=5)
    assert found[2].updated_at == found[2].created_at == NOW + timedelta(minutes=1)

    found, total = await store.list_reports(project="a", query="sweep", limit=10, offset=0)
    assert ([r.id for r in found], total) == (["r1"], 1)
    found, total = await store.list_reports(project=None, query="%", limit=10, offset=0)
    assert (found, total) == ([], 0)
    found, total = await store.list_reports(project=None, query=None, limit=1, offset=1)
    assert ([r.id for r in found], total) == (["r3"], 3)

    await stores.access.delete_report("r1", NOW + timedelta(minutes=9))
    assert await store.get_report("r1") is None
    assert (await store.get_report("r3")) is not None
    assert (await store.list_reports(project=None, query=None, limit=10, offset=0))[1] == 2


async def test_versions_are_numbered_and_read_back(stores: Stores) -> None:
    await stores.register("r1")
    store = stores.reports
    first = await store.add_version(version("v1", "r1", title="One"), [RunRef("run-a", True)])
    second = await store.add_version(
        version("v2", "r1", title="Two", minutes=1, vector=b"w"),
        [RunRef("run-a", False), RunRef("run-b", False)],
    )
    assert (first.number, first.run_count, first.kind) == (1, 1, "named")
    assert (second.number, second.run_count, second.state_vector) == (2, 2, b"w")
    assert [v.id for v in await store.list_versions("r1")] == ["v2", "v1"]
    assert await store.latest_version("r1") == second
    assert await store.latest_version("other") is None

    stored = await store.get_version("r1", "v1")
    assert stored is not None
    assert (stored.info, stored.state, stored.runs) == (
        first,
        b"state of v1",
        [RunRef("run-a", True)],
    )
    assert await store.get_version("other", "v1") is None
    # Taking a version records its title as the report's.
    info = await store.get_report("r1")
    assert info is not None
    assert (info.title, info.updated_at) == ("Two", NOW + timedelta(minutes=1))


async def test_concurrent_versions_get_distinct_numbers(stores: Stores) -> None:
    await stores.register("r1")
    taken = await asyncio.gather(
        *(stores.reports.add_version(version(f"v{i}", "r1"), []) for i in range(8))
    )
    assert sorted(v.number for v in taken) == list(range(1, 9))


async def test_a_run_is_used_by_reports_whose_latest_version_refers_to_it(stores: Stores) -> None:
    store = stores.reports
    await stores.register("r1")
    await stores.register("r2")
    await store.add_version(version("a1", "r1", title="First"), [RunRef("run", True)])
    await store.add_version(version("b1", "r2", title="Second", minutes=1), [RunRef("run", False)])
    uses = await store.reports_using("run")
    assert [(u.report_id, u.title, u.version_number, u.explicit) for u in uses] == [
        ("r2", "Second", 1, False),
        ("r1", "First", 1, True),
    ]
    # r2 stops using the run in its next version; a deleted report uses nothing.
    await store.add_version(version("b2", "r2", minutes=2), [RunRef("other", True)])
    await stores.access.delete_report("r1", NOW)
    assert await store.reports_using("run") == []
    assert [u.report_id for u in await store.reports_using("other")] == ["r2"]
