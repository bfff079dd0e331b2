"""Compaction's merge: small inputs in place, large ones in a child process."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import select
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest
from pycrdt import Doc, Text, merge_updates

from coreport.sync.merging import MergeProcess


def _updates(count: int, size: int) -> list[bytes]:
    doc: Doc = Doc()
    doc["t"] = text = Text()
    updates = []
    for n in range(count):
        before = doc.get_state()
        text += f"{n:04d}" + "x" * size
        updates.append(doc.get_update(before))
    return updates


async def test_large_merges_run_in_a_child_and_equal_yrs_own() -> None:
    merge = MergeProcess(in_process_bytes=10_000)
    try:
        small = _updates(5, 10)
        assert merge(small) == merge_updates(*small)
        assert multiprocessing.active_children() == []  # small: merged in place
        large = _updates(50, 1_000)
        # From a worker thread, as the stores call it; the event loop stays free meanwhile.
        assert await asyncio.to_thread(merge, large) == merge_updates(*large)
        (child,) = multiprocessing.active_children()
        assert await asyncio.to_thread(merge, large[:20]) == merge_updates(*large[:20])
        assert multiprocessing.active_children() == [child]  # one long-lived child
    finally:
        merge.close()
    assert multiprocessing.active_children() == []
    assert merge(large) == merge_updates(*large)  # closed: in place from now on


async def test_a_dead_child_is_replaced_on_the_next_merge() -> None:
    merge = MergeProcess(in_process_bytes=0)
    try:
        updates = _updates(3, 100)
        assert merge(updates) == merge_updates(*updates)
        (child,) = multiprocessing.active_children()
        child.kill()
        child.join()
        with pytest.raises(BrokenProcessPool):
            merge(updates)  # this compaction fails (and is retried later)...
        assert merge(updates) == merge_updates(*updates)  # ...in a new child
    finally:
        merge.close()


_PARENT = """
import sys
from coreport.sync.merging import MergeProcess
merge = MergeProcess(in_process_bytes=0)
merge([bytes.fromhex(sys.argv[1])])
import multiprocessing
print(multiprocessing.active_children()[0].pid, flush=True)
sys.stdin.read()
"""


async def _readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    loop.add_reader(fd, ready.set_result, None)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def test_the_child_ends_when_the_server_is_killed() -> None:
    """A server killed with SIGKILL cannot shut its pool down: the child sees its lifeline
    close and exits, rather than staying behind."""
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _PARENT,
        _updates(1, 10)[0].hex(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert server.stdout is not None
    child = int(await asyncio.wait_for(server.stdout.readline(), 30))
    # The child is not ours to wait for; its pidfd (Linux) becomes readable when it exits.
    pidfd = os.pidfd_open(child)
    try:
        assert select.select([pidfd], [], [], 0)[0] == []  # running
        server.kill()
        # Bounded: the child holds the server's stdout, so this waits for the child too.
        await asyncio.wait_for(server.wait(), 10)
        await asyncio.wait_for(_readable(pidfd), 10)  # else it outlived its server
    finally:
        if not select.select([pidfd], [], [], 0)[0]:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)  # do not leave it behind
        os.close(pidfd)


def _scattered_updates(count: int) -> list[bytes]:
    """``count`` small inserts at scattered places: Yrs takes seconds to merge 20,000."""
    doc: Doc = Doc()
    doc["t"] = text = Text()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for n in range(count):
        text.insert((n * 7919) % (len(text) + 1), "ab")
    return updates


def test_a_merge_that_close_overtakes_before_the_child_has_it_is_stopped_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """close() between handing out the pool and the child taking the merge: the pool
    refuses or cancels it, and the caller is told as for a merge the child had."""
    merge = MergeProcess(in_process_bytes=0)
    small = _updates(3, 100)
    assert merge(small) == merge_updates(*small)
    take = merge._take

    def take_then_close() -> ProcessPoolExecutor | None:
        pool = take()
        merge.close()
        return pool

    monkeypatch.setattr(merge, "_take", take_then_close)
    try:
        with pytest.raises(BrokenProcessPool):
            merge(small)
        assert multiprocessing.active_children() == []
    finally:
        merge.close()


async def test_close_stops_a_merge_in_flight_instead_of_waiting_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At shutdown the compaction that asked for a merge has been cancelled: nothing
    waits for its result, and a large document's merge can take tens of seconds."""
    merge = MergeProcess(in_process_bytes=0)
    small = _updates(3, 100)
    assert merge(small) == merge_updates(*small)  # the child is up and has sent its pid
    handed = threading.Event()
    take = merge._take

    def take_and_tell() -> ProcessPoolExecutor | None:
        pool = take()
        handed.set()  # counted as the child's: close() sees it from here on
        return pool

    monkeypatch.setattr(merge, "_take", take_and_tell)
    merging = asyncio.create_task(asyncio.to_thread(merge, _scattered_updates(20_000)))
    try:
        assert await asyncio.to_thread(handed.wait, 30)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.to_thread(merge.close)
        closed_after = loop.time() - started
        with pytest.raises(BrokenProcessPool):
            await merging  # stopped, not finished
        assert multiprocessing.active_children() == []
        assert closed_after < 5
    finally:
        merge.close()
        await asyncio.gather(merging, return_exceptions=True)
