"""Handing freed memory back to the operating system.

Rooms that rest or unload free their Yrs documents, a dozen KiB and more each, spread
over pages that other allocations still share. glibc's allocator keeps such memory for
reuse, so the process's resident size (what a container limit counts) stays at its peak.
``malloc_trim(0)`` returns every free page to the system. Elsewhere (musl, macOS) there
is no such call and this does nothing.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable


def _find_malloc_trim() -> Callable[[int], int] | None:
    # The symbols the process already has loaded (the C library among them): no search
    # of the library path, which ``ctypes.util.find_library`` does by running ``ldconfig``.
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _find_malloc_trim()


def trim() -> float:
    """Return free heap pages to the system; the seconds it took (0.0 where it cannot)."""
    if _MALLOC_TRIM is None:
        return 0.0
    started = time.perf_counter()
    _MALLOC_TRIM(0)
    return time.perf_counter() - started
