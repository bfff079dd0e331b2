"""Compaction's merge: small inputs in place, large ones in a child process."""

from __future__ import annotations

import asyncio
import multiprocessing
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
