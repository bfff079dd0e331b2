"""Compaction's merge, in a child process once its input is large."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pycrdt


def merge_updates(updates: Sequence[bytes]) -> bytes:
    """Merge Yjs updates into one (a top-level function: the child process runs it)."""
    return pycrdt.merge_updates(*updates)


def _exit_with(parent: int) -> None:
    """Run in the child: end it once ``parent`` is gone (killed with no chance to shut the
    pool down), instead of leaving it behind waiting for work."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="coreport-merge-parent", daemon=True).start()


class MergeProcess:
    """:func:`merge_updates` for compaction, in a child process once the input is large.

    Yrs holds the GIL while it merges, and its merge grows faster than its input: folding
    500 rows into a 250 KB snapshot takes about 5 ms, and a larger document or log takes
    tens. On a thread of the server that stops the event loop, so every room on the
    instance, for as long. Small inputs merge in place (sending them to the child would
    cost more); large ones in one long-lived child process, started on first use.
    Callable from any thread; :meth:`close` ends the child.
    """

    def __init__(self, in_process_bytes: int = 64 * 1024) -> None:
        self._in_process_bytes = in_process_bytes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, updates: Sequence[bytes]) -> bytes:
        if sum(len(u) for u in updates) <= self._in_process_bytes:
            return merge_updates(updates)
        pool = self._started()
        if pool is None:
            return merge_updates(updates)
        try:
            return pool.submit(merge_updates, list(updates)).result()
        except BrokenProcessPool:
            # The child died (killed, out of memory): start another next time.
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            raise

    def _started(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._closed:
                return None
            if self._pool is None:
                # "spawn": the server has threads, which a forked child must not inherit.
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=context,
                    initializer=_exit_with,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def close(self) -> None:
        """End the child process (waiting for a merge in flight); later merges run in
        place."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._closed = True
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
