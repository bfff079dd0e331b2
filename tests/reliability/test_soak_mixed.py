"""The short form of the mixed-load soak (``python -m tests.reliability.soak --minutes 10``):
30 s of latency probes, churning clients, REST edits and comments and convergence seeds on
two instances (PostgreSQL + Redis), with the same checks under loose bounds: memory and
non-WebSocket descriptors flat in the second half, latency p99 of the last third within a
bound of the first third's, every edit everywhere at the end, nothing left behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.load_figures import LOOSE
from tests.reliability.mixed import Load, soak_two_instances

pytestmark = pytest.mark.timeout(180)


async def test_thirty_seconds_of_mixed_load_on_two_instances(tmp_path: Path) -> None:
    lines: list[str] = []

    def show(text: str) -> None:
        lines.append(text)
        print(text)

    problems = await soak_two_instances(tmp_path, 30, 5, LOOSE, Load(), show)
    assert not problems, "\n".join(lines)
