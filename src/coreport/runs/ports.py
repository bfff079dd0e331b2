"""What the runs domain needs from storage: the :class:`RunStore` Protocol and its values.

Plain data and a Protocol only, like :mod:`coreport.ports` (where this may move): stores
implement it without importing anything else from the domain.
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
        :func:`coreport.runs.downsample.min_max_indices` keeps: a long run's chart needs a
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
