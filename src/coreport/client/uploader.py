"""Background delivery of a run's history rows and summary updates.

``Run.log`` only puts a row in memory and returns: it never waits on the network. One
thread per run sends what is pending in batches, in the order steps were first logged,
one batch at a time (so a later value of a step always reaches the server after an
earlier one). A batch that fails for a reason that may pass (unreachable, timeout, 5xx,
429) is sent again, unchanged, after a growing pause; the server stores history
idempotently per (metric, step), so a batch delivered twice is stored once. A batch the
server refuses (4xx) cannot succeed by repetition: it is counted as failed, logged, and
reported by :meth:`HistoryUploader.close`.

The memory is bounded by ``max_pending`` steps. Logging never blocks and never drops the
newest point: when the buffer is full (the server has been unreachable for a long time)
the pending steps are coalesced pairwise, each pair becoming one row at the later step
that carries both rows' metrics (the later value wins). The curve keeps its whole extent at
half the resolution, and a metric logged only at some steps is not lost. A warning is
logged once per run; :attr:`HistoryUploader.coalesced` counts the steps merged away.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coreport.client.errors import RETRYABLE, CoreportError
from coreport.client.http import HttpApi

log = logging.getLogger(__name__)


def exponential_backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2, ...): 0.25 s doubling to 15 s, with
    jitter so many clients recovering together do not retry in lockstep."""
    pause: float = min(15.0, 0.25 * 2.0 ** (attempt - 1))
    return pause * random.uniform(0.5, 1.0)


@dataclass(slots=True)
class _Row:
    timestamp: float
    metrics: dict[str, float]

    def as_json(self, step: int) -> dict[str, Any]:
        return {"step": step, "timestamp": self.timestamp, "metrics": self.metrics}


@dataclass(slots=True)
class UploadStats:
    """What happened to the rows logged so far."""

    #: Steps stored by the server.
    delivered: int = 0
    #: Steps in batches the server refused (4xx); see :attr:`last_error`.
    refused: int = 0
    #: Steps merged into a neighbour because the buffer was full.
    coalesced: int = 0
    #: Requests sent again after a retryable failure.
    retries: int = 0
    last_error: CoreportError | None = None
    errors: list[CoreportError] = field(default_factory=list)


class HistoryUploader:
    """Sends the pending rows of run ``run_id`` from its own thread; see the module docstring.

    ``start()`` starts the thread, ``close(timeout)`` delivers what it can within
    ``timeout`` and stops it, answering how many steps are left undelivered.
    """

    def __init__(
        self,
        api: HttpApi,
        run_id: str,
        *,
        batch_rows: int = 1000,
        max_pending: int = 100_000,
        interval: float = 0.5,
        backoff: Callable[[int], float] = exponential_backoff,
    ) -> None:
        if batch_rows < 1 or max_pending < 2:
            raise ValueError("batch_rows must be >= 1 and max_pending >= 2")
        self._api = api
        self.run_id = run_id
        self._batch_rows = batch_rows
        self._max_pending = max_pending
        self._interval = interval
        self._backoff = backoff
        self._cond = threading.Condition()
        self._pending: dict[int, _Row] = {}
        self._summary: dict[str, Any] = {}
        self._in_flight = 0
        self._summary_in_flight = False
        self._oldest_at = 0.0
        self._flush_wanted = False
        self._closing = False
        self._deadline = float("inf")
        self._warned_full = False
        self._thread: threading.Thread | None = None
        self.stats = UploadStats()

    # -- the training loop's side ----------------------------------------------------

    def add(self, step: int, timestamp: float, metrics: dict[str, float]) -> None:
        """Queue ``metrics`` at ``step`` (merged into anything pending for that step)."""
        with self._cond:
            if self._closing:
                raise RuntimeError(f"run {self.run_id} is finished; log() is closed")
            row = self._pending.get(step)
            if row is not None:
                row.metrics.update(metrics)
                row.timestamp = timestamp
                return
            if len(self._pending) >= self._max_pending:
                self._coalesce()
            if not self._pending:
                self._oldest_at = time.monotonic()
            self._pending[step] = _Row(timestamp, dict(metrics))
            if len(self._pending) in (1, self._batch_rows):
                self._cond.notify_all()

    def update_summary(self, values: dict[str, Any]) -> None:
        """Queue a JSON merge patch of the run's summary (sent after pending rows)."""
        with self._cond:
            if self._closing:
                raise RuntimeError(f"run {self.run_id} is finished; its summary is closed")
            idle = not self._pending and not self._summary
            self._summary.update(values)
            if idle:
                # Only an idle sender waits without a timeout; wake it.
                self._oldest_at = time.monotonic()
                self._cond.notify_all()

    @property
    def pending(self) -> int:
        """Steps not yet stored (queued or in flight)."""
        with self._cond:
            return len(self._pending) + self._in_flight

    @property
    def summary_pending(self) -> bool:
        """Whether a summary update has not reached the server."""
        with self._cond:
            return bool(self._summary or self._summary_in_flight)

    def _coalesce(self) -> None:
        steps = list(self._pending.items())
        merged: dict[int, _Row] = {}
        for (_, earlier), (step, later) in zip(steps[0::2], steps[1::2], strict=False):
            merged[step] = _Row(later.timestamp, earlier.metrics | later.metrics)
        if len(steps) % 2:
            merged[steps[-1][0]] = steps[-1][1]
        self.stats.coalesced += len(steps) - len(merged)
        self._pending = merged
        if not self._warned_full:
            self._warned_full = True
            log.warning(
                "run %s: %d steps are waiting to be sent (last error: %s); coalescing "
                "pending steps pairwise so memory stays bounded and log() never blocks",
                self.run_id,
                len(steps),
                self.stats.last_error,
            )

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(
            target=self._run, name=f"coreport-run-{self.run_id}", daemon=True
        )
        self._thread.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Send what is pending now and wait until the server has it (or ``timeout``
        passes); whether everything was delivered."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._flush_wanted = True
            self._cond.notify_all()
            while self._has_work():
                if self._thread is None or not self._thread.is_alive():
                    return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self, timeout: float) -> int:
        """Deliver what is pending within ``timeout`` seconds, then stop the thread;
        answers how many steps remain undelivered (0 on success; an undelivered summary
        update shows in :attr:`summary_pending`)."""
        with self._cond:
            self._closing = True
            self._deadline = time.monotonic() + timeout
            self._cond.notify_all()
        if self._thread is not None:
            # The thread stops by the deadline (plus at most one request's timeout).
            self._thread.join()
        with self._cond:
            return len(self._pending) + self._in_flight

    # -- the sender thread -----------------------------------------------------------

    def _has_work(self) -> bool:
        return bool(self._pending or self._in_flight or self._summary or self._summary_in_flight)

    def _due(self) -> bool:
        if self._closing or self._flush_wanted:
            return True
        if len(self._pending) >= self._batch_rows:
            return True
        return time.monotonic() - self._oldest_at >= self._interval

    def _next_batch(self) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
        """Wait for something due and take it; ``None`` once closing and done (or out of
        time)."""
        with self._cond:
            while True:
                if self._closing and (not self._has_work() or self._past_deadline()):
                    return None
                if (self._pending or self._summary) and self._due():
                    break
                if self._pending or self._summary:
                    self._cond.wait(self._interval - (time.monotonic() - self._oldest_at))
                else:
                    self._cond.wait()
            steps = list(self._pending)[: self._batch_rows]
            rows = [self._pending.pop(step).as_json(step) for step in steps]
            self._in_flight = len(rows)
            summary: dict[str, Any] = {}
            if self._pending:
                self._oldest_at = time.monotonic()
            else:
                # Summary updates go out after the last batch of what is pending.
                summary, self._summary = self._summary, {}
                self._summary_in_flight = bool(summary)
                self._flush_wanted = False
            return rows, summary

    def _past_deadline(self) -> bool:
        return time.monotonic() >= self._deadline

    def _run(self) -> None:
        try:
            while (work := self._next_batch()) is not None:
                self._deliver(*work)
        except Exception:
            log.exception("run %s: the uploader stopped", self.run_id)
            raise
        finally:
            with self._cond:
                self._cond.notify_all()

    def _deliver(self, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
        if rows:
            sent = self._send("POST", f"/api/runs/{self.run_id}/history", {"rows": rows})
            with self._cond:
                self._in_flight = 0
                if sent is None:
                    # Out of time while retrying: put them back for close() to count.
                    for row in rows:
                        self._pending.setdefault(
                            row["step"], _Row(row["timestamp"], row["metrics"])
                        )
                elif sent:
                    self.stats.delivered += len(rows)
                else:
                    self.stats.refused += len(rows)
                self._cond.notify_all()
        if summary:
            sent = self._send("PATCH", f"/api/runs/{self.run_id}", {"summary": summary})
            with self._cond:
                self._summary_in_flight = False
                if sent is None:
                    self._summary = summary | self._summary
                self._cond.notify_all()

    def _send(self, method: str, path: str, body: dict[str, Any]) -> bool | None:
        """Send until it succeeds (True), is refused (False) or time is up (None)."""
        attempt = 0
        while True:
            try:
                self._api.request(method, path, json=body)
                return True
            except RETRYABLE as exc:
                attempt += 1
                self._record(exc)
                log.debug("run %s: %s %s failed, will retry: %s", self.run_id, method, path, exc)
                with self._cond:
                    pause_until = time.monotonic() + self._backoff(attempt)
                    # New rows wake this wait too; only close() (a deadline) cuts it short.
                    while (left := min(pause_until, self._deadline) - time.monotonic()) > 0:
                        self._cond.wait(left)
                    if self._past_deadline():
                        return None
                    self.stats.retries += 1
            except CoreportError as exc:
                self._record(exc)
                log.error("run %s: the server refused %s %s: %s", self.run_id, method, path, exc)
                return False

    def _record(self, exc: CoreportError) -> None:
        with self._cond:
            self.stats.last_error = exc
            if len(self.stats.errors) < 20:
                self.stats.errors.append(exc)
