"""When automatic versions are due: bursts of edits seen through the store."""

from __future__ import annotations

from coreport.reports.versions import EditActivity, VersionPolicy, report_of
from tests.support.fakes import ManualClock, MemoryStore

POLICY = VersionPolicy(quiet_seconds=60, active_seconds=600)


def test_only_report_documents_count() -> None:
    assert report_of("reports/r1") == "r1"
    assert report_of("reports/r1/comments") is None
    assert report_of("runs/r1") is None


async def test_a_report_is_due_once_its_edits_pause_or_have_gone_on_long_enough() -> None:
    clock = ManualClock()
    activity = EditActivity(clock)
    store = activity.observe(MemoryStore())
    await store.append([("reports/a", b"\x00\x00"), ("reports/a/comments", b"\x00\x00")])
    assert activity.due(POLICY) == []
    clock.advance(59)
    await store.append([("reports/b", b"\x00\x00")])
    assert activity.due(POLICY) == []
    clock.advance(1)
    assert activity.due(POLICY) == ["a"]

    # b keeps being edited every 50 s: never quiet, due after 600 s of activity.
    for _ in range(11):
        clock.advance(50)
        await store.append([("reports/b", b"\x00\x00")])
        assert "b" not in activity.due(POLICY)
    clock.advance(50)
    await store.append([("reports/b", b"\x00\x00")])
    assert activity.due(POLICY) == ["a", "b"]


async def test_a_burst_given_back_stays_due_and_keeps_its_start() -> None:
    clock = ManualClock()
    activity = EditActivity(clock)
    activity.noted("reports/a")
    clock.advance(300)
    burst = activity.take("a")
    assert burst is not None
    assert activity.take("a") is None
    activity.noted("reports/a")  # edited while the version was being taken
    activity.give_back("a", burst)
    clock.advance(300)
    activity.noted("reports/a")
    assert activity.due(POLICY) == ["a"]  # 600 s since the burst began
