"""The production :data:`~coreport.ports.MergeUpdates`: Yrs merges Yjs updates, in groups
(see :mod:`coreport.protocol.merge`)."""

from __future__ import annotations

from coreport.protocol.merge import merge_updates

__all__ = ["merge_updates"]
