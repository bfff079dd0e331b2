"""What the runs domain needs from storage: the :class:`RunStore` Protocol and its values.

Plain data and a Protocol, like :mod:`coreport.ports` (where this may move), and one rule
of the Protocol's: which points of a series a read with a budget keeps (the end of this
module). Stores implement it without importing anything else from the domain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

RunState = Literal["running", "finished", "failed", "crashed"]
RUN_STATES: tuple[RunState, ...] = ("running", "finished", "failed", "crashed")

#: A scalar a filter compares with: what a JSON config or summary value can be.
Scalar = str | int | float | bool | None

FilterOp = Literal["==", "!=", "<", "<=", ">", ">="]
#: Operators that order numbers; they never match a non-numeric value.
ORDER_OPS: frozenset[str] = frozenset({"<", "<=", ">", ">="})


class RunsError(Exception):
    """Base of the errors the run store raises about the data (not about storage)."""


class RunNotFound(RunsError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run {run_id!r}")
        self.run_id = run_id


class RunExists(RunsError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"a run with id {run_id!r} already exists")
        self.run_id = run_id


class MediaNotFound(RunsError):
    def __init__(self, run_id: str, media_id: str) -> None:
        super().__init__(f"run {run_id!r} has no media {media_id!r}")
        self.media_id = media_id


@dataclass(frozen=True, slots=True)
class CodeRef:
    """Where the code of a run came from."""

    git_commit: str | None = None
    repository: str | None = None
    diff_summary: str | None = None


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    created_at: datetime
    run_count: int
    #: When any of its runs last changed (or the project's creation time).
    last_activity: datetime


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    project: str
    name: str
    state: RunState
    config: Mapping[str, Any]
    summary: Mapping[str, Any]
    tags: tuple[str, ...]
    code: CodeRef
    created_at: datetime
    updated_at: datetime


#: A read-modify-write of one run, applied by :meth:`RunStore.update_run` under the run's
#: lock. It must be pure (the SQLite store runs it on its worker thread); it may raise, and
#: then nothing is written.
RunChange = Callable[[Run], Run]


@dataclass(frozen=True, slots=True)
class JsonField:
    """A value inside a run's ``config`` or ``summary``: ``summary.train/loss`` is
    ``JsonField("summary", ("train/loss",))``."""

    root: Literal["config", "summary"]
    keys: tuple[str, ...]

    def __str__(self) -> str:
        return ".".join((self.root, *self.keys))


@dataclass(frozen=True, slots=True)
class ValueFilter:
    """``field op value``. ``==`` compares JSON values of the same type (a number with a
    number, a string with a string); ``!=`` also matches runs without the field; the
    ordering operators only match numbers."""

    field: JsonField
    op: FilterOp
    value: Scalar


@dataclass(frozen=True, slots=True)
class SortKey:
    """``created``, ``updated``, ``name`` or a config/summary value.

    Values sort numbers first (numerically), then strings, then runs without the value,
    whatever the direction. Ties are broken by creation time, then id.
    """

    field: Literal["created", "updated", "name"] | JsonField = "created"
    descending: bool = True


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Which runs of a project to list. Every condition must hold."""

    filters: tuple[ValueFilter, ...] = ()
    #: Any of these states; empty means any state.
    states: tuple[RunState, ...] = ()
    #: Every one of these tags.
    tags: tuple[str, ...] = ()
    #: Only these runs (a run set's explicit ids); ``None`` means no restriction.
    run_ids: tuple[str, ...] | None = None
    sort: SortKey = field(default_factory=SortKey)
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class RunPage:
    runs: list[Run]
    #: How many runs match the query, across all pages.
    total: int


@dataclass(frozen=True, slots=True)
class HistoryRow:
    step: int
    #: Seconds since the Unix epoch.
    timestamp: float
    #: Finite floats only; the schemas reject anything else before it gets here.
    metrics: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Series:
    """One metric of one run, in ascending step order."""

    steps: list[int]
    values: list[float]
    timestamps: list[float]

    @classmethod
    def of_rows(cls, rows: Sequence[Sequence[Any]]) -> Series:
        """From ``(step, value, timestamp)`` rows, as a store reads them."""
        return cls([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


@dataclass(frozen=True, slots=True)
class StoredSeries:
    """What a store read of one metric: its ``points`` in the step range (all of them, or
    as many as a budget allows), and how many it has stored in that range."""

    points: Series
    stored: int


@dataclass(frozen=True, slots=True)
class LogLine:
    text: str
    stream: Literal["stdout", "stderr"]
    timestamp: float


@dataclass(frozen=True, slots=True)
class StoredLogLine:
    #: The line's number in the run's console output, from 0.
    line: int
    text: str
    stream: Literal["stdout", "stderr"]
    timestamp: float


@dataclass(frozen=True, slots=True)
class NewMedia:
    key: str
    step: int
    #: Position among the images logged for ``key`` at ``step``.
    index: int
    content_type: str
    caption: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class MediaInfo:
    id: str
    run_id: str
    key: str
    step: int
    index: int
    content_type: str
    caption: str | None
    size: int
    created_at: datetime


class RunStore(Protocol):
    """Durable projects, runs, metric history, console logs and media.

    Storage failures raise :class:`coreport.ports.StoreError`; a call that raises wrote
    nothing. Methods taking a ``run_id`` raise :class:`RunNotFound` for an unknown run.
    """

    async def open(self) -> None:
        """Connect and apply pending migrations."""

    async def close(self) -> None:
        """Release connections; calls in progress finish first."""

    async def ping(self) -> None:
        """Raise :class:`~coreport.ports.StoreError` unless the store answers now."""

    async def create_run(self, run: Run) -> None:
        """Store a new run, creating its project on first use.

        Raises :class:`RunExists` when the id is taken (in any project).
        """

    async def get_run(self, run_id: str) -> Run: ...

    async def update_run(self, run_id: str, change: RunChange, now: datetime) -> Run:
        """Apply ``change`` to the stored run atomically; store and return its result with
        ``updated_at = now``. Concurrent updates of one run are serialized."""

    async def list_runs(self, project: str, query: RunQuery) -> RunPage:
        """The runs of ``project`` that match ``query``, sorted and paged (an unknown project
        has no runs)."""

    async def list_projects(self) -> list[Project]:
        """Every project, by name."""

    async def append_history(self, run_id: str, rows: Sequence[HistoryRow], now: datetime) -> None:
        """Store ``rows`` in one transaction and set the run's ``updated_at`` to ``now``.

        Idempotent per (run, step, metric): a metric logged again at a step it already has
        replaces the stored value (and timestamp); the step's other metrics stay. So a
        retried batch changes nothing, and metrics of one step may arrive in several
        batches. Within ``rows``, a later row wins.
        """

    async def history_keys(self, run_id: str) -> list[str]:
        """The metric names the run has history for, sorted."""

    async def read_history(
        self,
        run_id: str,
        keys: Sequence[str],
        start_step: int | None = None,
        end_step: int | None = None,
        max_points: int | None = None,
    ) -> dict[str, StoredSeries]:
        """The points of ``keys`` with ``start_step <= step <= end_step`` (bounds
        optional), every one, or with ``max_points`` the ones
        :func:`min_max_indices` keeps: a long run's chart needs a
        thousand of its million points, and the store picks them without handing the rest
        over. A key without points maps to an empty series."""

    async def append_logs(
        self, run_id: str, lines: Sequence[LogLine], first_line: int | None
    ) -> int:
        """Store console lines numbered from ``first_line`` (replacing lines already stored
        with those numbers, so a retried batch does not duplicate), or after the last stored
        line when ``first_line`` is ``None``. Returns the first line's number."""

    async def read_logs(
        self, run_id: str, start: int, limit: int
    ) -> tuple[list[StoredLogLine], int]:
        """Up to ``limit`` lines numbered ``>= start``, in order, and the number of lines
        the run has (its last line's number plus one)."""

    async def put_media(self, run_id: str, media: NewMedia, now: datetime) -> MediaInfo:
        """Store an image for (key, step, index), replacing one already there (a retried
        upload keeps the media's id)."""

    async def list_media(
        self, run_id: str, key: str | None, step: int | None, limit: int, offset: int
    ) -> list[MediaInfo]:
        """The run's media, by key, step and index; ``key``/``step`` narrow it down."""

    async def get_media(self, run_id: str, media_id: str) -> tuple[MediaInfo, bytes]:
        """One media item and its bytes; :class:`MediaNotFound` when the run has no such
        item."""


# -- Which points a read with a budget keeps ----------------------------------------------
#
# A chart a few hundred pixels wide cannot show a million points, but averaging them away
# would hide exactly what people look for (a loss spike, a divergence). So the points
# between the first and the last are cut into equal-count buckets, and each bucket keeps
# its lowest and its highest point, in step order. The first and last points, and the
# series' global minimum and maximum, always survive.
#
# min_max_indices is the rule in pure Python, on plain sequences: no I/O, easy to
# property-test. The run stores apply it where the points are (buckets() says where each
# bucket starts and ends), so that a chart of a long run does not carry every point into
# Python; the contract tests hold them to min_max_indices.


@dataclass(frozen=True, slots=True)
class Buckets:
    """Where the min and max are taken when ``count`` points exceed a budget: the
    half-open index ranges, in order, and whether the first and last points are kept
    besides (they are, unless the budget is below 4)."""

    ranges: list[tuple[int, int]]
    keeps_ends: bool


def buckets(count: int, max_points: int) -> Buckets | None:
    """The buckets that fit ``count`` points into ``max_points``, or ``None`` when every
    point fits. The points between the first and the last are split into
    ``(max_points - 2) // 2`` ranges of near-equal size; budgets below 4 have one range,
    all of the points. A store that reduces a series itself follows these ranges."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, not {max_points}")
    if count <= max_points:
        return None
    inner_buckets = (max_points - 2) // 2
    if inner_buckets == 0:
        return Buckets([(0, count)], keeps_ends=False)
    inner = count - 2
    # count > max_points >= 2 * inner_buckets + 2, so no range is empty.
    return Buckets(
        [
            (1 + bucket * inner // inner_buckets, 1 + (bucket + 1) * inner // inner_buckets)
            for bucket in range(inner_buckets)
        ],
        keeps_ends=True,
    )


def min_max_indices(values: Sequence[float], max_points: int) -> list[int]:
    """Ascending indices of the points of ``values`` to keep, at most ``max_points``:
    every index when they fit, otherwise the index of the minimum and of the maximum of
    each of the :func:`buckets` (once when they coincide, the first of equal values),
    and the first and last index when the buckets keep the ends."""
    layout = buckets(len(values), max_points)
    if layout is None:
        return list(range(len(values)))
    values = list(values)
    kept = [0] if layout.keeps_ends else []
    for start, stop in layout.ranges:
        kept.extend(sorted({_argmin(values, start, stop), _argmax(values, start, stop)}))
    if layout.keeps_ends:
        kept.append(len(values) - 1)
    return kept


def downsample(series: Series, max_points: int) -> Series:
    """``series`` reduced to at most ``max_points`` points by :func:`min_max_indices`."""
    keep = min_max_indices(series.values, max_points)
    if len(keep) == len(series.values):
        return series
    return Series(
        steps=[series.steps[i] for i in keep],
        values=[series.values[i] for i in keep],
        timestamps=[series.timestamps[i] for i in keep],
    )


def _argmin(values: list[float], start: int, stop: int) -> int:
    # Slicing and list.index run in C: far faster than min(range(...), key=...) in a loop.
    chunk = values[start:stop]
    return start + chunk.index(min(chunk))


def _argmax(values: list[float], start: int, stop: int) -> int:
    chunk = values[start:stop]
    return start + chunk.index(max(chunk))
