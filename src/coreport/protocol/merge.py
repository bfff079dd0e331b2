"""Merging Yjs updates into one, in groups.

Yrs's merge grows much faster than the number of updates it is given: a 0.7 MB snapshot
and the 10,000 small rows that followed it merge in 520-630 ms in one call, but in 23-28
ms when the rows are merged 64 at a time, those results in turn, and the snapshot only
with the last of them (500 rows: 11 against 9-10 ms). Merging is associative, and the
groups give the very bytes the single call does (tests/unit/protocol/test_merge.py
compares them), so :func:`merge_updates` always merges this way.
"""

from __future__ import annotations

from collections.abc import Sequence

import pycrdt

#: How many updates one call of Yrs's merge takes.
GROUP = 64


def merge_updates(updates: Sequence[bytes]) -> bytes:
    """Merge Yjs updates (in any order) into one update that has the effect of them all.

    The largest input (a compaction's snapshot) is merged once, in the last call; the
    others in groups of :data:`GROUP`, and their results in groups, until one group is
    left. Raises :class:`ValueError` when an input is not a Yjs update.
    """
    if len(updates) <= GROUP:
        return pycrdt.merge_updates(*updates)
    largest = max(range(len(updates)), key=lambda i: len(updates[i]))
    rest = [update for i, update in enumerate(updates) if i != largest]
    while len(rest) >= GROUP:
        rest = [pycrdt.merge_updates(*rest[i : i + GROUP]) for i in range(0, len(rest), GROUP)]
    return pycrdt.merge_updates(updates[largest], *rest)
