"""Compaction's merge, in a child process once its input is large."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection

from coreport.protocol.merge import merge_updates

#: How long :meth:`MergeProcess.close` waits for a starting child's pid.
_PID_WAIT_SECONDS = 1.0


def _exit_with(lifeline: Connection) -> None:
    """Run in the child: tell the server the child's pid (see :meth:`MergeProcess.close`),
    then end the child once the server is gone (killed with no chance to shut the pool
    down), instead of leaving it behind waiting for work. The server holds the other end
    of ``lifeline`` and never writes to it: reading returns, with end-of-file, only once
    the server's end is closed, by the server or by its death."""
    lifeline.send_bytes(str(os.getpid()).encode())

    def watch() -> None:
        try:
            lifeline.recv_bytes()  # raises EOFError once the server's end is closed
        finally:
            os._exit(0)

    threading.Thread(target=watch, name="coreport-merge-lifeline", daemon=True).start()


class MergeProcess:
    """:func:`merge_updates` for compaction, in a child process once the input is large.

    Yrs holds the GIL while it merges, and a merge takes time with the document: folding
    500 rows into a 250 KB snapshot takes about 5 ms, 2,000 rows into a 1 MB one about
    12. On a thread of the server that stops the event loop, so every room on the
    instance, for as long. Small inputs merge in place (sending them to the child would
    cost more); large ones in one long-lived child process, started on first use.
    Callable from any thread; :meth:`close` ends the child.
    """

    def __init__(self, in_process_bytes: int = 64 * 1024) -> None:
        self._in_process_bytes = in_process_bytes
        self._pool: ProcessPoolExecutor | None = None
        # The server's end of the child's lifeline (see ``_exit_with``).
        self._lifeline: Connection | None = None
        self._lock = threading.Lock()
        self._closed = False
        # Merges in the child's hands now.
        self._merging = 0

    def __call__(self, updates: Sequence[bytes]) -> bytes:
        if sum(len(u) for u in updates) <= self._in_process_bytes:
            return merge_updates(updates)
        pool = self._take()
        if pool is None:
            return merge_updates(updates)
        try:
            return pool.submit(merge_updates, list(updates)).result()
        except BrokenProcessPool:
            # The child died (killed, out of memory): start another next time.
            with self._lock:
                if self._pool is pool:
                    self._let_go()
            raise
        except (CancelledError, RuntimeError) as exc:
            # close() came after the pool was handed out but before the child took the
            # merge: the pool refused it (shut down) or cancelled it. Stopped, like a
            # merge in the child's hands, and told the same way.
            if not self._closed:
                raise
            raise BrokenProcessPool("the merge process was closed") from exc
        finally:
            with self._lock:
                self._merging -= 1

    def _take(self) -> ProcessPoolExecutor | None:
        """The child's pool (started on first use) with one more merge counted as in its
        hands, under the lock that :meth:`close` reads the count under, so close never
        misses a merge already handed out; ``None`` once closed."""
        with self._lock:
            if self._closed:
                return None
            if self._pool is None:
                # "spawn": the server has threads, which a forked child must not inherit.
                context = multiprocessing.get_context("spawn")
                child_end, self._lifeline = context.Pipe()
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=context,
                    initializer=_exit_with,
                    initargs=(child_end,),
                )
            self._merging += 1
            return self._pool

    def _let_go(self) -> None:
        """Forget the pool and close the lifeline (the caller holds the lock)."""
        self._pool = None
        lifeline, self._lifeline = self._lifeline, None
        if lifeline is not None:
            lifeline.close()

    def close(self) -> None:
        """End the child process; later merges run in place.

        A merge in flight is not waited for: the child is stopped. By the time the server
        closes this, the compaction that asked for the merge has been cancelled, and its
        rows stay as they were; a merge of a large document can take seconds, which a
        shutdown should not wait for.
        """
        with self._lock:
            self._closed = True
            pool, lifeline, merging = self._pool, self._lifeline, self._merging
        if pool is not None:
            if merging and lifeline is not None:
                _stop_child(lifeline)
            pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._let_go()


def _stop_child(lifeline: Connection) -> None:
    """Stop the child whose pid came through ``lifeline`` (waiting a moment for a child
    still starting to send it; without it the pool's shutdown waits for the merge)."""
    if lifeline.poll(_PID_WAIT_SECONDS):
        os.kill(int(lifeline.recv_bytes()), signal.SIGTERM)
