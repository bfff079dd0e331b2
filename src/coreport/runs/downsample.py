"""Fit a metric series into a point budget without hiding its spikes: min/max per bucket.

A chart a few hundred pixels wide cannot show a million points, but averaging them away
would hide exactly what people look for (a loss spike, a divergence). So the points between
the first and the last are cut into equal-count buckets, and each bucket keeps its lowest
and its highest point, in step order. The first and last points, and the series' global
minimum and maximum, always survive.

Pure Python on plain sequences: no I/O, easy to property-test.
"""

from __future__ import annotations

from collections.abc import Sequence

from coreport.runs.ports import Series


def min_max_indices(values: Sequence[float], max_points: int) -> list[int]:
    """Ascending indices of the points of ``values`` to keep, at most ``max_points``.

    Every index is kept when they fit. Otherwise the first and last are kept and the rest are
    split into ``(max_points - 2) // 2`` buckets of near-equal size, each keeping the index of
    its minimum and of its maximum (once when they coincide). Budgets below 4 keep only the
    global minimum and maximum.
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, not {max_points}")
    count = len(values)
    if count <= max_points:
        return list(range(count))
    values = list(values)
    buckets = (max_points - 2) // 2
    if buckets == 0:
        return sorted({_argmin(values, 0, count), _argmax(values, 0, count)})
    inner = count - 2
    kept = [0]
    for bucket in range(buckets):
        start = 1 + bucket * inner // buckets
        stop = 1 + (bucket + 1) * inner // buckets
        if start == stop:
            continue
        kept.extend(sorted({_argmin(values, start, stop), _argmax(values, start, stop)}))
    kept.append(count - 1)
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
