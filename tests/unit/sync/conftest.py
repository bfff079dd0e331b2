"""The in-memory store the room and registry tests share, fresh for each test (the clock
and the bus come from tests/unit/conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.fakes import MemoryStore


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()
