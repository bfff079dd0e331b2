"""Which runs a report's run sets draw on, as of now: for the run references a version
records, and for the data tables of static renderings (Markdown, HTML).

A run set draws its ``run_ids`` plus the runs of its project its ``filters`` match; one
with ``run_ids`` and no filters is just those runs, one with neither is every run of its
project.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from coreport.reports.blocks import Block, Panel, PanelGridBlock, Runset, iter_blocks, iter_runsets
from coreport.reports.ports import RunRef
from coreport.reports.render import PanelRows, Rows
from coreport.runs.filters import MAX_LIMIT, QueryError, parse_run_query
from coreport.runs.ports import Run, RunNotFound
from coreport.runs.service import RunService

log = logging.getLogger(__name__)

#: At most this many runs matched by one run set's filters are recorded per version.
MAX_FILTER_MATCHES = 5000
#: At most this many runs (rows) in a panel's table in a rendering.
MAX_TABLE_RUNS = 100
#: Panels whose ``metrics`` are shown per run in a rendering's table.
TABLE_PANELS = frozenset({"line", "bar", "scalar", "scatter", "run_table"})


async def matched_runs(runs: RunService, runset: Runset, *, limit: int) -> list[Run]:
    """Up to ``limit`` runs the run set's filters match now (none for a run set that only
    names runs, or whose filters the runs list rejects)."""
    if runset.project is None or (runset.run_ids and not runset.filters):
        return []
    raw = "&".join(quote(expression, safe="") for expression in runset.filters)
    try:
        query = parse_run_query(raw)
    except QueryError as exc:
        # Written by an editor that does not validate: use what can be known.
        log.warning("run set %s has filters the runs list rejects: %s", runset.id, exc)
        return []
    found: list[Run] = []
    while len(found) < limit:
        page = await runs.list_runs(
            runset.project,
            dataclasses.replace(query, limit=min(MAX_LIMIT, limit - len(found)), offset=len(found)),
        )
        found.extend(page.runs)
        if not page.runs or len(found) >= page.total:
            break
    return found


async def run_refs(runs: RunService, blocks: Sequence[Block]) -> list[RunRef]:
    """Every run ``blocks`` refer to, named explicitly or matched now, by id."""
    explicit: dict[str, bool] = {}
    for runset in iter_runsets(blocks):
        for run_id in runset.run_ids:
            explicit[run_id] = True
        for run in await matched_runs(runs, runset, limit=MAX_FILTER_MATCHES):
            explicit.setdefault(run.id, False)
    return [RunRef(run_id, flag) for run_id, flag in sorted(explicit.items())]


async def panel_rows(runs: RunService, blocks: Sequence[Block]) -> PanelRows:
    """The data of each panel for a static rendering: one row per run of its grid with the
    run's name, state and the summary value of each of the panel's metrics."""
    grids: dict[str, list[Run]] = {}
    for block in iter_blocks(blocks):
        if isinstance(block, PanelGridBlock) and block.id is not None:
            grids[block.id] = await _grid_runs(runs, block)

    def rows(grid: PanelGridBlock, panel: Panel) -> Rows | None:
        drawn = grids.get(grid.id or "")
        if not drawn or panel.type not in TABLE_PANELS or not panel.metrics:
            return None
        return [_row(run, panel.metrics) for run in drawn]

    return rows


async def _grid_runs(runs: RunService, grid: PanelGridBlock) -> list[Run]:
    drawn: dict[str, Run] = {}
    for runset in grid.runsets:
        for run_id in runset.run_ids:
            if run_id not in drawn and len(drawn) < MAX_TABLE_RUNS:
                try:
                    drawn[run_id] = await runs.get_run(run_id)
                except RunNotFound:
                    log.info("run set %s names run %s, which does not exist", runset.id, run_id)
        for run in await matched_runs(runs, runset, limit=MAX_TABLE_RUNS):
            if len(drawn) < MAX_TABLE_RUNS:
                drawn.setdefault(run.id, run)
    return list(drawn.values())


def _row(run: Run, metrics: Sequence[str]) -> Mapping[str, Any]:
    row: dict[str, Any] = {"run": run.name or run.id, "state": run.state}
    for metric in metrics:
        row[metric] = run.summary.get(metric)
    return row
