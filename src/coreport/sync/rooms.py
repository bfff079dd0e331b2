"""The registry of loaded rooms: single-flight loading, unloading when idle, compaction,
catching up from the store, and the tasks that do it.

``Rooms`` is an async context manager; leaving it commits every pending write, closes
every bus subscription and ends every task it started.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from pycrdt import Doc

from coreport.metrics import Metrics
from coreport.ports import Bus, Clock, CompactionWorth, DocName, Store
from coreport.sync import heap
from coreport.sync.committer import GroupCommitter
from coreport.sync.cork import SendCork
from coreport.sync.merging import MergeProcess
from coreport.sync.outbox import Outbox
from coreport.sync.room import Room

log = logging.getLogger(__name__)

T = TypeVar("T")


# A sweep lets the event loop run between slices of this many rooms (about 0.8 ms each).
_ROOMS_PER_SLICE = 500


@dataclass(frozen=True, slots=True)
class RoomPolicy:
    """Timings and thresholds of the room lifecycle (from settings)."""

    #: Unload a room this long after its last client left.
    idle_unload_seconds: float = 30.0
    #: Let a room rest (``Room.rest``) once its document has not changed for this long;
    #: 0: never.
    rest_after_seconds: float = 5.0
    #: ...unless it holds more than this: decoding it again would stall the event loop
    #: (about 12 ms per MiB of updates here).
    rest_max_bytes: int = 4 * 1024 * 1024
    #: Send awareness changes of a document at most this often (see ``throttle``).
    awareness_interval_seconds: float = 0.02
    #: Compact once this many update rows have accumulated since the snapshot...
    compact_every_updates: int = 500
    #: ...and they hold at least this fraction of the bytes already folded into the
    #: snapshot (0: by count alone). A compaction rewrites the whole document, so its cost
    #: grows with the document while what it saves (rows to replay) does not: with a
    #: ratio, the snapshot bytes written per byte of updates stay bounded (about
    #: 1 + 1/ratio) instead of growing with the document...
    compact_log_ratio: float = 0.5
    #: ...but always once this many rows have accumulated (loading replays them all)...
    compact_max_updates: int = 2000
    #: ...or once the oldest of them is this old.
    compact_max_age_seconds: float = 300.0
    #: Re-read the store this often even without a known gap (pub/sub is best effort).
    catch_up_seconds: float = 10.0
    #: A gap in sequence numbers this old is filled from the store.
    gap_grace_seconds: float = 0.5
    #: Forget cursors of other instances' clients not renewed for this long.
    remote_awareness_seconds: float = 45.0
    #: How often the maintenance loop fills gaps older than the grace (``fill_gaps``)...
    tick_seconds: float = 0.25
    #: ...and how often it sweeps every room instead (``maintain``): unloading, resting,
    #: compaction, cursors and the periodic catch-up wait longer than gaps without harm,
    #: and a sweep costs about 1.6 us per loaded room. Sweeps are at most a quarter of
    #: ``idle_unload_seconds`` apart, so an idle room outstays its delay by at most a
    #: quarter of it (a short delay cycles documents fast, and more of them would stay
    #: loaded at once: S7).
    sweep_seconds: float = 1.0


class Rooms:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        metrics: Metrics,
        clock: Clock,
        *,
        instance: str,
        policy: RoomPolicy | None = None,
        cork: SendCork | None = None,
        release_memory: Callable[[], object] = heap.trim,
        fan_out: bool = True,
    ) -> None:
        self._store = store
        self._bus = bus
        # Whether another instance can be on the bus: not when it is an in-process bus
        # this instance made for itself. Then a room publishes nothing (what it would
        # publish could only come back to it) and subscribes to nothing.
        self._fan_out = fan_out
        self._metrics = metrics
        self._clock = clock
        self._instance = instance
        self.policy = policy or RoomPolicy()
        self.committer = GroupCommitter(store, metrics, cork=cork)
        self._outbox = Outbox(bus, metrics)
        self._rooms: dict[DocName, Room] = {}
        self._loading: dict[DocName, asyncio.Task[Room]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._compact_queue: asyncio.Queue[DocName] = asyncio.Queue()
        # Documents queued for compaction, each with what must hold of the store's log for
        # a merge (None: any row).
        self._compact_wanted: dict[DocName, CompactionWorth | None] = {}
        self._merge = MergeProcess()
        self._last_catch_up = clock.now()
        self._running = False
        # Called after passes that let documents go, at most once a second (heap.trim).
        self._release_memory = release_memory
        self._release_wanted = False
        self._released_at = -math.inf

    # -- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> Rooms:
        self.committer.start()
        self._outbox.start()
        self._running = True
        self._spawn(self._maintenance_loop(), "coreport-room-maintenance")
        self._spawn(self._compaction_loop(), "coreport-compaction")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Commit pending writes, drop every room and end every task."""
        if not self._running:
            return
        self._running = False
        for loading in list(self._loading.values()):
            loading.cancel()
        await asyncio.gather(*self._loading.values(), return_exceptions=True)
        await self.committer.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for room in list(self._rooms.values()):
            await self._drop(room)
        await self._outbox.stop()
        await asyncio.to_thread(self._merge.close)

    def _spawn(self, coro: Coroutine[object, object, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- acquiring and releasing -----------------------------------------------------

    @property
    def loaded(self) -> int:
        return len(self._rooms)

    def get(self, name: DocName) -> Room | None:
        return self._rooms.get(name)

    async def acquire(self, name: DocName) -> Room:
        """The loaded room for ``name``, loading it once however many ask at once."""
        if not self._running:
            raise RuntimeError("rooms are stopped")
        room = self._rooms.get(name)
        if room is None:
            loading = self._loading.get(name)
            if loading is None:
                loading = asyncio.create_task(self._load(name), name=f"coreport-load:{name}")
                self._loading[name] = loading
                self._metrics.loading_rooms.inc()
                loading.add_done_callback(lambda t: self._loaded(name, t))
            # A client that vanishes mid-load must not cancel the load for the others.
            room = await asyncio.shield(loading)
        room.refs += 1
        room.idle_since = None
        return room

    async def edit(self, name: DocName, change: Callable[[Doc[Any]], T]) -> tuple[T, int | None]:
        """Apply ``change`` to the live document as one server-side transaction and wait
        until it is durable; returns its result and the store sequence number (``None``
        when nothing changed). Clients connected anywhere see it like any other edit."""
        room = await self.acquire(name)
        try:
            result, done = room.edit(change)
            return result, await done
        finally:
            self.release(room)

    async def read(self, name: DocName, view: Callable[[Doc[Any]], T]) -> T:
        """``view`` of the live document, once everything applied to it is durable."""
        room = await self.acquire(name)
        try:
            await room.durable()
            return view(room.doc)
        finally:
            self.release(room)

    def release(self, room: Room) -> None:
        room.refs -= 1
        if room.refs <= 0:
            room.refs = 0
            room.idle_since = self._clock.now()

    async def _load(self, name: DocName) -> Room:
        room = Room(
            name,
            instance=self._instance,
            committer=self.committer,
            publish=self._outbox.publish if self._fan_out else None,
            metrics=self._metrics,
            clock=self._clock,
            on_broken=self._broken,
            awareness_interval=self.policy.awareness_interval_seconds,
        )
        try:
            # Subscribe first, so nothing committed elsewhere between the read and the
            # subscription is missed; applying an update twice is harmless.
            if self._fan_out:
                room.subscription = await self._bus.subscribe(room.channel, room)
                self._metrics.bus_subscriptions.inc()
            room.apply_stored(await self._store.load(name))
        except BaseException:
            room.close()
            await self._close_subscription(room)
            raise
        self._rooms[name] = room
        self._metrics.loaded_rooms.set(len(self._rooms))
        room.ask_for_awareness()
        return room

    def _loaded(self, name: DocName, task: asyncio.Task[Room]) -> None:
        self._loading.pop(name, None)
        self._metrics.loading_rooms.dec()
        if not task.cancelled() and task.exception() is not None:
            self._metrics.errors.labels("load").inc()
            log.error("loading %s failed: %s", name, task.exception())

    def _broken(self, room: Room) -> None:
        if self._rooms.get(room.name) is room:
            del self._rooms[room.name]
            self._metrics.loaded_rooms.set(len(self._rooms))
            room.close()
            self._spawn(self._close_subscription(room), f"coreport-drop:{room.name}")

    async def _drop(self, room: Room) -> None:
        if self._rooms.get(room.name) is room:
            del self._rooms[room.name]
            self._metrics.loaded_rooms.set(len(self._rooms))
        room.close()
        await self._close_subscription(room)

    async def _close_subscription(self, room: Room) -> None:
        subscription, room.subscription = room.subscription, None
        if subscription is not None:
            self._metrics.bus_subscriptions.dec()
            await subscription.close()

    # -- maintenance -----------------------------------------------------------------

    async def _maintenance_loop(self) -> None:
        swept_at = self._clock.now()
        while True:
            await self._clock.sleep(self.policy.tick_seconds)
            now = self._clock.now()
            policy = self.policy
            every = min(policy.sweep_seconds, policy.idle_unload_seconds / 4)
            sweep = now - swept_at >= every
            if sweep:
                swept_at = now
            try:
                await (self.maintain() if sweep else self.fill_gaps())
            except Exception:
                self._metrics.errors.labels("maintenance").inc()
                log.exception("room maintenance failed")

    async def maintain(self) -> None:
        """A sweep of every room: unload idle rooms, rest quiet ones, schedule compactions,
        expire other instances' cursors, catch up from the store (periodically, the rooms
        whose documents moved), fill gaps. A long sweep lets the event loop serve sockets
        between slices of rooms."""
        policy = self.policy
        now = self._clock.now()
        # The periodic catch-up asks the store for every loaded document's position in
        # one query and reads only the documents that moved.
        positions: dict[DocName, int] = {}
        if now - self._last_catch_up >= policy.catch_up_seconds:
            self._last_catch_up = now
            positions = await self._positions(list(self._rooms)) or {}
        for index, room in enumerate(list(self._rooms.values()), 1):
            if index % _ROOMS_PER_SLICE == 0:
                await asyncio.sleep(0)
            if self._rooms.get(room.name) is not room:
                continue  # let go (or loaded anew) while the sweep awaited
            if (
                room.refs == 0
                and room.idle_since is not None
                and now - room.idle_since >= policy.idle_unload_seconds
                and not room.has_pending_writes
            ):
                await self._unload(room)
                self._release_wanted = True
                continue
            if (
                policy.rest_after_seconds > 0
                and now - room.active_at >= policy.rest_after_seconds
                and room.size_bytes <= policy.rest_max_bytes
                and room.rest()
            ):
                self._release_wanted = True
            due, worth = self._compaction_due(room, now)
            if due:
                self.request_compaction(room.name, worth)
            if positions.get(room.name, 0) > room.known_seq:
                await self.catch_up(room)
            room.expire_remote_awareness(now - policy.remote_awareness_seconds)
        await self.fill_gaps()
        if self._release_wanted and now - self._released_at >= 1.0:
            self._release_wanted = False
            self._released_at = now
            self._release_memory()

    async def fill_gaps(self) -> None:
        """Catch up every room with a gap in sequence numbers older than the grace (an
        update of another instance missed on the bus, or arrived out of order)."""
        oldest = self._clock.now() - self.policy.gap_grace_seconds
        gapped = [
            room
            for room in self._rooms.values()
            if room.gap_since is not None and room.gap_since <= oldest
        ]
        if not gapped:
            return
        # One query says which of them moved (after a bus reconnect that is every loaded
        # room, most of them quiet). A gap the bus reported closes before it, so one
        # reported meanwhile stands, and opens again if no read answers it.
        reported = [(room, room.close_reported_gap()) for room in gapped]
        positions = await self._positions([room.name for room in gapped])
        for room, since in reported:
            if positions is None:
                room.reopen_gap(since)
                continue
            moved = positions.get(room.name, 0) > room.known_seq
            if moved and self._rooms.get(room.name) is room and not await self.catch_up(room):
                room.reopen_gap(since)

    def _compaction_due(self, room: Room, now: float) -> tuple[bool, CompactionWorth | None]:
        """Whether ``room``'s document needs compacting now, and what the store must find
        for the merge to be worth it. Every instance with the document loaded weighs its
        log, so another may have compacted first: a compaction due by weight merges only
        if the log that followed that one weighs enough too (:meth:`_worth_merging`; the
        room learns where the snapshot is either way) instead of rewriting the whole
        document for a few rows. One due by age merges whatever there is."""
        rows = room.rows_since_snapshot
        if rows == 0:
            return False, None
        if self._worth_merging(rows, room.log_bytes, room.size_bytes - room.log_bytes):
            return True, self._worth_merging
        max_age = self.policy.compact_max_age_seconds
        return room.dirty_since is not None and now - room.dirty_since >= max_age, None

    def _worth_merging(self, rows: int, log_bytes: int, folded_bytes: int) -> bool:
        """Whether ``rows`` update rows of ``log_bytes`` after a snapshot of
        ``folded_bytes`` are worth folding into it (see :class:`RoomPolicy`)."""
        policy = self.policy
        if rows >= policy.compact_max_updates:
            return True
        return (
            rows >= policy.compact_every_updates
            and log_bytes >= policy.compact_log_ratio * folded_bytes
        )

    async def _unload(self, room: Room) -> None:
        await self._drop(room)
        if room.rows_since_snapshot:
            self.request_compaction(room.name)

    async def _positions(self, names: list[DocName]) -> dict[DocName, int] | None:
        """The store's last sequence number of each of ``names`` (``None`` on failure:
        the next pass asks again)."""
        try:
            return await self._store.last_seqs(names)
        except Exception as exc:
            self._metrics.errors.labels("catch_up").inc()
            log.warning("reading the documents' positions from the store failed: %s", exc)
            return None

    async def catch_up(self, room: Room) -> bool:
        """Apply whatever the store has beyond what this room has seen; whether the
        store answered."""
        reported = room.close_reported_gap()
        try:
            state = await self._store.load(room.name, after_seq=room.known_seq)
        except Exception as exc:
            room.reopen_gap(reported)  # the next pass tries again
            self._metrics.errors.labels("catch_up").inc()
            log.warning("catching up %s from the store failed: %s", room.name, exc)
            return False
        if room.broken or self._rooms.get(room.name) is not room:
            return True
        new = room.apply_stored(state)
        if new is not None:
            room.relay_caught_up(new)
        return True

    def request_compaction(self, name: DocName, worth: CompactionWorth | None = None) -> None:
        """Queue a compaction of ``name``: one that merges only if ``worth`` says so of
        the store's log then, or whatever there is (``None``, which a second request
        without a rule also makes of one queued with one)."""
        if name not in self._compact_wanted:
            self._compact_queue.put_nowait(name)
            self._compact_wanted[name] = worth
        elif worth is None:
            self._compact_wanted[name] = None

    async def _compaction_loop(self) -> None:
        while True:
            name = await self._compact_queue.get()
            worth = self._compact_wanted.pop(name, None)
            try:
                await self._compact(name, worth)
            finally:
                self._compact_queue.task_done()

    async def _compact(self, name: DocName, worth: CompactionWorth | None) -> None:
        try:
            result = await self._store.compact(name, self._merge, worth=worth)
        except Exception as exc:
            self._metrics.errors.labels("compaction").inc()
            log.warning("compacting %s failed: %s", name, exc)
            return
        if result.merged_rows:
            self._metrics.compactions.inc()
        room = self._rooms.get(name)
        if room is not None:
            room.compacted(result.snapshot_seq)

    async def compactions_settled(self) -> None:
        """Wait until every compaction requested so far has run."""
        await self._compact_queue.join()
