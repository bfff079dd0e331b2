"""The figures of the mixed-load soak (tests/reliability/mixed.py): what each interval
measured, the line printed for it, the summary at the end and the verdict against bounds."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.support.cluster import ProcessFigures


@dataclass(frozen=True)
class Bounds:
    """What the verdict allows."""

    #: RSS growth of an instance from the middle sample to the last one.
    second_half_rss_mib: float
    #: Descriptors other than WebSockets: second-half maximum over first-half maximum.
    fd_slack: int
    #: Latency p99 over the last third of the intervals may be at most
    #: ``p99_factor`` x the p99 over the first third + ``p99_slack_ms``.
    p99_factor: float
    p99_slack_ms: float


#: The 10-minute soak's bounds. RSS: the servers run with glibc's mmap threshold fixed (see
#: ``ALLOCATOR_ENV`` in mixed.py) and grew 1-2 MiB in the second half; a leak of one room
#: per report would add well over 100 MiB. Latency: the machine is shared, and other work
#: starting mid-run has raised the p99 four-fold while nothing changed in coreport.
STRICT = Bounds(second_half_rss_mib=8, fd_slack=4, p99_factor=3.0, p99_slack_ms=100)
#: The short CI form's: a shared 2-core runner, and a run too short to be warm.
LOOSE = Bounds(second_half_rss_mib=16, fd_slack=12, p99_factor=5.0, p99_slack_ms=250)


@dataclass(frozen=True)
class InstanceFigures:
    process: ProcessFigures
    sockets: int
    rooms: int
    cpu_percent: float

    @property
    def other_fds(self) -> int:
        """Open descriptors besides WebSockets (one each)."""
        return self.process.fds - self.sockets


@dataclass
class Samples:
    """What the workloads measured during one interval (seconds)."""

    latency: list[float] = field(default_factory=list)
    joins: list[float] = field(default_factory=list)
    rest: list[float] = field(default_factory=list)
    lag: list[float] = field(default_factory=list)
    seeds: int = 0
    seed_failures: int = 0


@dataclass(frozen=True)
class Window:
    end: float
    instances: list[InstanceFigures]
    samples: Samples
    driver_cpu_percent: float


class CpuMeter:
    """CPU use as a percentage of one core between two readings of the same clock."""

    def __init__(self) -> None:
        self._last: dict[object, tuple[float, float]] = {}

    def percent(self, key: object, cpu_seconds: float) -> float:
        now = time.monotonic()
        then, before = self._last.get(key, (now, cpu_seconds))
        self._last[key] = (now, cpu_seconds)
        return 100 * (cpu_seconds - before) / max(1e-9, now - then)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


HEADER = (
    "  time |"
    + "".join(f" i{i}: RSS MiB  fds sock rooms cpu% |" for i in range(2))
    + " latency ms p50   p99   max  pings | joins p99 ms | REST p99 ms | seeds fail |"
    + " driver: cpu% lag p99"
)


def line(window: Window) -> str:
    s = window.samples
    cells = [f"{window.end:5.0f}s |"]
    for f in window.instances:
        cells.append(
            f"    {f.process.rss_kib / 1024:7.1f} {f.process.fds:4d} {f.sockets:4d} "
            f"{f.rooms:5d} {f.cpu_percent:4.0f} |"
        )
    cells.append(
        f"      {ms(percentile(s.latency, 0.5)):>6} {ms(percentile(s.latency, 0.99)):>5} "
        f"{ms(max(s.latency, default=math.nan)):>5} {len(s.latency):6d} |"
    )
    cells.append(f" {len(s.joins):5d} {ms(percentile(s.joins, 0.99)):>6} |")
    cells.append(f" {len(s.rest):4d} {ms(percentile(s.rest, 0.99)):>6} |")
    cells.append(f" {s.seeds:5d} {s.seed_failures:4d} |")
    cells.append(f"         {window.driver_cpu_percent:4.0f} {ms(percentile(s.lag, 0.99)):>7}")
    return "".join(cells)


def verdict(windows: Sequence[Window], bounds: Bounds) -> list[str]:
    """What broke the bounds (empty: the run passed)."""
    problems = []
    middle = windows[(len(windows) - 1) // 2]
    for i in range(len(windows[0].instances)):
        grew = (
            windows[-1].instances[i].process.rss_kib - middle.instances[i].process.rss_kib
        ) / 1024
        if grew > bounds.second_half_rss_mib:
            problems.append(
                f"instance {i}: RSS grew {grew:.1f} MiB in the second half "
                f"(bound {bounds.second_half_rss_mib} MiB)"
            )
        half = len(windows) // 2
        first = max(w.instances[i].other_fds for w in windows[: max(1, half)])
        second = max(w.instances[i].other_fds for w in windows[half:])
        if second > first + bounds.fd_slack:
            problems.append(
                f"instance {i}: non-socket fds rose from {first} (first half) to {second} "
                f"(bound +{bounds.fd_slack})"
            )
    third = max(1, len(windows) // 3)
    early = percentile([x for w in windows[:third] for x in w.samples.latency], 0.99)
    late = percentile([x for w in windows[-third:] for x in w.samples.latency], 0.99)
    allowed = bounds.p99_factor * early + bounds.p99_slack_ms / 1000
    if math.isnan(early) or math.isnan(late):
        problems.append("no latency was measured")
    elif late > allowed:
        # The load generator's own loop lag tells a busy machine from a slower server.
        lag_early = percentile([x for w in windows[:third] for x in w.samples.lag], 0.99)
        lag_late = percentile([x for w in windows[-third:] for x in w.samples.lag], 0.99)
        problems.append(
            f"latency p99 of the last third {ms(late)} ms > {bounds.p99_factor} x first "
            f"third {ms(early)} ms + {bounds.p99_slack_ms} ms (this process's loop lag p99 "
            f"{ms(lag_early)} ms, then {ms(lag_late)} ms)"
        )
    return problems


def summary(windows: Sequence[Window]) -> list[str]:
    """Totals over the run, for the end of the report."""
    every = Samples()
    for w in windows:
        every.latency += w.samples.latency
        every.joins += w.samples.joins
        every.rest += w.samples.rest
        every.lag += w.samples.lag
        every.seeds += w.samples.seeds
        every.seed_failures += w.samples.seed_failures
    third = max(1, len(windows) // 3)
    early = [x for w in windows[:third] for x in w.samples.latency]
    late = [x for w in windows[-third:] for x in w.samples.latency]
    lines = [
        f"latency (write on one instance, seen on the other): {len(every.latency)} samples, "
        f"p50 {ms(percentile(every.latency, 0.5))} ms, p99 {ms(percentile(every.latency, 0.99))}"
        f" ms, max {ms(max(every.latency, default=math.nan))} ms; p99 first third "
        f"{ms(percentile(early, 0.99))} ms, last third {ms(percentile(late, 0.99))} ms",
        f"joins (connect + sync of report and comments): {len(every.joins)}, "
        f"p50 {ms(percentile(every.joins, 0.5))} ms, p99 {ms(percentile(every.joins, 0.99))} ms",
        f"REST calls: {len(every.rest)}, p50 {ms(percentile(every.rest, 0.5))} ms, "
        f"p99 {ms(percentile(every.rest, 0.99))} ms",
        f"convergence seeds: {every.seeds}, failed {every.seed_failures}",
        f"this process's event loop lag: p99 {ms(percentile(every.lag, 0.99))} ms, "
        f"max {ms(max(every.lag, default=math.nan))} ms",
    ]
    middle = windows[(len(windows) - 1) // 2]
    for i in range(len(windows[0].instances)):
        start, mid, end = (w.instances[i] for w in (windows[0], middle, windows[-1]))
        rss = " -> ".join(f"{f.process.rss_kib / 1024:.1f}" for f in (start, mid, end))
        lines.append(
            f"instance {i}: RSS {rss} MiB (first, middle, last interval); "
            f"non-socket fds {start.other_fds} -> {mid.other_fds} -> {end.other_fds}"
        )
    return lines
