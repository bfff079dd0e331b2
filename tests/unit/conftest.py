"""Fakes that unit tests across packages share: a manual clock and a recording bus, fresh
for each test."""

from __future__ import annotations

import pytest

from tests.support.fakes import ManualClock, RecordingBus


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()
