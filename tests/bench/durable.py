"""What making one append durable costs, by the way it is made durable.

    .venv/bin/python -m tests.bench.durable                      # 775 commits/s, 4 s, 3 runs
    .venv/bin/python -m tests.bench.durable --rate 100 --seconds 10

S3 commits about 775 times a second, one or two small updates each, and each commit waits
for the disk: on a virtual machine that wait is not free, every request to the disk is a
write to the virtual device's doorbell and an interrupt back. This bench asks whether
another way of making an append durable would cost less CPU than the store's (a SQLite
commit in WAL mode with ``synchronous = FULL``, which syncs the log at every commit), for
example a log of our own beside SQLite, with SQLite itself no longer syncing at each commit.

Each way commits one small append at a time at ``--rate`` a second for ``--seconds``, on
this thread alone, in a file under ``--dir`` (the disk the store would use: not a tmpfs).
It counts this thread's CPU (user and system, ``RUSAGE_THREAD``) and times each commit.
The ways, alternating, ``--repeat`` times each (medians):

* ``SQLite FULL (the store)``: the documents' store's own append (``_append``: BEGIN
  IMMEDIATE, the next number, the insert, COMMIT), on a connection opened as the store
  opens it, on a migrated file;
* ``SQLite NORMAL``: the same statements with ``synchronous = NORMAL``, so no commit syncs
  (what SQLite's statements cost on their own; a crash of the machine may lose commits);
* ``log O_DIRECT|O_DSYNC``: a 4 KiB record written straight to a preallocated log file,
  durable when the write returns (what a database's own log does);
* ``log O_DSYNC``: the record written through the page cache, durable when it returns;
* ``log pwrite+fdatasync``: the record written in place into a preallocated file, then
  ``fdatasync``;
* ``log append+fdatasync``: the record appended to a growing file, then ``fdatasync``;
* ``pacing only``: nothing but the sleeps between commits, taken off every other way's
  CPU (the "net" figures).

It prints one table and, from the net figures, what a log beside SQLite would cost a commit
(``SQLite NORMAL`` + the cheapest log) against the store's way. The figures are for
reading, not for passing: no target is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import mmap
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from coreport.stores.sqlite import _append, _connect, migrate
from tests.bench.store_runs import alternating, quantiles

STORE = "SQLite FULL (the store)"
NORMAL = "SQLite NORMAL"
PACING = "pacing only"
LOGS = ("log O_DIRECT|O_DSYNC", "log O_DSYNC", "log pwrite+fdatasync", "log append+fdatasync")
WAYS = (STORE, NORMAL, *LOGS, PACING)

_RECORD = 4096  # one page: O_DIRECT writes whole, aligned blocks
_LOG_BYTES = 16 << 20  # preallocated logs wrap around within this
_DOCS = 200  # S3's documents


@dataclass(frozen=True)
class RunFigures:
    way: str
    commits: int
    cpu_us: float  # this thread's CPU per commit, pacing included
    system_us: float  # of it, in the kernel
    wall_us: dict[str, float]  # p50, p99 of one commit


class Unsupported(Exception):
    """The file system refuses the way (a tmpfs refuses O_DIRECT)."""


def _thread_cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime, usage.ru_stime


def _paced(commit: Callable[[int], object], rate: float, seconds: float) -> RunFigures:
    gap = 1.0 / rate
    count = max(1, round(rate * seconds))
    walls: list[float] = []
    cpu0, sys0 = _thread_cpu()
    next_at = time.perf_counter()
    for i in range(count):
        started = time.perf_counter()
        commit(i)
        walls.append(time.perf_counter() - started)
        next_at += gap
        # The pace itself, not a wait for anything: commits due every ``gap`` seconds,
        # as a server's come, with the disk and the CPU idle in between.
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    cpu1, sys1 = _thread_cpu()
    p50, p99 = quantiles(walls, (0.5, 0.99))
    return RunFigures(
        "",
        count,
        (cpu1 - cpu0) / count * 1e6,
        (sys1 - sys0) / count * 1e6,
        {"p50": p50 * 1e6, "p99": p99 * 1e6},
    )


@contextlib.contextmanager
def _sqlite(filled: Path, synchronous: str) -> Iterator[Callable[[int], object]]:
    conn = _connect(filled, busy_timeout=5.0)
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    rng = random.Random(7)
    names = [f"reports/bench-{i:04d}" for i in range(_DOCS)]
    try:
        yield lambda _: _append(conn, [(rng.choice(names), os.urandom(60))])
    finally:
        conn.close()


def _preallocated(path: Path) -> None:
    """A log file written through once and synced, so that later writes into it allocate
    nothing and change no size: only their data needs syncing."""
    block = b"\0" * (1 << 20)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(_LOG_BYTES // len(block)):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _log(path: Path, way: str) -> Iterator[Callable[[int], object]]:
    record = os.urandom(60)
    slots = _LOG_BYTES // _RECORD
    if way == "log append+fdatasync":
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)

        def commit(i: int) -> None:
            os.write(fd, record)
            os.fdatasync(fd)

    else:
        _preallocated(path)
        if way == "log O_DIRECT|O_DSYNC":
            try:
                fd = os.open(path, os.O_WRONLY | os.O_DIRECT | os.O_DSYNC)
            except OSError as exc:
                raise Unsupported(f"{way}: {exc}") from exc
            # O_DIRECT wants an aligned buffer: an anonymous mapping is page-aligned.
            page = mmap.mmap(-1, _RECORD)
            page[: len(record)] = record

            def commit(i: int) -> None:
                os.pwritev(fd, [page], (i % slots) * _RECORD)

        elif way == "log O_DSYNC":
            fd = os.open(path, os.O_WRONLY | os.O_DSYNC)

            def commit(i: int) -> None:
                os.pwrite(fd, record, (i % slots) * _RECORD)

        else:
            fd = os.open(path, os.O_WRONLY)

            def commit(i: int) -> None:
                os.pwrite(fd, record, (i % slots) * _RECORD)
                os.fdatasync(fd)

    try:
        try:
            commit(0)  # the first write shows whether the file system takes it at all
        except OSError as exc:
            raise Unsupported(f"{way}: {exc}") from exc
        yield commit
    finally:
        os.close(fd)


def _one_run(way: str, folder: Path, filled: Path, rate: float, seconds: float) -> RunFigures:
    if way == PACING:
        figures = _paced(lambda _: None, rate, seconds)
    elif way in (STORE, NORMAL):
        with _sqlite(filled, "FULL" if way == STORE else "NORMAL") as commit:
            figures = _paced(commit, rate, seconds)
    else:
        with _log(folder / "bench.log", way) as commit:
            figures = _paced(commit, rate, seconds)
        (folder / "bench.log").unlink()
    return replace(figures, way=way)


def measure(
    rate: float, seconds: float, repeat: int, folder: Path, ways: Sequence[str] = WAYS
) -> tuple[list[RunFigures], dict[str, str]]:
    """Every way ``repeat`` times, alternating (the order reversed every other round); and
    the ways the file system refused, with why."""
    filled = folder / "coreport.db"
    asyncio.run(migrate(filled))
    results: list[RunFigures] = []
    refused: dict[str, str] = {}
    for _, way in alternating(ways, repeat):
        if way in refused:
            continue
        try:
            results.append(_one_run(way, folder, filled, rate, seconds))
        except Unsupported as exc:
            refused[way] = str(exc)
    return results, refused


def _median(results: list[RunFigures], way: str, pick: Callable[[RunFigures], float]) -> float:
    return statistics.median(pick(r) for r in results if r.way == way)


def table(results: list[RunFigures], refused: dict[str, str], rate: float) -> str:
    ways = [w for w in WAYS if any(r.way == w for r in results)]
    runs = sum(1 for r in results if r.way == ways[0])
    pacing = _median(results, PACING, lambda r: r.cpu_us) if PACING in ways else 0.0

    def net(way: str) -> float:
        return _median(results, way, lambda r: r.cpu_us) - pacing

    store = net(STORE) if STORE in ways else 0.0
    lines = [
        f"Durable appends: one small append per commit at {rate:,.0f} commits/s, this thread's"
        f" CPU (medians of {runs} runs each, alternating; net: less the pacing's)",
        "",
        "| way | CPU per commit (us) | of it in the kernel (us) | net of the pacing (us) |"
        " one commit p50 (us) | p99 (us) | net / the store's |",
        "|---|---|---|---|---|---|---|",
    ]
    for way in ways:
        ratio = f"{net(way) / store:.2f}x" if store > 0 and way != PACING else "-"
        lines.append(
            f"| {way} | {_median(results, way, lambda r: r.cpu_us):,.1f}"
            f" | {_median(results, way, lambda r: r.system_us):,.1f}"
            f" | {net(way) if way != PACING else 0.0:,.1f}"
            f" | {_median(results, way, lambda r: r.wall_us['p50']):,.0f}"
            f" | {_median(results, way, lambda r: r.wall_us['p99']):,.0f} | {ratio} |"
        )
    logs = [w for w in LOGS if w in ways]
    if STORE in ways and NORMAL in ways and logs:
        cheapest = min(logs, key=net)
        beside = net(NORMAL) + net(cheapest)
        lines += [
            "",
            f"A log beside SQLite ({NORMAL} + {cheapest}): {beside:,.1f} us per commit against"
            f" the store's {store:,.1f} ({beside / store:.2f}x); the sync in the store's commit"
            f" ({STORE} - {NORMAL}): {store - net(NORMAL):,.1f} us.",
        ]
    for why in refused.values():
        lines.append(f"Not run: {why}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=775, help="default %(default)s")
    parser.add_argument("--seconds", type=float, default=4, help="default %(default)s")
    parser.add_argument("--repeat", type=int, default=3, help="default %(default)s")
    parser.add_argument("--dir", type=Path, default=None, help="where to make the files")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        results, refused = measure(args.rate, args.seconds, args.repeat, Path(folder))
        where = file_system(Path(folder))
    print(table(results, refused, args.rate))
    print(f"Files under {Path(folder).parent}: {where}.")
    return 0


def file_system(path: Path, mounts: str | None = None) -> str:
    """The file system ``path`` is on, as ``mounts`` (by default ``/proc/mounts``) names
    it (the longest mount point that holds it), and a warning for one in memory, whose
    syncs write nothing."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:
            return "file system unknown (no /proc/mounts)"
    resolved = path.resolve()
    best = ("", "unknown", "unknown")
    for line in mounts.splitlines():
        device, point, kind = line.split()[:3]
        if resolved.is_relative_to(point) and len(point) >= len(best[0]):
            best = (point, device, kind)
    point, device, kind = best
    text = f"{kind} ({device} on {point})"
    if kind in ("tmpfs", "ramfs"):
        text += ", in memory: its syncs write nothing, so these figures say nothing of a disk"
    return text


if __name__ == "__main__":
    raise SystemExit(main())
