"""The production :data:`~coreport.ports.MergeUpdates`: Yrs merges Yjs updates."""

from __future__ import annotations

from collections.abc import Sequence

import pycrdt


def merge_updates(updates: Sequence[bytes]) -> bytes:
    """Merge Yjs updates (in any order) into one update that has the effect of them all.

    Raises :class:`ValueError` when an input is not a Yjs update.
    """
    return pycrdt.merge_updates(*updates)
