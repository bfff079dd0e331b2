"""What the benches of the SQLite documents' store share (``checkpoints.py``, ``reads.py``,
and ``durable.py`` for the order of its runs): two ways run alternately, each on a fresh
copy of one filled file; appends made one at a time at a steady pace and timed from when
each was due; a table of the medians side by side with their ratio and each run's
figures."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

R = TypeVar("R", bound="HasMode")


class HasMode(Protocol):
    @property
    def mode(self) -> str: ...


class Appends(Protocol):
    async def append(self, batch: Sequence[tuple[str, bytes]]) -> list[int]: ...


def quantiles(samples: list[float], points: Sequence[float]) -> list[float]:
    ordered = sorted(samples)
    return [ordered[min(len(ordered) - 1, int(p * len(ordered)))] for p in points]


def append_ms(appends: list[float]) -> dict[str, float]:
    """p50, p99, p99.9 and the worst of ``appends`` (seconds), in milliseconds."""
    p50, p99, p999, top = quantiles(appends, (0.5, 0.99, 0.999, 1.0))
    return {"p50": p50 * 1e3, "p99": p99 * 1e3, "p99.9": p999 * 1e3, "max": top * 1e3}


async def append_at_pace(
    store: Appends, names: Sequence[str], rate: float, seconds: float, rng: random.Random
) -> list[float]:
    """Append one small update at a time to a random one of ``names``, ``rate`` a second
    for ``seconds``; how long each took from when it was due to when it was durable."""
    appends: list[float] = []
    gap = 1.0 / rate
    start = next_at = time.perf_counter()
    while next_at - start < seconds:
        # From when the update was due (it would have been waiting in a socket while the
        # loop was held), not from when the loop got round to it.
        await store.append([(rng.choice(names), os.urandom(60))])
        appends.append(time.perf_counter() - next_at)
        next_at += gap
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    return appends


def alternating(modes: Sequence[str], repeat: int) -> Iterator[tuple[int, str]]:
    """``(round, mode)`` for ``repeat`` rounds of every mode, the order reversed every
    other round, so that no way always runs first (or last) on a machine that drifts."""
    for i in range(repeat):
        for mode in modes if i % 2 == 0 else modes[::-1]:
            yield i, mode


async def on_copies(
    filled: Path,
    folder: Path,
    modes: Sequence[str],
    repeat: int,
    run: Callable[[Path, str], Awaitable[R]],
) -> list[R]:
    """``run`` each of ``modes`` ``repeat`` times, alternating (the order reversed every
    other round), each on a fresh copy of ``filled``, synced first (else the first
    checkpoint's sync would write the whole copy out)."""
    results = []
    for i, mode in alternating(modes, repeat):
        copy = folder / f"run{i}-{mode.replace(' ', '-')}" / "coreport.db"
        copy.parent.mkdir()
        shutil.copyfile(filled, copy)
        _sync(copy)
        results.append(await run(copy, mode))
        shutil.rmtree(copy.parent)
    return results


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def figure(run: Any, pick: str) -> float:
    """``"append p99"``: ``run.append_ms["p99"]``; ``"stalls"``: ``run.stalls``."""
    kind, _, point = pick.partition(" ")
    if point:
        return float(getattr(run, f"{kind}_ms")[point])
    return float(getattr(run, kind))


def median_rows(
    results: Sequence[R], mine: str, reference: str, rows: Sequence[tuple[str, str]]
) -> list[str]:
    """One Markdown row per ``(label, pick)``: the medians of the ``mine`` and
    ``reference`` runs and their ratio."""
    lines = []
    for label, pick in rows:
        ours = statistics.median(figure(r, pick) for r in results if r.mode == mine)
        theirs = statistics.median(figure(r, pick) for r in results if r.mode == reference)
        ratio = f"{ours / theirs:.2f}x" if theirs else "-"
        lines.append(f"| {label} | {ours:,.2f} | {theirs:,.2f} | {ratio} |")
    return lines


def side_by_side(
    results: Sequence[R],
    modes: tuple[str, str],
    title: str,
    columns: tuple[str, str],
    rows: Sequence[tuple[str, str]],
    per_run: tuple[str, Sequence[str]],
) -> str:
    """The table of two ways, ``modes`` (``mine``, then the reference): ``title``, a row
    of medians per ``(label, pick)`` of ``rows`` under the ``columns`` headings, then, for
    ``per_run``'s ``(label, picks)``, each run's figures, mine / the reference's."""
    mine, reference = modes
    runs = {mode: [r for r in results if r.mode == mode] for mode in modes}
    lines = [
        f"{title} (medians of {len(runs[mine])} runs each, alternating)",
        "",
        f"| figure | {columns[0]} | {columns[1]} | {mine}/reference |",
        "|---|---|---|---|",
    ]
    lines.extend(median_rows(results, mine, reference, rows))
    label, picks = per_run
    lines.append("")
    lines.append(f"per run ({mine} / {reference}): {label} (ms):")
    for ours, theirs in zip(runs[mine], runs[reference], strict=True):
        pairs = (f"{figure(ours, pick):.2f} / {figure(theirs, pick):.2f}" for pick in picks)
        lines.append("  " + ", ".join(pairs))
    return "\n".join(lines)
