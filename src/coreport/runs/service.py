"""What the runs REST API does: validated requests in, stored runs and live rows out.

The service owns no connection: it is given a :class:`RunStore`, the bus and a clock, so
tests pass fakes and every instance of a scaled deployment runs one.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from coreport.ports import Bus, BusError, Clock
from coreport.runs.ports import (
    CodeRef,
    HistoryRow,
    LogLine,
    MediaInfo,
    NewMedia,
    Project,
    Run,
    RunPage,
    RunQuery,
    RunsError,
    RunStore,
)
from coreport.runs.schemas import (
    MAX_JSON_OBJECT_BYTES,
    HistoryBatch,
    HistoryQuery,
    LogBatch,
    LogsQuery,
    MediaQuery,
    MediaUpload,
    RunCreate,
    RunPatch,
)
from coreport.runs.stream import RunFeed, channel
from coreport.runs.views import (
    HistoryOut,
    HistoryRowOut,
    LiveRows,
    LogLineOut,
    LogPageOut,
    SeriesOut,
)

log = logging.getLogger(__name__)

#: The first bytes of each accepted image type.
_MAGIC: dict[str, Callable[[bytes], bool]] = {
    "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "image/gif": lambda data: data.startswith((b"GIF87a", b"GIF89a")),
    "image/webp": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
}


class MediaTooLarge(RunsError):
    """An image larger than :attr:`RunLimits.max_media_bytes` (HTTP 413)."""


class InvalidRunData(RunsError):
    """Valid JSON that the runs domain cannot accept, e.g. bytes that are not the declared
    image type (HTTP 422). ``field`` names the offending request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class RunLimits:
    max_media_bytes: int = 10 * 1024 * 1024
    #: Rows per bus message: a 10,000-row batch goes out as several small messages.
    live_rows_per_message: int = 1000
    #: Events a live-stream client may fall behind before it gets a ``gap`` instead.
    live_max_pending: int = 1000
    #: Runs whose project is kept in memory for access checks (about 200 bytes each).
    remembered_projects: int = 10_000


class RunService:
    """Runs, history, logs and media for the REST routes (and anything else in-process)."""

    def __init__(
        self,
        store: RunStore,
        bus: Bus,
        clock: Clock,
        *,
        limits: RunLimits | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self.limits = limits or RunLimits()
        self._new_id = new_id or (lambda: secrets.token_hex(8))
        # Run id -> project, the most recently used last: a run never moves to another
        # project and is never deleted, so an entry cannot go stale.
        self._projects: OrderedDict[str, str] = OrderedDict()

    async def ping(self) -> None:
        """Raise :class:`~coreport.ports.StoreError` unless the run store answers (readiness)."""
        await self._store.ping()

    async def create_run(self, project: str, request: RunCreate) -> Run:
        """Store a new run (and its project on first use); :class:`RunExists` if the
        requested id is taken."""
        now = self._now()
        run_id = request.id or self._new_id()
        code = request.code
        run = Run(
            id=run_id,
            project=project,
            name=request.name or run_id,
            state=request.state,
            config=request.config,
            summary=request.summary,
            tags=tuple(dict.fromkeys(request.tags)),
            code=CodeRef(code.git_commit, code.repository, code.diff_summary),
            created_at=now,
            updated_at=now,
        )
        await self._store.create_run(run)
        self._remember(run)
        return run

    async def get_run(self, run_id: str) -> Run:
        run = await self._store.get_run(run_id)
        self._remember(run)
        return run

    async def project_of(self, run_id: str) -> str:
        """The project of ``run_id`` (:class:`RunNotFound` for an unknown run), what every
        request about a run asks for its access check: from memory once the run has been
        seen, so that a training job logging ten times a second does not hand a lookup to
        the store's thread before each append."""
        project = self._projects.get(run_id)
        if project is None:
            return (await self.get_run(run_id)).project
        self._projects.move_to_end(run_id)
        return project

    def _remember(self, run: Run) -> None:
        self._projects[run.id] = run.project
        self._projects.move_to_end(run.id)
        if len(self._projects) > self.limits.remembered_projects:
            self._projects.popitem(last=False)

    async def patch_run(self, run_id: str, patch: RunPatch) -> Run:
        """Apply ``patch`` atomically (concurrent patches of one run do not lose keys)."""

        def change(run: Run) -> Run:
            return replace(
                run,
                name=run.name if patch.name is None else patch.name,
                state=run.state if patch.state is None else patch.state,
                tags=run.tags if patch.tags is None else tuple(dict.fromkeys(patch.tags)),
                summary=_merged(run.summary, patch.summary, "summary"),
                config=_merged(run.config, patch.config, "config"),
            )

        return await self._store.update_run(run_id, change, self._now())

    async def list_runs(self, project: str, query: RunQuery) -> RunPage:
        return await self._store.list_runs(project, query)

    async def list_projects(self) -> list[Project]:
        return await self._store.list_projects()

    async def log_history(self, run_id: str, batch: HistoryBatch) -> int:
        """Store the rows (all or nothing), then publish them live; returns how many steps
        were written. A failed publish is logged and does not fail the call: the rows are
        stored, and live clients are only a fast path."""
        now = self._clock.wall()
        steps: dict[int, tuple[float, dict[str, float]]] = {}
        for row in batch.rows:
            timestamp = now if row.timestamp is None else row.timestamp
            _, metrics = steps.get(row.step, (timestamp, {}))
            steps[row.step] = (timestamp, metrics | row.metrics)
        rows = [HistoryRow(step, ts, metrics) for step, (ts, metrics) in sorted(steps.items())]
        await self._store.append_history(run_id, rows, _datetime(now))
        await self._publish(run_id, rows)
        return len(rows)

    async def history(self, run_id: str, query: HistoryQuery) -> HistoryOut:
        """The run's history of ``query.keys`` (every metric by default), each series
        reduced to ``query.max_points`` points keeping extremes."""
        keys = query.keys if query.keys is not None else await self._store.history_keys(run_id)
        # The store picks the points a chart shows: a long run's other hundreds of thousands
        # never become Python objects (they cost the interpreter a second per chart).
        stored = await self._store.read_history(
            run_id, list(dict.fromkeys(keys)), query.start_step, query.end_step, query.max_points
        )
        series = {key: SeriesOut.of(read.points, read.stored) for key, read in stored.items()}
        return HistoryOut(run_id=run_id, max_points=query.max_points, series=series)

    async def metric_keys(self, run_id: str) -> list[str]:
        """The names of the metrics ``run_id`` has logged, sorted: what a panel editor
        offers, without reading any series (a long run's are a second of CPU)."""
        return await self._store.history_keys(run_id)

    async def log_lines(self, run_id: str, batch: LogBatch) -> int:
        """Store console lines; returns the number of the first one."""
        now = self._clock.wall()
        lines = [
            LogLine(line.text, line.stream, now if line.timestamp is None else line.timestamp)
            for line in batch.lines
        ]
        return await self._store.append_logs(run_id, lines, batch.first_line)

    async def logs(self, run_id: str, query: LogsQuery) -> LogPageOut:
        lines, total = await self._store.read_logs(run_id, query.start, query.limit)
        next_start = lines[-1].line + 1 if lines else max(query.start, 0)
        return LogPageOut(
            lines=[LogLineOut.of(line) for line in lines], next_start=next_start, total=total
        )

    async def put_media(self, run_id: str, upload: MediaUpload) -> MediaInfo:
        """Store an image; :class:`MediaTooLarge` above the limit, :class:`InvalidRunData`
        when the bytes are not the declared image type (so the server never serves, say,
        HTML under an image URL)."""
        if len(upload.data) > self.limits.max_media_bytes:
            raise MediaTooLarge(
                f"the image has {len(upload.data)} bytes; the limit is "
                f"{self.limits.max_media_bytes}"
            )
        if not _MAGIC[upload.content_type](upload.data):
            raise InvalidRunData("data", f"the data is not a {upload.content_type} image")
        media = NewMedia(
            upload.key, upload.step, upload.index, upload.content_type, upload.caption, upload.data
        )
        return await self._store.put_media(run_id, media, self._now())

    async def list_media(self, run_id: str, query: MediaQuery) -> list[MediaInfo]:
        return await self._store.list_media(
            run_id, query.key, query.step, query.limit, query.offset
        )

    async def get_media(self, run_id: str, media_id: str) -> tuple[MediaInfo, bytes]:
        return await self._store.get_media(run_id, media_id)

    def feed(self, run_ids: Sequence[str]) -> RunFeed:
        """A live feed of the runs' new history rows; enter it to subscribe. (It does not
        check that the runs exist: the caller has, when it checked access to them.)"""
        return RunFeed(self._bus, run_ids, max_pending=self.limits.live_max_pending)

    async def _publish(self, run_id: str, rows: Sequence[HistoryRow]) -> None:
        size = self.limits.live_rows_per_message
        for start in range(0, len(rows), size):
            message = LiveRows(
                run_id=run_id,
                rows=[
                    HistoryRowOut(step=row.step, timestamp=row.timestamp, metrics=dict(row.metrics))
                    for row in rows[start : start + size]
                ],
            )
            try:
                await self._bus.publish(channel(run_id), message.model_dump_json().encode())
            except BusError as exc:
                log.warning("live rows of run %s stored but not published: %s", run_id, exc)
                return

    def _now(self) -> datetime:
        return _datetime(self._clock.wall())


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396 JSON merge patch: ``null`` deletes a key, objects merge recursively, anything
    else replaces."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping):
            current = result.get(key)
            result[key] = merge_patch(current if isinstance(current, Mapping) else {}, value)
        else:
            result[key] = value
    return result


def _merged(
    current: Mapping[str, Any], patch: Mapping[str, Any] | None, field: str
) -> Mapping[str, Any]:
    if patch is None:
        return current
    merged = merge_patch(current, patch)
    if len(json.dumps(merged, separators=(",", ":"))) > MAX_JSON_OBJECT_BYTES:
        raise InvalidRunData(
            field, f"the patched {field} would exceed {MAX_JSON_OBJECT_BYTES} bytes"
        )
    return merged


def _datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
