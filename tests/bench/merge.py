"""Compaction's merge: a snapshot and the rows that followed it, in one call of Yrs's merge
and in groups (``coreport.protocol.merge``), side by side.

    .venv/bin/python -m tests.bench.merge                       # 500, 2,000 and 10,000 rows
    .venv/bin/python -m tests.bench.merge --rows 2000 --edits 60000

Five writers type into one shared text the way S2's do (runs of 20 insertions at a random
place, each writer seeing the others' updates), ``--edits`` in all; for each row count
the snapshot is every edit before the last ``rows``, merged once beforehand. Both ways
are timed ``--repeat`` times in alternation (medians, wall time of this process) and must
give the same bytes. The figures are for reading, not for passing: no target is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pycrdt

from coreport.protocol.merge import merge_updates
from tests.contract.ydocs import writers_edits

_WRITERS = 5


@dataclass(frozen=True, slots=True)
class Timing:
    rows: int
    snapshot_bytes: int
    one_call_ms: float
    grouped_ms: float


def measure(edits: int, row_counts: Sequence[int], repeat: int) -> list[Timing]:
    updates = writers_edits(edits, writers=_WRITERS)
    timings = []
    for rows in row_counts:
        snapshot = pycrdt.merge_updates(*updates[:-rows])
        parts = [snapshot, *updates[-rows:]]
        one_call: list[float] = []
        grouped: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            expected = pycrdt.merge_updates(*parts)
            one_call.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = merge_updates(parts)
            grouped.append(time.perf_counter() - started)
            if result != expected:
                raise AssertionError(f"the grouped merge of {rows} rows differs from one merge")
        timings.append(
            Timing(
                rows,
                len(snapshot),
                statistics.median(one_call) * 1000,
                statistics.median(grouped) * 1000,
            )
        )
    return timings


def table(timings: Sequence[Timing], edits: int, repeat: int) -> str:
    lines = [
        f"Compaction's merge: {edits:,} edits of {_WRITERS} writers, a snapshot of all but "
        f"the last rows, then those rows (medians of {repeat}; ms wall)",
        "",
        "| rows | snapshot (KiB) | one merge (reference) | in groups | groups / reference |",
        "|---|---|---|---|---|",
    ]
    for t in timings:
        lines.append(
            f"| {t.rows:,} | {t.snapshot_bytes / 1024:,.0f} | {t.one_call_ms:.1f} | "
            f"{t.grouped_ms:.1f} | {t.grouped_ms / t.one_call_ms:.2f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=40_000, help="default 40000")
    parser.add_argument(
        "--rows",
        default="500,2000,10000",
        help="row counts, comma-separated (default 500,2000,10000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="default 3")
    args = parser.parse_args()
    row_counts = [int(n) for n in args.rows.split(",")]
    if max(row_counts) >= args.edits:
        parser.error("--edits must exceed every row count (the snapshot holds the rest)")
    print(table(measure(args.edits, row_counts, args.repeat), args.edits, args.repeat))


if __name__ == "__main__":
    main()
