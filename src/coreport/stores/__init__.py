"""Concrete stores: :class:`SQLiteStore` (embedded default) and :class:`PostgresStore`.

Only the composition root picks one; the rest of coreport sees :class:`coreport.ports.Store`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coreport.stores.merge import merge_updates
from coreport.stores.postgres import PostgresStore
from coreport.stores.sqlite import SQLiteStore

__all__ = ["PostgresStore", "SQLiteStore", "merge_updates"]

if TYPE_CHECKING:
    from pathlib import Path

    from coreport.ports import MergeUpdates, Store

    # mypy proves here that both stores and the merge function satisfy the ports.
    def _conforms(path: Path, dsn: str) -> tuple[Store, Store, MergeUpdates]:
        return SQLiteStore(path), PostgresStore(dsn), merge_updates
