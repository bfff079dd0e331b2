"""The RunStore contract (coreport.runs.ports.RunStore), run on SQLite and on PostgreSQL.

Several stores made by one backend share the storage, standing for several server instances.
Each storage also gets a document store opened first, so the run tables are shown to live
beside the document tables under one migration history.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coreport.ports import Store, StoreError
from coreport.runs.filters import parse_run_query
from coreport.runs.ports import (
    CodeRef,
    HistoryRow,
    JsonField,
    LogLine,
    MediaNotFound,
    NewMedia,
    Run,
    RunExists,
    RunNotFound,
    RunQuery,
    RunStore,
    Series,
    SortKey,
    StoredSeries,
    ValueFilter,
    downsample,
)
from coreport.stores import postgres, postgres_runs, sqlite, sqlite_runs
from tests.support.postgres import scratch_database

T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


@dataclass
class RunBackend:
    name: str
    make: Callable[[], RunStore]
    made: list[RunStore] = field(default_factory=list)

    async def opened(self) -> RunStore:
        store = self.make()
        self.made.append(store)
        await store.open()
        return store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def run_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunBackend]:
    documents: Store
    if request.param == "sqlite":
        path = tmp_path / "data" / "coreport.db"
        documents = sqlite.SQLiteStore(path)
        backend = RunBackend("sqlite", lambda: sqlite_runs.SQLiteRunStore(path))
        async with _serving(documents, backend):
            yield backend
        return
    async with scratch_database() as dsn:
        documents = postgres.PostgresStore(dsn)
        backend = RunBackend("postgres", lambda: postgres_runs.PostgresRunStore(dsn))
        async with _serving(documents, backend):
            yield backend


class _serving:
    def __init__(self, documents: Store, backend: RunBackend) -> None:
        self._documents = documents
        self._backend = backend

    async def __aenter__(self) -> None:
        await self._documents.open()

    async def __aexit__(self, *exc_info: object) -> None:
        for store in self._backend.made:
            await store.close()
        await self._documents.close()


@pytest.fixture
async def runs(run_backend: RunBackend) -> RunStore:
    return await run_backend.opened()


def make_run(run_id: str = "r1", project: str = "p", **changes: object) -> Run:
    run = Run(
        id=run_id,
        project=project,
        name=f"name-{run_id}",
        state="running",
        config={"lr": 0.1, "optimizer": {"name": "adam", "betas": [0.9, 0.99]}},
        summary={},
        tags=("baseline",),
        code=CodeRef("0123abcd", "https://example.com/repo.git", "2 files changed"),
        created_at=T0,
        updated_at=T0,
    )
    return replace(run, **changes)


async def ids(runs: RunStore, query: RunQuery, project: str = "p") -> list[str]:
    return [run.id for run in (await runs.list_runs(project, query)).runs]


async def test_a_created_run_reads_back_exactly(runs: RunStore) -> None:
    run = make_run(summary={"loss": 0.25, "nested": {"ok": True, "none": None}})
    await runs.create_run(run)
    assert await runs.get_run("r1") == run


async def test_a_taken_id_is_refused_in_any_project_and_changes_nothing(runs: RunStore) -> None:
    await runs.create_run(make_run())
    with pytest.raises(RunExists):
        await runs.create_run(make_run(project="other", name="impostor"))
    assert (await runs.get_run("r1")).name == "name-r1"
    assert [p.name for p in await runs.list_projects()] == ["p"]


async def test_unknown_runs_are_reported_by_every_method(runs: RunStore) -> None:
    row = HistoryRow(0, 1.0, {"loss": 1.0})
    calls = [
        runs.get_run("nope"),
        runs.update_run("nope", lambda run: run, T0),
        runs.append_history("nope", [row], T0),
        runs.history_keys("nope"),
        runs.read_history("nope", ["loss"]),
        runs.append_logs("nope", [LogLine("x", "stdout", 1.0)], None),
        runs.read_logs("nope", 0, 10),
        runs.put_media("nope", NewMedia("img", 0, 0, "image/png", None, PNG), T0),
        runs.list_media("nope", None, None, 10, 0),
        runs.get_media("nope", "m1"),
    ]
    for call in calls:
        with pytest.raises(RunNotFound):
            await call
    assert (await runs.list_runs("p", RunQuery())).total == 0


async def test_projects_are_created_on_first_run_and_count_their_runs(runs: RunStore) -> None:
    await runs.create_run(make_run("a1", "alpha"))
    await runs.create_run(make_run("a2", "alpha", updated_at=T0 + timedelta(hours=1)))
    await runs.create_run(make_run("b1", "beta"))
    projects = await runs.list_projects()
    assert [(p.name, p.run_count) for p in projects] == [("alpha", 2), ("beta", 1)]
    assert projects[0].created_at == T0
    assert projects[0].last_activity == T0 + timedelta(hours=1)


async def test_update_applies_the_change_and_keeps_identity(runs: RunStore) -> None:
    await runs.create_run(make_run())
    later = T0 + timedelta(minutes=5)

    def change(run: Run) -> Run:
        return replace(
            run,
            id="hijack",
            project="elsewhere",
            created_at=later,
            state="finished",
            summary={"loss": 0.1},
            tags=("best",),
        )

    updated = await runs.update_run("r1", change, later)
    assert (updated.id, updated.project, updated.created_at) == ("r1", "p", T0)
    assert (updated.state, updated.summary, updated.tags) == ("finished", {"loss": 0.1}, ("best",))
    assert updated.updated_at == later
    assert await runs.get_run("r1") == updated
    # A clock behind the stored time does not move updated_at backwards.
    assert (await runs.update_run("r1", lambda run: run, T0)).updated_at == later


async def test_a_failing_change_writes_nothing(runs: RunStore) -> None:
    await runs.create_run(make_run())

    def broken(run: Run) -> Run:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await runs.update_run("r1", broken, T0 + timedelta(seconds=1))
    assert await runs.get_run("r1") == make_run()


async def test_concurrent_updates_from_two_instances_lose_nothing(run_backend: RunBackend) -> None:
    first, second = await run_backend.opened(), await run_backend.opened()
    await first.create_run(make_run())

    def adding(key: str) -> Callable[[Run], Run]:
        return lambda run: replace(run, summary={**run.summary, key: 1})

    await asyncio.gather(
        *((first if i % 2 else second).update_run("r1", adding(f"k{i}"), T0) for i in range(20))
    )
    assert set((await first.get_run("r1")).summary) == {f"k{i}" for i in range(20)}


async def test_history_is_idempotent_per_step_and_merges_metrics(runs: RunStore) -> None:
    await runs.create_run(make_run())
    batch = [HistoryRow(step, 100.0 + step, {"loss": 1.0 / (step + 1)}) for step in range(5)]
    await runs.append_history("r1", batch, T0)
    await runs.append_history("r1", batch, T0)  # a retry
    # More metrics for step 4 in a later batch, and a corrected loss.
    await runs.append_history("r1", [HistoryRow(4, 200.0, {"acc": 0.9, "loss": 0.15})], T0)

    history = await runs.read_history("r1", ["loss", "acc", "missing"])
    loss = history["loss"].points
    assert loss.steps == [0, 1, 2, 3, 4]
    assert loss.values == [1.0, 0.5, 1.0 / 3, 0.25, 0.15]
    assert loss.timestamps == [100.0, 101.0, 102.0, 103.0, 200.0]
    assert (history["acc"].points.steps, history["acc"].points.values) == ([4], [0.9])
    assert history["missing"] == StoredSeries(Series([], [], []), 0)
    assert await runs.history_keys("r1") == ["acc", "loss"]


async def test_within_a_batch_the_later_row_of_a_step_wins(runs: RunStore) -> None:
    await runs.create_run(make_run())
    rows = [HistoryRow(1, 1.0, {"loss": 1.0}), HistoryRow(1, 2.0, {"loss": 2.0})]
    await runs.append_history("r1", rows, T0)
    series = (await runs.read_history("r1", ["loss"]))["loss"].points
    assert (series.steps, series.values, series.timestamps) == ([1], [2.0], [2.0])


async def test_a_failing_history_batch_stores_nothing(runs: RunStore) -> None:
    await runs.create_run(make_run())
    await runs.append_history("r1", [HistoryRow(0, 1.0, {"loss": 1.0})], T0)
    # The schemas never let NaN through; the database refuses it as well.
    bad = [HistoryRow(1, 1.0, {"loss": 0.5}), HistoryRow(2, 1.0, {"loss": math.nan})]
    with pytest.raises(StoreError):
        await runs.append_history("r1", bad, T0 + timedelta(seconds=1))
    assert (await runs.read_history("r1", ["loss"]))["loss"].points.steps == [0]
    assert (await runs.get_run("r1")).updated_at == T0


async def test_history_bumps_updated_at_and_reads_step_ranges(runs: RunStore) -> None:
    await runs.create_run(make_run())
    rows = [HistoryRow(step, 0.0, {"x": float(step)}) for step in range(0, 100, 10)]
    await runs.append_history("r1", rows, T0 + timedelta(seconds=3))
    assert (await runs.get_run("r1")).updated_at == T0 + timedelta(seconds=3)
    window = await runs.read_history("r1", ["x"], start_step=25, end_step=60)
    points = Series([30, 40, 50, 60], [30.0, 40.0, 50.0, 60.0], [0.0] * 4)
    assert window["x"] == StoredSeries(points, 4)
    assert (await runs.read_history("r1", ["x"], end_step=10))["x"].points.steps == [0, 10]


def _wave(step: int) -> float:
    # Repeats every 7 steps, so equal values (ties) fall in most buckets.
    return float((step * 5) % 7) - 3.0


@pytest.mark.parametrize(
    ("name", "steps"),
    [
        ("every step", range(3_000)),
        ("every 10th step, from 40", range(40, 30_040, 10)),
        ("unevenly spaced", [*range(0, 1_000), *range(1_003, 5_000, 3), 9_999]),
    ],
)
async def test_a_budgeted_read_keeps_the_points_of_min_max_indices(
    runs: RunStore, name: str, steps: Sequence[int]
) -> None:
    """Whatever way a store picks them (SQLite looks up each bucket's extremes when the steps
    are evenly spaced, PostgreSQL ranks them in SQL), they are the ones the Python rule
    keeps of the full series, timestamps included, for every budget and step range."""
    await runs.create_run(make_run())
    rows = [HistoryRow(step, 1_000.0 + step / 4, {"y": _wave(step)}) for step in steps]
    for start in range(0, len(rows), 2_000):
        await runs.append_history("r1", rows[start : start + 2_000], T0)
    reads = [(None, None), (45, None), (None, 2_500), (1_000, 2_000)]
    for (low, high), budget in itertools.product(reads, [2, 3, 4, 5, 100, 1_000, 50_000]):
        full = (await runs.read_history("r1", ["y"], low, high))["y"]
        reduced = (await runs.read_history("r1", ["y"], low, high, max_points=budget))["y"]
        assert reduced == StoredSeries(downsample(full.points, budget), full.stored), (
            name,
            low,
            high,
            budget,
        )
        assert full.stored == len(full.points.steps)


async def test_log_lines_append_in_order_and_retries_replace(runs: RunStore) -> None:
    await runs.create_run(make_run())
    lines = [LogLine(f"line {i}", "stdout", float(i)) for i in range(5)]
    assert await runs.append_logs("r1", lines[:3], None) == 0
    assert await runs.append_logs("r1", lines[3:], None) == 3
    # A retried batch with explicit numbers replaces, never duplicates.
    assert await runs.append_logs("r1", [LogLine("line 3 again", "stderr", 9.0)], 3) == 3

    page, total = await runs.read_logs("r1", 2, 2)
    assert total == 5
    assert [(line.line, line.text, line.stream) for line in page] == [
        (2, "line 2", "stdout"),
        (3, "line 3 again", "stderr"),
    ]
    assert [line.line for line in (await runs.read_logs("r1", 4, 100))[0]] == [4]
    assert await runs.read_logs("r1", 5, 100) == ([], 5)


async def test_media_is_stored_listed_and_replaced_in_place(runs: RunStore) -> None:
    await runs.create_run(make_run())
    first = await runs.put_media("r1", NewMedia("samples", 1, 0, "image/png", "one", PNG), T0)
    await runs.put_media("r1", NewMedia("samples", 2, 0, "image/png", None, PNG), T0)
    await runs.put_media("r1", NewMedia("attention", 1, 0, "image/png", None, PNG), T0)
    replaced = await runs.put_media(
        "r1", NewMedia("samples", 1, 0, "image/png", "one, again", PNG[:20]), T0
    )
    assert replaced.id == first.id
    assert (replaced.caption, replaced.size) == ("one, again", 20)

    everything = await runs.list_media("r1", None, None, 10, 0)
    assert [(m.key, m.step) for m in everything] == [
        ("attention", 1),
        ("samples", 1),
        ("samples", 2),
    ]
    assert [m.step for m in await runs.list_media("r1", "samples", None, 10, 0)] == [1, 2]
    assert [m.key for m in await runs.list_media("r1", None, 1, 10, 0)] == ["attention", "samples"]
    assert [m.step for m in await runs.list_media("r1", "samples", None, 1, 1)] == [2]

    info, data = await runs.get_media("r1", first.id)
    assert (info, data) == (replaced, PNG[:20])
    with pytest.raises(MediaNotFound):
        await runs.get_media("r1", "no-such-media")


async def test_two_instances_see_each_others_writes(run_backend: RunBackend) -> None:
    first, second = await run_backend.opened(), await run_backend.opened()
    await first.create_run(make_run())
    await second.append_history("r1", [HistoryRow(0, 1.0, {"loss": 1.0})], T0)
    assert (await first.read_history("r1", ["loss"]))["loss"].points.values == [1.0]


async def test_a_closed_store_refuses_calls(run_backend: RunBackend) -> None:
    store = await run_backend.opened()
    await store.close()
    with pytest.raises(StoreError):
        await store.get_run("r1")
    await store.close()  # idempotent


# --- listing: filters, sorting, paging -------------------------------------------------


@pytest.fixture
async def zoo(runs: RunStore) -> RunStore:
    """Five runs with varied configs and summaries, created a second apart."""
    specs = [
        ("a", "running", {"lr": 0.1, "opt": "adam", "flag": True}, {"loss": 0.5}, ("x",)),
        ("b", "finished", {"lr": 1, "opt": "sgd", "flag": 1}, {"loss": 0.25}, ("x", "y")),
        ("c", "failed", {"lr": 1.0, "opt": "adam"}, {"loss": "n/a"}, ("y",)),
        ("d", "finished", {"lr": 0.01, "opt": None}, {"loss": 1.5, "train/acc": 0.9}, ()),
        ("e", "crashed", {"lr": "0.1", "nested": {"depth": 3}}, {}, ("x",)),
    ]
    for i, (run_id, state, config, summary, tags) in enumerate(specs):
        at = T0 + timedelta(seconds=i)
        await runs.create_run(
            make_run(
                run_id,
                name=f"run-{'edcba'[i]}",
                state=state,
                config=config,
                summary=summary,
                tags=tags,
                created_at=at,
                updated_at=at,
            )
        )
    await runs.create_run(make_run("other-project", project="q"))
    return runs


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["e", "d", "c", "b", "a"]),
        ("config.lr=0.1", ["a"]),  # the string "0.1" of run e is not the number 0.1
        ('config.lr="0.1"', ["e"]),
        ("config.lr==1", ["c", "b"]),  # 1 and 1.0 are the same number
        ("config.flag=true", ["a"]),  # true is not 1
        ("config.opt=adam", ["c", "a"]),
        ("config.opt=null", ["d"]),
        ("config.opt!=adam", ["e", "d", "b"]),  # a missing value is "not adam" too
        ("config.nested.depth>=3", ["e"]),
        ("summary.loss<0.5", ["b"]),
        ("summary.loss<=0.5", ["b", "a"]),
        ("summary.loss>0.3", ["d", "a"]),  # the string "n/a" is never ordered
        ("summary.train/acc>0.5", ["d"]),
        ("tag=x", ["e", "b", "a"]),
        ("tag=x&tag=y", ["b"]),
        ("state=finished,failed", ["d", "c", "b"]),
        ("id=a,c,zz", ["c", "a"]),
        ("state=finished&summary.loss<1", ["b"]),
        ("sort=created", ["a", "b", "c", "d", "e"]),
        ("sort=name", ["e", "d", "c", "b", "a"]),
        ("sort=-name", ["a", "b", "c", "d", "e"]),
        # Numbers first, numerically; then strings; then runs without the value.
        ("sort=summary.loss", ["b", "a", "d", "c", "e"]),
        ("sort=-summary.loss", ["d", "a", "b", "c", "e"]),
        ("sort=config.lr", ["d", "a", "b", "c", "e"]),  # b and c tie at 1: older first
        ("sort=-config.lr", ["c", "b", "a", "d", "e"]),
    ],
)
async def test_filters_and_sorting(zoo: RunStore, query: str, expected: list[str]) -> None:
    assert await ids(zoo, parse_run_query(query)) == expected


async def test_paging_reports_the_total(zoo: RunStore) -> None:
    query = RunQuery(sort=SortKey("created", descending=False), limit=2)
    first = await zoo.list_runs("p", query)
    assert ([run.id for run in first.runs], first.total) == (["a", "b"], 5)
    assert await ids(zoo, replace(query, offset=4)) == ["e"]
    assert await ids(zoo, replace(query, offset=10)) == []
    assert (await zoo.list_runs("nobody", RunQuery())).total == 0


async def test_an_empty_id_list_matches_nothing(zoo: RunStore) -> None:
    assert await ids(zoo, RunQuery(run_ids=())) == []


async def test_filters_built_in_code_match_like_parsed_ones(zoo: RunStore) -> None:
    loss = JsonField("summary", ("loss",))
    query = RunQuery(filters=(ValueFilter(loss, ">=", 0.25), ValueFilter(loss, "!=", 1.5)))
    assert await ids(zoo, query) == ["b", "a"]
