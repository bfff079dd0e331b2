"""Memory probe for a ``coreport serve`` process under test (never used in production).

Put this directory on ``PYTHONPATH`` and set ``COREPORT_MEMPROBE=DIR``; Python then imports
this module at start-up. Each SIGUSR2 makes the process run a full garbage collection and
write ``DIR/PID-N.json`` (its process id; N = 1, 2, ...; written under a temporary name and
renamed, so a reader never sees half a file) holding:

* ``rss_kib``: the resident set size after the collection;
* ``types``: live garbage-collected objects per type (module.qualname), and ``growth``:
  the types whose count changed most since the previous dump;
* ``traced``: when tracemalloc is tracing (``PYTHONTRACEMALLOC=25``), the total traced
  bytes and the source lines whose allocations grew most since the previous dump;
* ``trimmed_rss_kib``: with ``COREPORT_MEMPROBE_TRIM=1``, the RSS after glibc's
  ``malloc_trim(0)`` returned free heap pages to the system (what RSS would be if the
  allocator kept nothing in reserve).

``tests/reliability/soak.py --probe`` drives it. The work runs inside the signal handler,
on the main thread between two bytecodes of the event loop, so the counts are consistent.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import gc
import json
import os
import signal
import tracemalloc
from pathlib import Path
from types import FrameType
from typing import Any

_TOP = 15


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def _type_counts() -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for obj in gc.get_objects():
        kind = type(obj)
        counts[f"{kind.__module__}.{kind.__qualname__}"] += 1
    return counts


class _Probe:
    def __init__(self, directory: Path, trim: bool) -> None:
        self._directory = directory
        self._trim = trim
        self._dumps = 0
        self._types: collections.Counter[str] = collections.Counter()
        self._snapshot: tracemalloc.Snapshot | None = None

    def dump(self, _signum: int, _frame: FrameType | None) -> None:
        gc.collect()
        types = _type_counts()
        changed = {name: types[name] - self._types[name] for name in types | self._types}
        growth = sorted(changed.items(), key=lambda item: -abs(item[1]))[:_TOP]
        report: dict[str, Any] = {
            "rss_kib": _rss_kib(),
            "objects": sum(types.values()),
            "growth": [[name, delta, types[name]] for name, delta in growth if delta],
            "types": dict(types.most_common()),
        }
        self._types = types
        if tracemalloc.is_tracing():
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            report["traced_bytes"] = tracemalloc.get_traced_memory()[0]
            if self._snapshot is not None:
                stats = snapshot.compare_to(self._snapshot, "traceback")[:_TOP]
                report["traced_growth"] = [
                    {
                        "size_diff": stat.size_diff,
                        "count_diff": stat.count_diff,
                        "traceback": stat.traceback.format(limit=6),
                    }
                    for stat in stats
                ]
            self._snapshot = snapshot
        if self._trim:
            libc = ctypes.CDLL(ctypes.util.find_library("c"))
            libc.malloc_trim(0)
            report["trimmed_rss_kib"] = _rss_kib()
        self._dumps += 1
        target = self._directory / f"{os.getpid()}-{self._dumps}.json"
        scratch = target.with_suffix(".tmp")
        scratch.write_text(json.dumps(report))
        scratch.rename(target)


def _install() -> None:
    directory = os.environ.get("COREPORT_MEMPROBE")
    if not directory:
        return
    probe = _Probe(Path(directory), os.environ.get("COREPORT_MEMPROBE_TRIM") == "1")
    signal.signal(signal.SIGUSR2, probe.dump)


_install()
