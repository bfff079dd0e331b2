"""Group commit: updates of every room that arrive while a transaction is in flight share
the next one.

There is no artificial delay: the first update commits at once, and whatever arrives
meanwhile forms the next batch. Batches commit one after another, so completion order is
submission order, which lets rooms relay updates in the order they applied them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from coreport.metrics import Metrics
from coreport.ports import DocName, Store
from coreport.sync.cork import SendCork

log = logging.getLogger(__name__)

#: Called once per update, in submission order: ``(seq, None)`` once it is durable, or
#: ``(None, error)`` when its transaction failed.
CommitCallback = Callable[[int | None, BaseException | None], None]


@dataclass(slots=True)
class _Pending:
    doc: DocName
    data: bytes
    done: CommitCallback


class GroupCommitter:
    """Owns one flusher task; ``start()`` and ``stop()`` bracket its life."""

    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        max_batch: int = 1024,
        cork: SendCork | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        # Held while a batch's updates are relayed: one write per client per batch.
        self._cork = cork
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="coreport-group-commit")

    async def stop(self) -> None:
        """Commit everything submitted so far, then end the flusher."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None

    def submit(self, doc: DocName, data: bytes, done: CommitCallback) -> None:
        if self._stopping:
            done(None, RuntimeError("server is shutting down"))
            return
        self._queue.append(_Pending(doc, data, done))
        self._metrics.pending_commits.inc()
        self._idle.clear()
        self._wakeup.set()

    async def drained(self) -> None:
        """Wait until nothing submitted so far is still pending."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._commit(batch)
                # Waiting for the next batch must not keep this one (and its rooms) alive.
                del batch
            self._idle.set()
            if self._stopping:
                return

    async def _commit(self, batch: list[_Pending]) -> None:
        started = time.perf_counter()
        try:
            seqs = await self._store.append([(p.doc, p.data) for p in batch])
        except Exception as exc:  # every failure is reported to each update's owner
            log.error("store append of %d updates failed: %s", len(batch), exc)
            self._metrics.errors.labels("store").inc()
            self._metrics.pending_commits.dec(len(batch))
            for p in batch:
                self._call(p, None, exc)
            return
        self._metrics.commit_seconds.observe(time.perf_counter() - started)
        self._metrics.commit_batch_size.observe(len(batch))
        self._metrics.pending_commits.dec(len(batch))
        with self._relaying(len(batch)):
            for p, seq in zip(batch, seqs, strict=True):
                self._call(p, seq, None)

    def _relaying(self, updates: int) -> AbstractContextManager[None]:
        return self._cork.held() if self._cork is not None and updates > 1 else nullcontext()

    @staticmethod
    def _call(p: _Pending, seq: int | None, error: BaseException | None) -> None:
        try:
            p.done(seq, error)
        except Exception:
            # A callback bug must not stop the callbacks of the other updates in the batch.
            log.exception("commit callback for %s failed", p.doc)
