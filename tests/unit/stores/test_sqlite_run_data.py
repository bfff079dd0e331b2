"""How the SQLite run store reads a long series for a chart: which rows reach Python.

That it keeps the same points as ``min_max_indices`` is the contract's to check
(tests/contract/test_run_store.py, on both stores); here, that a long series is reduced
inside SQLite, evenly spaced or not, and that only the kept points are fetched.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coreport.runs.ports import CodeRef, HistoryRow, Run, StoredSeries, downsample
from coreport.stores import sqlite_run_data as data
from coreport.stores.sqlite_runs import SQLiteRunStore

_T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
async def database(tmp_path: Path) -> Path:
    """A file with run r1 whose metric ``dense`` is logged at every step, ``even`` every
    5th step and ``uneven`` at irregular steps, 20,000 points each."""
    path = tmp_path / "coreport.db"
    store = SQLiteRunStore(path)
    await store.open()
    try:
        code = CodeRef(None, None, None)
        await store.create_run(Run("r1", "p", "r1", "running", {}, {}, (), code, _T0, _T0))
        even = [HistoryRow(step, 1.0, {"even": float(step % 97)}) for step in range(0, 100_000, 5)]
        uneven = [
            HistoryRow(step * 2 + (step % 3 == 0), 1.0, {"uneven": 1.0}) for step in range(20_000)
        ]
        dense = [HistoryRow(step, 1.0, {"dense": float(step % 89)}) for step in range(20_000)]
        for rows in (dense, even, uneven):
            for start in range(0, len(rows), 2_000):
                await store.append_history("r1", rows[start : start + 2_000], _T0)
    finally:
        await store.close()
    return path


@pytest.fixture
def traced(database: Path) -> Iterator[tuple[sqlite3.Connection, list[str]]]:
    conn = sqlite3.connect(database, isolation_level=None)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        yield conn, statements
    finally:
        conn.close()


def _read(conn: sqlite3.Connection, key: str, max_points: int | None) -> StoredSeries:
    return data.read_history(conn, "r1", [key], 0, data.MAX_INT, max_points)[key]


def _full_reads(statements: Sequence[str]) -> list[str]:
    """The statements that read every point of a step range."""
    return [
        sql
        for sql in statements
        if sql.lstrip().startswith("SELECT step, value, ts") and "step BETWEEN" in sql
    ]


@pytest.mark.parametrize(("key", "lookups"), [("dense", 0), ("even", 501), ("uneven", 501)])
def test_a_long_series_is_reduced_inside_sqlite(
    traced: tuple[sqlite3.Connection, list[str]], key: str, lookups: int
) -> None:
    conn, statements = traced
    whole = _read(conn, key, None)
    assert whole.stored == 20_000
    assert len(_full_reads(statements)) == 1
    statements.clear()

    reduced = _read(conn, key, 1_000)
    assert reduced == StoredSeries(downsample(whole.points, 1_000), 20_000)
    assert _full_reads(statements) == []
    # One statement finds every bucket's extremes, one fetches the kept points; the
    # buckets' first steps are found one by one (a skip each: the 499 buckets' and both
    # ends'), unless the series has a point at every step, where they are known.
    assert sum("ORDER BY value DESC, step LIMIT 1" in sql for sql in statements) == 1
    assert sum("step IN (SELECT value FROM json_each" in sql for sql in statements) == 1
    assert sum("LIMIT 1 OFFSET" in sql for sql in statements) == lookups


def test_a_series_within_the_budget_is_read_whole(
    traced: tuple[sqlite3.Connection, list[str]],
) -> None:
    conn, statements = traced
    reduced = data.read_history(conn, "r1", ["even"], 0, 4_995, 1_000)["even"]
    assert reduced.stored == len(reduced.points.steps) == 1_000
    assert len(_full_reads(statements)) == 1
    assert not any("json_each" in sql for sql in statements)


@pytest.mark.parametrize("budget", [2, 3, 4, 5, 999])
def test_tiny_and_odd_budgets_and_step_ranges_keep_the_same_points(
    traced: tuple[sqlite3.Connection, list[str]], budget: int
) -> None:
    conn, _ = traced
    ranges = [("uneven", 7, 30_001), ("even", 3, 60_000), ("uneven", 0, 2), ("dense", 13, 17_000)]
    for key, low, high in ranges:
        whole = data.read_history(conn, "r1", [key], low, high, None)[key]
        reduced = data.read_history(conn, "r1", [key], low, high, budget)[key]
        assert reduced == StoredSeries(downsample(whole.points, budget), whole.stored)


def test_a_series_a_few_times_the_budget_is_read_whole_and_reduced_here(
    traced: tuple[sqlite3.Connection, list[str]],
) -> None:
    """Below ten points per point kept, a statement per bucket costs more than reading
    every point (tests/bench/charts.py)."""
    conn, statements = traced
    reduced = data.read_history(conn, "r1", ["even"], 0, 44_995, 1_000)["even"]
    assert len(_full_reads(statements)) == 1
    assert not any("json_each" in sql for sql in statements)
    whole = data.read_history(conn, "r1", ["even"], 0, 44_995, None)["even"]
    assert whole.stored == 9_000
    assert reduced == StoredSeries(downsample(whole.points, 1_000), 9_000)
