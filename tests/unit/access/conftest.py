"""An access service on a real SQLite access store in the test's directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coreport.access.service import AccessService
from coreport.stores.sqlite_access import SQLiteAccessStore
from tests.support.fakes import ManualClock, RecordingBus


@pytest.fixture
async def access(
    tmp_path: Path, clock: ManualClock, bus: RecordingBus
) -> AsyncIterator[AccessService]:
    store = SQLiteAccessStore(tmp_path / "coreport.sqlite3")
    await store.open()
    service = AccessService(store, clock, bus)
    await service.start()
    try:
        yield service
    finally:
        await store.close()
