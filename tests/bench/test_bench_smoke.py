"""The benchmark harness in its quickest form, against coreport and the reference server.

It checks that the harness works end to end (figures come out, nothing is lost); it sets no
speed targets, which are figures to read, not tests to pass.
"""

from __future__ import annotations

import shutil

import pytest

from tests.bench import run
from tests.support.services import service_unavailable

SMOKE = {
    "S1": {**run.QUICK["S1"], "warmup": 0.5, "duration": 2},
    "S5": {"edits": 2000, "syncs": 2},
}


@pytest.mark.node
@pytest.mark.timeout(90)
def test_harness_produces_figures_for_both_servers() -> None:
    if shutil.which("node") is None:
        service_unavailable("node", "no `node` on PATH")
    if not run.REFERENCE_SCRIPT.exists():
        service_unavailable("@y/websocket-server", f"run `npm ci` in {run.BENCH_DIR}")

    report = run.run_benchmark(["S1", "S5"], params=SMOKE, repeat=1)

    for server in ("coreport", run.REFERENCE):
        s1 = report.outcomes[("S1", server)][0]
        assert s1.ok, f"S1 on {server}: {s1.error}"
        assert s1.details["lost"] == 0
        assert s1.details["samples"] > 0
        assert s1.details["received"] == s1.details["expected"] > 0
        assert s1.figures["p99_ms"] >= s1.figures["p50_ms"] > 0

        s5 = report.outcomes[("S5", server)][0]
        assert s5.ok, f"S5 on {server}: {s5.error}"
        # loadgen checks that every new client's text equals the writer's.
        assert s5.details["edits"] == 2000
        assert len(s5.details["sync_ms_all"]) == 2
        assert s5.figures["sync_ms"] > 0

    table = run.format_table(report)
    assert "FAILED" not in table
    assert "coreport/reference" in table
