"""Reports opened, edited and unloaded leave nothing behind in a real server process: after
300 reports the live rooms and pycrdt documents are back to (nearly) none, and the number of
live Python objects stays flat (tests/reliability/memory.py counts them in the process).

Before the fix every unloaded room and its document stayed alive (pycrdt's observer holds
the document out of the garbage collector's sight): 600 of each after 300 reports, and
about 3,700 more live objects per 100 reports.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.memory import DOC, ROOM, probed

pytestmark = pytest.mark.timeout(240)

#: The in-process bus's delivery task holds the listeners of the last message it delivered
#: until the next one: one room (and its document) may stay alive while a server is idle.
LAST_DELIVERY = 1
#: Live objects may move with caches and timers (automatic versions keep a small record
#: per edited report for a minute); a leak of one room per report adds about 37 per report.
OBJECT_SLACK = 2_000


async def test_unloaded_reports_leave_no_rooms_or_documents_behind(tmp_path: Path) -> None:
    async with probed(tmp_path, clustered=False) as memory:
        (warm,) = await memory.round(100)
        for _ in range(2):
            (now,) = await memory.round(100)
            print(
                f"{memory.reports} reports: {now.count(ROOM)} rooms, {now.count(DOC)} docs, "
                f"{now.objects} objects, RSS {now.rss_kib / 1024:.1f} MiB; "
                f"grew: {now.growth[:5]}"
            )
            assert now.count(ROOM) <= LAST_DELIVERY
            assert now.count(DOC) <= LAST_DELIVERY
        assert now.objects - warm.objects < OBJECT_SLACK
        assert not memory.failures
