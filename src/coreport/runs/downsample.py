"""Fit a metric series into a point budget without hiding its spikes: min/max per bucket.

A chart a few hundred pixels wide cannot show a million points, but averaging them away
would hide exactly what people look for (a loss spike, a divergence). So the points between
the first and the last are cut into equal-count buckets, and each bucket keeps its lowest
and its highest point, in step order. The first and last points, and the series' global
minimum and maximum, always survive.

Pure Python on plain sequences: no I/O, easy to property-test. The run stores apply the same
rule where the points are (:func:`buckets` says where each bucket starts and ends), so that a
chart of a long run does not carry every point into Python; the contract tests hold them to
:func:`min_max_indices`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coreport.runs.ports import Series


@dataclass(frozen=True, slots=True)
class Buckets:
    """Where the min and max are taken when ``count`` points exceed a budget: the
    half-open index ranges, in order, and whether the first and last points are kept
    besides (they are, unless the budget is below 4)."""

    ranges: list[tuple[int, int]]
    keeps_ends: bool


def buckets(count: int, max_points: int) -> Buckets | None:
    """The buckets that fit ``count`` points into ``max_points``, or ``None`` when every
    point fits. The points between the first and the last are split into
    ``(max_points - 2) // 2`` ranges of near-equal size; budgets below 4 have one range,
    all of the points. A store that reduces a series itself follows these ranges."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, not {max_points}")
    if count <= max_points:
        return None
    inner_buckets = (max_points - 2) // 2
    if inner_buckets == 0:
        return Buckets([(0, count)], keeps_ends=False)
    inner = count - 2
    # count > max_points >= 2 * inner_buckets + 2, so no range is empty.
    return Buckets(
        [
            (1 + bucket * inner // inner_buckets, 1 + (bucket + 1) * inner // inner_buckets)
            for bucket in range(inner_buckets)
        ],
        keeps_ends=True,
    )


def min_max_indices(values: Sequence[float], max_points: int) -> list[int]:
    """Ascending indices of the points of ``values`` to keep, at most ``max_points``:
    every index when they fit, otherwise the index of the minimum and of the maximum of
    each of the :func:`buckets` (once when they coincide, the first of equal values),
    and the first and last index when the buckets keep the ends."""
    layout = buckets(len(values), max_points)
    if layout is None:
        return list(range(len(values)))
    values = list(values)
    kept = [0] if layout.keeps_ends else []
    for start, stop in layout.ranges:
        kept.extend(sorted({_argmin(values, start, stop), _argmax(values, start, stop)}))
    if layout.keeps_ends:
        kept.append(len(values) - 1)
    return kept


def downsample(series: Series, max_points: int) -> Series:
    """``series`` reduced to at most ``max_points`` points by :func:`min_max_indices`."""
    keep = min_max_indices(series.values, max_points)
    if len(keep) == len(series.values):
        return series
    return Series(
        steps=[series.steps[i] for i in keep],
        values=[series.values[i] for i in keep],
        timestamps=[series.timestamps[i] for i in keep],
    )


def _argmin(values: list[float], start: int, stop: int) -> int:
    # Slicing and list.index run in C: far faster than min(range(...), key=...) in a loop.
    chunk = values[start:stop]
    return start + chunk.index(min(chunk))


def _argmax(values: list[float], start: int, stop: int) -> int:
    chunk = values[start:stop]
    return start + chunk.index(max(chunk))
