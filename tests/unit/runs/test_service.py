"""RunService: what it stores, what it publishes, what it refuses."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from coreport.ports import BusError
from coreport.runs.ports import Run, RunNotFound, StoredSeries
from coreport.runs.schemas import (
    HistoryBatch,
    HistoryQuery,
    MediaQuery,
    MediaUpload,
    RunCreate,
    RunPatch,
)
from coreport.runs.service import (
    InvalidRunData,
    MediaTooLarge,
    RunLimits,
    RunService,
    merge_patch,
)
from coreport.runs.views import (
    LiveRows,
)
from coreport.stores.sqlite_runs import SQLiteRunStore
from tests.support.fakes import ManualClock, RecordingBus

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class FailingBus(RecordingBus):
    async def publish(self, channel: str, data: bytes) -> None:
        raise BusError("redis is down")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteRunStore]:
    store = SQLiteRunStore(tmp_path / "coreport.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def service(store: SQLiteRunStore, bus: RecordingBus) -> RunService:
    limits = RunLimits(max_media_bytes=1000, live_rows_per_message=2)
    return RunService(store, bus, ManualClock(), limits=limits, new_id=lambda: "r1")


def batch(*rows: dict[str, object]) -> HistoryBatch:
    return HistoryBatch.model_validate({"rows": list(rows)})


async def test_history_is_stored_then_published_in_small_messages(
    service: RunService, bus: RecordingBus
) -> None:
    run = await service.create_run("p", RunCreate())
    stored = await service.log_history(
        run.id,
        batch(
            {"step": 2, "metrics": {"loss": 0.5}},
            {"step": 0, "metrics": {"loss": 1.0}, "timestamp": 5.0},
            {"step": 2, "metrics": {"acc": 0.1}},
            {"step": 1, "metrics": {"loss": 0.7}},
        ),
    )
    assert stored == 3
    messages = [LiveRows.model_validate_json(data) for _, data in bus.published]
    assert {name for name, _ in bus.published} == {"runs:r1"}
    assert [[row.step for row in m.rows] for m in messages] == [[0, 1], [2]]
    assert messages[1].rows[0].metrics == {"loss": 0.5, "acc": 0.1}
    assert messages[0].rows[0].timestamp == 5.0
    # Rows without a timestamp get the server's wall clock.
    assert messages[0].rows[1].timestamp == ManualClock().wall()


async def test_a_bus_failure_after_storing_is_logged_not_raised(
    store: SQLiteRunStore, caplog: pytest.LogCaptureFixture
) -> None:
    service = RunService(store, FailingBus(), ManualClock(), new_id=lambda: "r1")
    await service.create_run("p", RunCreate())
    with caplog.at_level(logging.WARNING, logger="coreport.runs.service"):
        assert await service.log_history("r1", batch({"step": 0, "metrics": {"x": 1.0}})) == 1
    assert "stored but not published" in caplog.text
    history = await service.history("r1", HistoryQuery())
    assert history.series["x"].values == [1.0]


async def test_history_reports_sampling(service: RunService) -> None:
    await service.create_run("p", RunCreate())
    rows = [{"step": i, "metrics": {"loss": float(i % 7)}} for i in range(100)]
    await service.log_history("r1", batch(*rows))
    out = await service.history("r1", HistoryQuery(keys=["loss"], max_points=10))
    series = out.series["loss"]
    assert (series.total_points, series.sampled) == (100, True)
    assert len(series.steps) <= 10
    assert {0.0, 6.0} <= set(series.values)


async def test_history_is_reduced_by_the_store(
    service: RunService, store: SQLiteRunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long run's series are hundreds of thousands of points: the store gets the budget
    and picks the points, so the event loop never receives the others."""
    await service.create_run("p", RunCreate())
    rows = [{"step": i, "metrics": {"loss": float(i % 7)}} for i in range(50)]
    uneven = [{"step": i * i, "metrics": {"acc": float(i % 5)}} for i in range(40)]
    await service.log_history("r1", batch(*rows, *uneven))
    budgets: list[int | None] = []
    read = store.read_history

    async def recording_read(
        run_id: str,
        keys: Sequence[str],
        start_step: int | None = None,
        end_step: int | None = None,
        max_points: int | None = None,
    ) -> dict[str, StoredSeries]:
        budgets.append(max_points)
        return await read(run_id, keys, start_step, end_step, max_points)

    monkeypatch.setattr(store, "read_history", recording_read)
    out = await service.history("r1", HistoryQuery(max_points=10))
    assert budgets == [10]
    assert sorted(out.series) == ["acc", "loss"]
    assert (out.series["loss"].total_points, len(out.series["loss"].steps)) == (50, 10)
    assert (out.series["acc"].total_points, len(out.series["acc"].steps)) == (40, 10)


def test_merge_patch_follows_rfc_7396() -> None:
    target = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}
    patch = {"a": None, "b": {"c": None, "x": {"y": None, "z": 1}}, "e": [3], "f": "new"}
    assert merge_patch(target, patch) == {"b": {"d": 3, "x": {"z": 1}}, "e": [3], "f": "new"}
    assert target == {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}


async def test_patch_merges_summary_and_config(service: RunService) -> None:
    await service.create_run("p", RunCreate(config={"lr": 0.1}, summary={"loss": 1.0}))
    patch = RunPatch(summary={"loss": None, "acc": 0.5}, config={"seed": 3}, tags=["b", "a", "b"])
    run = await service.patch_run("r1", patch)
    assert (dict(run.summary), dict(run.config)) == ({"acc": 0.5}, {"lr": 0.1, "seed": 3})
    assert run.tags == ("b", "a")


async def test_a_patch_that_would_grow_the_summary_too_large_is_refused(
    service: RunService,
) -> None:
    await service.create_run("p", RunCreate(summary={"a": "x" * 200_000}))
    with pytest.raises(InvalidRunData) as caught:
        await service.patch_run("r1", RunPatch(summary={"b": "y" * 200_000}))
    assert caught.value.field == "summary"
    assert set((await service.get_run("r1")).summary) == {"a"}


def upload(data: bytes, content_type: str = "image/png") -> MediaUpload:
    return MediaUpload.model_validate(
        {
            "key": "img",
            "step": 1,
            "content_type": content_type,
            "data": base64.b64encode(data).decode(),
        }
    )


async def test_media_over_the_limit_or_of_the_wrong_type_is_refused(service: RunService) -> None:
    await service.create_run("p", RunCreate())
    with pytest.raises(MediaTooLarge):
        await service.put_media("r1", upload(PNG + b"\x00" * 1000))
    with pytest.raises(InvalidRunData, match="not a image/jpeg"):
        await service.put_media("r1", upload(PNG, "image/jpeg"))
    with pytest.raises(InvalidRunData):
        await service.put_media("r1", upload(b"<html><script>alert(1)</script>"))
    assert await service.list_media("r1", MediaQuery()) == []
    stored = await service.put_media("r1", upload(PNG))
    assert (stored.key, stored.size) == ("img", len(PNG))


async def test_a_run_s_project_is_looked_up_once_and_remembered_within_a_bound(
    store: SQLiteRunStore, bus: RecordingBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request about a run checks access against its project: after the first, the
    store is not asked again (a run never changes project), and only so many are kept."""
    ids = iter(["r1", "r2", "r3"])
    limits = RunLimits(remembered_projects=2)
    service = RunService(store, bus, ManualClock(), limits=limits, new_id=lambda: next(ids))
    for project in ("p1", "p2", "p3"):
        await service.create_run(project, RunCreate())
    lookups: list[str] = []
    get_run = store.get_run

    async def counting(run_id: str) -> Run:
        lookups.append(run_id)
        return await get_run(run_id)

    monkeypatch.setattr(store, "get_run", counting)
    assert [await service.project_of(run_id) for run_id in ("r2", "r3", "r2")] == [
        "p2",
        "p3",
        "p2",
    ]
    assert lookups == []  # created here: known from the start
    assert await service.project_of("r1") == "p1"  # the oldest, forgotten
    assert await service.project_of("r1") == "p1"
    assert lookups == ["r1"]
    assert await service.project_of("r2") == "p2"  # kept: used more recently than r3
    assert await service.project_of("r3") == "p3"  # forgotten when r1 came back
    assert lookups == ["r1", "r3"]
    with pytest.raises(RunNotFound):
        await service.project_of("nope")
    with pytest.raises(RunNotFound):
        await service.project_of("nope")
    assert lookups == ["r1", "r3", "nope", "nope"]
