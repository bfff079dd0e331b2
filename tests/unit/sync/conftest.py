"""Fakes the room and registry tests share: an in-memory store, a recording bus and a
manual clock, fresh for each test."""

from __future__ import annotations

import pytest

from tests.support.fakes import ManualClock, MemoryStore, RecordingBus


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
