"""Versions of a report: the encoded state of its document at one moment, with the runs it
referred to then.

:class:`ReportVersions` takes named versions on request and automatic ones by itself: it
sees every update the store commits (:meth:`EditActivity.observe` wraps the store the
rooms write through) and versions a report once a burst of editing has been quiet for
``quiet_seconds``, or after ``active_seconds`` of uninterrupted editing. It is an async
context manager that owns its one task.

Each instance versions the edits it committed itself; a report edited through two
instances at once may get one automatic version from each (both are correct states).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pycrdt import Doc

from coreport.ports import (
    Clock,
    Compaction,
    CompactionWorth,
    DocName,
    MergeUpdates,
    Store,
    StoredState,
)
from coreport.reports.blocks import Block
from coreport.reports.convert import read_report
from coreport.reports.ports import NewVersion, ReportStore, VersionInfo, VersionKind
from coreport.reports.runsets import run_refs
from coreport.runs.service import RunService
from coreport.sync.names import REPORT_ID
from coreport.sync.rooms import Rooms

log = logging.getLogger(__name__)

_PREFIX = "reports/"


@dataclass(frozen=True, slots=True)
class VersionPolicy:
    #: Take an automatic version once a report's edits pause this long...
    quiet_seconds: float = 60.0
    #: ...or once it has been edited without such a pause for this long.
    active_seconds: float = 600.0
    #: How often to look for reports that are due.
    tick_seconds: float = 5.0


@dataclass(slots=True)
class _Burst:
    first: float
    last: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one read of the live document gives a version."""

    title: str
    blocks: list[Block]
    state: bytes
    state_vector: bytes


def report_of(doc: DocName) -> str | None:
    """The report id of a report document's name (``None`` for comments and others)."""
    if not doc.startswith(_PREFIX):
        return None
    report_id = doc.removeprefix(_PREFIX)
    return report_id if REPORT_ID.fullmatch(report_id) else None


def snapshot(doc: Doc[Any]) -> Snapshot:
    title, blocks = read_report(doc)
    return Snapshot(title, blocks, doc.get_update(), doc.get_state())


def doc_of(state: bytes) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    doc.apply_update(state)
    return doc


class EditActivity:
    """Bursts of editing per report, as seen in the updates a store commits."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._bursts: dict[str, _Burst] = {}

    def observe(self, store: Store) -> Store:
        """``store``, noting every update it commits here."""
        return _ObservedStore(store, self.noted)

    def noted(self, doc: DocName) -> None:
        """An update of ``doc`` was committed (now)."""
        report_id = report_of(doc)
        if report_id is None:
            return
        now = self._clock.now()
        burst = self._bursts.get(report_id)
        if burst is None:
            self._bursts[report_id] = _Burst(now, now)
        else:
            burst.last = now

    def due(self, policy: VersionPolicy) -> list[str]:
        """Reports whose burst has been quiet, or has lasted, long enough."""
        now = self._clock.now()
        return [
            report_id
            for report_id, burst in self._bursts.items()
            if now - burst.last >= policy.quiet_seconds
            or now - burst.first >= policy.active_seconds
        ]

    def take(self, report_id: str) -> _Burst | None:
        return self._bursts.pop(report_id, None)

    def give_back(self, report_id: str, burst: _Burst) -> None:
        """Keep ``burst`` of a report that could not be versioned (merged with any new one)."""
        current = self._bursts.get(report_id)
        if current is None:
            self._bursts[report_id] = burst
        else:
            current.first = min(current.first, burst.first)


class ReportVersions:
    """Takes versions of reports: named ones when asked, automatic ones by itself."""

    def __init__(
        self,
        store: ReportStore,
        rooms: Rooms,
        runs: RunService,
        clock: Clock,
        activity: EditActivity,
        policy: VersionPolicy | None = None,
    ) -> None:
        self._store = store
        self._rooms = rooms
        self._runs = runs
        self._clock = clock
        self.activity = activity
        self.policy = policy or VersionPolicy()
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> ReportVersions:
        self._task = asyncio.create_task(self._loop(), name="coreport-report-versions")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            await self._clock.sleep(self.policy.tick_seconds)
            try:
                await self.take_due()
            except Exception:
                log.exception("automatic versions failed")

    async def take_due(self) -> list[VersionInfo]:
        """One pass: an automatic version of every report whose burst of edits is over
        (or has gone on long enough). A report that fails stays due."""
        taken: list[VersionInfo] = []
        for report_id in self.activity.due(self.policy):
            burst = self.activity.take(report_id)
            if burst is None:
                continue
            try:
                version = await self.take(report_id, kind="auto", skip_unchanged=True)
            except BaseException:
                self.activity.give_back(report_id, burst)
                raise
            if version is not None:
                taken.append(version)
        return taken

    # -- taking versions -------------------------------------------------------------

    async def take(
        self,
        report_id: str,
        *,
        kind: VersionKind,
        name: str | None = None,
        by: str | None = None,
        skip_unchanged: bool = False,
    ) -> VersionInfo | None:
        """Store the live document of ``report_id`` as a version; ``None`` when the report
        is gone, or unchanged since its latest version and ``skip_unchanged``."""
        if await self._store.get_report(report_id) is None:
            return None
        shot = await self._rooms.read(_PREFIX + report_id, snapshot)
        if skip_unchanged:
            latest = await self._store.latest_version(report_id)
            if latest is not None and latest.state_vector == shot.state_vector:
                return None
        refs = await run_refs(self._runs, shot.blocks)
        version = NewVersion(
            id=uuid.uuid4().hex,
            report_id=report_id,
            kind=kind,
            name=name,
            title=shot.title,
            created_by=by,
            created_at=datetime.fromtimestamp(self._clock.wall(), UTC),
            state=shot.state,
            state_vector=shot.state_vector,
        )
        return await self._store.add_version(version, refs)


class _ObservedStore:
    """A :class:`~coreport.ports.Store` that reports each committed append."""

    def __init__(self, inner: Store, noted: Callable[[DocName], None]) -> None:
        self._inner = inner
        self._noted = noted

    async def open(self) -> None:
        await self._inner.open()

    async def close(self) -> None:
        await self._inner.close()

    async def ping(self) -> None:
        await self._inner.ping()

    async def append(self, batch: Sequence[tuple[DocName, bytes]]) -> list[int]:
        seqs = await self._inner.append(batch)
        for doc in dict.fromkeys(name for name, _ in batch):
            self._noted(doc)
        return seqs

    async def load(self, doc: DocName, after_seq: int = 0) -> StoredState:
        return await self._inner.load(doc, after_seq)

    async def last_seqs(self, docs: Collection[DocName]) -> dict[DocName, int]:
        return await self._inner.last_seqs(docs)

    async def compact(
        self, doc: DocName, merge: MergeUpdates, *, worth: CompactionWorth | None = None
    ) -> Compaction:
        return await self._inner.compact(doc, merge, worth=worth)

    async def delete(self, doc: DocName) -> None:
        await self._inner.delete(doc)
