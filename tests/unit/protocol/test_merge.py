"""Merging Yjs updates in groups gives what one merge of them all gives: the same bytes,
with and without a snapshot among them, across group boundaries, with content still
waiting for what it builds on, and the same refusal of what is not an update."""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest
from pycrdt import Doc, Text

from coreport.protocol.merge import GROUP, merge_updates
from tests.contract.ydocs import writers_edits


def _edits(count: int, writers: int = 4, seed: int = 0) -> list[bytes]:
    """Writers typing one piece at a time at random places, some edits deleting or
    formatting instead."""
    return writers_edits(count, writers=writers, seed=seed, run=1, others=0.2)


def _text_of(update: bytes) -> str:
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    return str(doc.get("t", type=Text))


@pytest.mark.parametrize("count", [1, 2, GROUP, GROUP + 1, 3 * GROUP + 5, GROUP * GROUP + 3])
def test_grouped_merge_gives_the_bytes_of_one_merge(count: int) -> None:
    updates = _edits(count, seed=count)
    merged = merge_updates(updates)
    assert merged == pycrdt.merge_updates(*updates)
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    assert _text_of(merged) == str(doc.get("t", type=Text))


def test_a_snapshot_merges_with_the_rows_that_followed_it_as_in_one_merge() -> None:
    updates = _edits(1500, seed=7)
    snapshot = pycrdt.merge_updates(*updates[:1000])
    rows = updates[1000:]
    # The snapshot, the largest input, anywhere among the rows.
    for parts in ([snapshot, *rows], [*rows[:200], snapshot, *rows[200:]], [*rows, snapshot]):
        assert merge_updates(parts) == pycrdt.merge_updates(snapshot, *rows)


def test_content_waiting_for_what_it_builds_on_merges_as_in_one_merge() -> None:
    """A row missing from the middle leaves the later rows of its writer unable to apply;
    grouped or not, the merge carries them the same way (what Yrs later makes of such a
    merge is its own: docs/reliability.md)."""
    updates = _edits(4 * GROUP, writers=1, seed=3)
    present = updates[: GROUP + 7] + updates[GROUP + 8 :]
    merged = merge_updates(present)
    assert merged == pycrdt.merge_updates(*present)
    assert len(merged) > len(pycrdt.merge_updates(*updates[: GROUP + 7]))


@pytest.mark.parametrize("count", [3, 2 * GROUP + 1])
def test_what_is_not_an_update_is_refused(count: int) -> None:
    updates = _edits(count)
    updates[count // 2] = b"\xff\xff\xff not an update"
    with pytest.raises(ValueError, match="Cannot merge updates"):
        merge_updates(updates)
