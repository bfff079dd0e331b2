"""How the compaction and awareness settings reach the rooms' policy."""

from __future__ import annotations

from coreport.settings import Settings
from coreport.web.app import room_policy


def test_compaction_settings_reach_the_room_policy() -> None:
    policy = room_policy(
        Settings(compact_every_updates=100, compact_log_ratio=0.25, compact_max_updates=900)
    )
    assert (policy.compact_every_updates, policy.compact_log_ratio) == (100, 0.25)
    assert policy.compact_max_updates == 900


def test_the_row_cap_is_never_below_the_count_that_starts_a_compaction() -> None:
    # A cap below the count would compact on it alone, undoing the ratio.
    policy = room_policy(Settings(compact_every_updates=5000, compact_max_updates=2000))
    assert policy.compact_max_updates == 5000


def test_the_defaults_weigh_the_log_against_the_snapshot() -> None:
    policy = room_policy(Settings())
    assert policy.compact_every_updates == 500
    assert policy.compact_log_ratio == 0.5
    assert policy.compact_max_updates == 2000


def test_awareness_is_throttled_by_default_and_the_interval_is_a_setting() -> None:
    assert room_policy(Settings()).awareness_interval_seconds == 0.02
    assert room_policy(Settings(awareness_interval_seconds=0)).awareness_interval_seconds == 0
    assert room_policy(Settings(awareness_interval_seconds=0.1)).awareness_interval_seconds == 0.1
