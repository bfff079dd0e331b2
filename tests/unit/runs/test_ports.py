"""The runs port's rule for a read with a budget (min/max per bucket): budget, order,
extremes, and the bucket layout the stores follow."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coreport.runs.ports import Buckets, Series, buckets, downsample, min_max_indices

finite = st.floats(allow_nan=False, allow_infinity=False, width=32)


def test_a_series_within_budget_is_returned_whole() -> None:
    series = Series([0, 1, 2], [3.0, 1.0, 2.0], [10.0, 11.0, 12.0])
    assert downsample(series, 3) is series
    assert min_max_indices([], 10) == []


def test_a_spike_survives_downsampling() -> None:
    values = [1.0] * 10_000
    values[4321] = 50.0
    values[7777] = -3.0
    kept = min_max_indices(values, 100)
    assert len(kept) <= 100
    assert {0, 4321, 7777, 9999} <= set(kept)


def test_the_kept_points_keep_their_step_and_timestamp() -> None:
    steps = list(range(0, 2000, 2))
    values = [float((i * 37) % 101) for i in range(len(steps))]
    series = Series(steps, values, [float(step) + 0.5 for step in steps])
    small = downsample(series, 50)
    assert len(small.steps) <= 50
    for step, value, timestamp in zip(small.steps, small.values, small.timestamps, strict=True):
        assert values[steps.index(step)] == value
        assert timestamp == step + 0.5


def test_tiny_budgets_keep_the_global_extremes() -> None:
    assert min_max_indices([5.0, 9.0, 1.0, 4.0, 7.0], 3) == [1, 2]
    assert min_max_indices([5.0, 5.0, 5.0], 2) == [0]


def test_a_budget_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        min_max_indices([1.0, 2.0, 3.0], 1)


@given(values=st.lists(finite, max_size=400), budget=st.integers(min_value=2, max_value=60))
def test_properties(values: list[float], budget: int) -> None:
    kept = min_max_indices(values, budget)
    assert len(kept) <= budget
    assert kept == sorted(set(kept))
    assert all(0 <= index < len(values) for index in kept)
    if values:
        kept_values = [values[index] for index in kept]
        assert min(values) in kept_values
        assert max(values) in kept_values
    if len(values) <= budget:
        assert kept == list(range(len(values)))
    elif budget >= 4:
        assert kept[0] == 0
        assert kept[-1] == len(values) - 1


@given(count=st.integers(min_value=0, max_value=5_000), budget=st.integers(2, 1_200))
def test_the_buckets_cover_the_points_between_the_ends_without_gaps(
    count: int, budget: int
) -> None:
    """What a store that reduces a series itself follows: non-empty ranges, in order,
    covering every point but the kept ends."""
    layout = buckets(count, budget)
    if count <= budget:
        assert layout is None
        return
    assert layout is not None
    covered = (1, count - 1) if layout.keeps_ends else (0, count)
    assert layout.keeps_ends == (budget >= 4)
    assert layout.ranges[0][0] == covered[0]
    assert layout.ranges[-1][1] == covered[1]
    assert all(start < stop for start, stop in layout.ranges)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(layout.ranges))
    assert 2 * len(layout.ranges) + 2 * layout.keeps_ends <= budget


def test_a_small_budget_has_one_bucket_of_every_point() -> None:
    assert buckets(5, 3) == Buckets([(0, 5)], keeps_ends=False)
    assert buckets(10, 6) == Buckets([(1, 5), (5, 9)], keeps_ends=True)
