"""A run being logged from a training script: :class:`Run` and its :class:`Summary`."""

from __future__ import annotations

import atexit
import logging
import math
import numbers
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Literal

from coreport.client.errors import CoreportError, UploadIncomplete
from coreport.client.http import HttpApi
from coreport.client.uploader import HistoryUploader, UploadStats
from coreport.runs.schemas import MAX_METRICS_PER_ROW, MAX_STEP
from coreport.runs.views import RunOut

log = logging.getLogger(__name__)

FinalState = Literal["finished", "failed", "crashed"]

_METRIC_KEY = re.compile(r"^[^\x00-\x1f,]{1,256}$")


class Summary(Mapping[str, Any]):
    """The run's summary as this process knows it: what the server had at ``init_run``,
    plus every update since. Updates are JSON merge patches (``None`` deletes a key),
    sent in the background with the history; reading never touches the network."""

    def __init__(self, initial: Mapping[str, Any], uploader: HistoryUploader) -> None:
        self._values = dict(initial)
        self._uploader = uploader
        self._lock = threading.Lock()

    def update(self, values: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """Merge ``values`` (and keyword values) into the summary."""
        patch = {**(values or {}), **more}
        with self._lock:
            for key, value in patch.items():
                if value is None:
                    self._values.pop(key, None)
                else:
                    self._values[key] = value
        self._uploader.update_summary(patch)

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __getitem__(self, key: str) -> Any:
        with self._lock:
            return self._values[key]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._values))

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def __repr__(self) -> str:
        with self._lock:
            return f"Summary({self._values!r})"


class Run:
    """One run of a project, created by :meth:`Client.init_run`.

    :meth:`log` queues metrics and returns at once (it never waits on the server); a
    background thread delivers them in batches, retrying failures without duplicates
    (see :mod:`coreport.client.uploader`). :meth:`finish` flushes and sets the final
    state. Use it as a context manager to finish as ``"failed"`` on an exception; a run
    still open when the interpreter exits is flushed and finished then (``"crashed"`` if
    the exit is due to an uncaught exception).

    ``api`` is the run's own connection (so the run outlives its client); ``finish``
    closes it.
    """

    def __init__(
        self,
        api: HttpApi,
        info: RunOut,
        uploader: HistoryUploader,
        *,
        auto_summary: bool = True,
        finish_timeout: float = 30.0,
    ) -> None:
        self._api = api
        self.info = info
        self._uploader = uploader
        self._auto_summary = auto_summary
        self._finish_timeout = finish_timeout
        self._step = -1
        self._latest: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._finished = False
        self._warned_non_finite: set[str] = set()
        self.summary = Summary(info.summary, uploader)
        uploader.start()
        atexit.register(self._at_exit)

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def project(self) -> str:
        return self.info.project

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def url(self) -> str:
        """The run's REST resource."""
        return self._api.absolute(f"/api/runs/{self.id}")

    @property
    def step(self) -> int:
        """The last step logged (-1 before the first)."""
        return self._step

    @property
    def stats(self) -> UploadStats:
        """Delivery counters: delivered, refused, coalesced, retries, last error."""
        return self._uploader.stats

    @property
    def pending(self) -> int:
        """Steps logged but not yet stored by the server."""
        return self._uploader.pending

    def log(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Record ``metrics`` (name -> number) at ``step``; without ``step``, at the step
        after the last one logged. Logging a step again merges into it (later values win).

        Returns at once. Raises :class:`TypeError` / :class:`ValueError` for what the
        server would refuse (non-numeric values, bad names or steps) so the mistake shows
        where it is made. NaN and infinities cannot be stored: they are left out, with a
        warning once per metric. Numbers may be any real (``int``, ``float``, NumPy
        scalars) or have ``.item()`` (0-d arrays and tensors).
        """
        with self._lock:
            if step is None:
                step = self._step + 1
            elif isinstance(step, bool) or not isinstance(step, int):
                raise TypeError(f"step must be an int, not {type(step).__name__}")
            if not 0 <= step <= MAX_STEP:
                raise ValueError(f"step must be between 0 and {MAX_STEP}, not {step}")
            values = self._clean(metrics)
            if len(values) > MAX_METRICS_PER_ROW:
                raise ValueError(f"at most {MAX_METRICS_PER_ROW} metrics per step")
            self._step = max(self._step, step)
            if not values:
                return
            self._uploader.add(step, time.time(), values)
            if self._auto_summary:
                changed = {}
                for key, value in values.items():
                    if step >= self._latest.get(key, (-1, 0.0))[0]:
                        self._latest[key] = (step, value)
                        changed[key] = value
                if changed:
                    self.summary.update(changed)

    def _clean(self, metrics: Mapping[str, Any]) -> dict[str, float]:
        if not isinstance(metrics, Mapping):
            raise TypeError(f"metrics must be a mapping of name to number, not {metrics!r}")
        values: dict[str, float] = {}
        for key, value in metrics.items():
            if not isinstance(key, str) or not _METRIC_KEY.match(key):
                raise ValueError(
                    f"metric name {key!r}: 1-256 characters, no commas or control characters"
                )
            number = _number(value)
            if number is None:
                raise TypeError(f"metric {key!r}: expected a number, not {value!r}")
            if not math.isfinite(number):
                if key not in self._warned_non_finite:
                    self._warned_non_finite.add(key)
                    log.warning(
                        "run %s: %s is %s; non-finite values are not logged", self.id, key, number
                    )
                continue
            values[key] = number
        return values

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything logged so far is stored (or ``timeout`` passes); whether
        it all was. Logging may continue meanwhile."""
        return self._uploader.flush(timeout)

    def finish(self, state: FinalState = "finished", *, timeout: float | None = None) -> None:
        """Deliver what is pending (waiting up to ``timeout``, default 30 s), then set the
        run's state. Later calls do nothing.

        Raises :class:`UploadIncomplete` if some steps were not stored (the server stayed
        unreachable, or refused a batch; the state is still set if the server answers),
        else the error of setting the state if that failed.
        """
        with self._lock:
            if self._finished:
                return
            self._finished = True
        atexit.unregister(self._at_exit)
        undelivered = self._uploader.close(self._finish_timeout if timeout is None else timeout)
        summary_lost = self._uploader.summary_pending
        state_error: CoreportError | None = None
        try:
            self._api.request("PATCH", f"/api/runs/{self.id}", json={"state": state})
        except CoreportError as exc:
            state_error = exc
        finally:
            self._api.close()
        refused = self.stats.refused
        if undelivered or refused or summary_lost:
            raise UploadIncomplete(
                f"run {self.id}: {undelivered} step(s) not delivered, {refused} refused"
                + (", summary update not delivered" if summary_lost else "")
                + f"; last error: {self.stats.last_error}"
                + (f"; state not set: {state_error}" if state_error else ""),
                undelivered=undelivered + refused,
                url=self.url,
            ) from state_error
        if state_error is not None:
            raise state_error

    def _at_exit(self) -> None:
        state: FinalState = "crashed" if getattr(sys, "last_value", None) else "finished"
        try:
            self.finish(state)
        except Exception as exc:
            # At exit there is no caller left to raise to: say it on stderr.
            print(f"coreport: could not finish run {self.id}: {exc}", file=sys.stderr)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.finish("finished")
            return
        state: FinalState = "crashed" if issubclass(exc_type, KeyboardInterrupt) else "failed"
        try:
            self.finish(state)
        except CoreportError as failure:
            # The exception on its way out matters more; this one is logged, not raised.
            log.error("run %s: finishing as %s failed too: %s", self.id, state, failure)

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, project={self.project!r}, name={self.name!r})"


def _number(value: Any) -> float | None:
    if isinstance(value, bool | str | bytes):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item):
        inner = item()
        if isinstance(inner, numbers.Real) and not isinstance(inner, bool):
            return float(inner)
    return None
