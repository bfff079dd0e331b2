"""Randomized convergence: seeded runs of clients editing text, maps, XML and comments over
real server processes, with disconnects, offline edits, reconnects to another instance and
compaction every 20 updates. A failing seed prints the command that replays it.

``COREPORT_SEED=n`` runs that one seed; ``COREPORT_SOAK=1`` runs 1,000 seeds per variant
(see also ``python -m tests.reliability.soak``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.reliability.scenario import SERVER_ENV, run_seeds
from tests.support.cluster import cluster
from tests.support.server import ServerProcess

pytestmark = pytest.mark.asyncio(loop_scope="module")

BATCH = 50


def batches(ci_seeds: int, first: int) -> list[list[int]]:
    """The seed batches of one variant: one test each, so each stays within its timeout."""
    if "COREPORT_SEED" in os.environ:
        return [[int(os.environ["COREPORT_SEED"])]]
    total = 1000 if os.environ.get("COREPORT_SOAK") == "1" else ci_seeds
    seeds = list(range(first, first + total))
    return [seeds[i : i + BATCH] for i in range(0, total, BATCH)]


def batch_id(seeds: list[int]) -> str:
    return f"seeds{seeds[0]}-{seeds[-1]}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def embedded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[list[str]]:
    server = ServerProcess(tmp_path_factory.mktemp("embedded"), env=SERVER_ENV).start()
    try:
        yield [server.ws_base]
    finally:
        server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def two_instances(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[list[str]]:
    async with cluster(tmp_path_factory.mktemp("cluster"), 2, env=SERVER_ENV) as c:
        yield [c.ws(0), c.ws(1)]


async def check(seeds: list[int], ws_bases: list[str], test_name: str) -> None:
    summary = await run_seeds(seeds, ws_bases, f"conv-{secrets.token_hex(3)}-", test_name)
    print(f"{test_name} {batch_id(seeds)}: {summary.line()}")
    assert not summary.failures, "\n".join(
        f"seed {seed}: {failure}" for seed, failure in sorted(summary.failures.items())
    )
    assert summary.edits > 0


@pytest.mark.timeout(300)
@pytest.mark.parametrize("seeds", batches(200, 0), ids=batch_id)
async def test_embedded_converges(seeds: list[int], embedded: list[str]) -> None:
    await check(seeds, embedded, "embedded_converges")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(300)
@pytest.mark.parametrize("seeds", batches(400, 100_000), ids=batch_id)
async def test_two_instances_converge(seeds: list[int], two_instances: list[str]) -> None:
    await check(seeds, two_instances, "two_instances_converge")
