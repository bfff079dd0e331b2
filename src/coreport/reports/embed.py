"""What an embed link shows, and nothing more: one panel with the data it draws, or the
whole report rendered read-only with the data of its panels.

An embed is read by whoever holds its link, inside someone else's page. So these views are
built by naming what is shown (a panel's settings field by field; runs by id, name and
state; of each run only the values its panel draws) rather than by removing what is not: a
field added to runs or panels later stays out until it is named here. Comments, members,
other panels and (for a panel) the report's text never enter.

What a panel draws, by type (as the web app's panel renderers read it):

* ``line``: the history of its metrics (and of the metric on its x axis), downsampled as
  the runs API does, and the config value it groups runs by;
* ``bar``, ``scalar``, ``scatter``, ``run_table``: each run's latest value of its metrics
  (the summary value, and the last logged point), and the config value it groups by or
  puts on the x axis;
* ``markdown``: its text; ``media``: nothing (an embed does not show images).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from pydantic import TypeAdapter, ValidationError

from coreport.ports import Bus
from coreport.reports.blocks import Panel, PanelGridBlock, iter_blocks
from coreport.reports.html import to_html
from coreport.reports.runsets import matched_runs, panel_rows
from coreport.reports.service import ReportService
from coreport.runs.ports import Run, RunNotFound
from coreport.runs.schemas import HistoryQuery, MetricKey
from coreport.runs.service import RunService
from coreport.runs.stream import FeedEvent, RunFeed
from coreport.runs.views import LiveRows, SeriesOut

log = logging.getLogger(__name__)

#: Runs one grid of an embed draws at most (the live stream follows at most as many).
MAX_EMBED_RUNS = 100
#: Points per series of a chart, as the web app's panels ask the runs API for.
MAX_POINTS = 1000
#: The smallest budget that keeps a series' last point (see ``runs.ports.buckets``).
_LATEST_POINTS = 4
#: The runs API's limit of keys per history query.
_KEYS_PER_QUERY = 100
#: Panels an embed shows (media panels would need the runs' files).
SHOWN = frozenset({"line", "bar", "scalar", "scatter", "run_table", "markdown"})

_METRIC_KEY: TypeAdapter[str] = TypeAdapter(MetricKey)
#: How the HTML rendering opens each panel (user text is escaped, so only panels match).
_PANEL_FIGURE = '<figure class="panel">'


class PanelNotFound(LookupError):
    def __init__(self, panel_id: str) -> None:
        super().__init__(f"panel {panel_id!r} is no longer in this report")


@dataclass(frozen=True, slots=True)
class Needs:
    """The run data one panel draws."""

    #: Metrics whose (downsampled) history it charts.
    history: tuple[str, ...] = ()
    #: Metrics of which it shows each run's latest value.
    latest: tuple[str, ...] = ()
    #: Config keys (``config.lr`` or ``lr``) it groups runs by or plots.
    config: tuple[str, ...] = ()

    @property
    def metrics(self) -> list[str]:
        """Every metric it draws: what its live updates carry."""
        return list(dict.fromkeys((*self.history, *self.latest)))

    @classmethod
    def of(cls, panel: Panel) -> Needs:
        first = panel.metrics[:1]
        by_step = _by_step(panel.x_axis)
        match panel.type:
            case "line":
                axis = [] if by_step else [panel.x_axis]
                group = [panel.group_by] if panel.group_by else []
                return cls(_metric_keys([*panel.metrics, *axis]), config=tuple(group))
            case "bar":
                return cls(latest=_metric_keys(first), config=_some(panel.group_by))
            case "scalar":
                return cls(latest=_metric_keys(first))
            case "scatter":
                if panel.x_axis.startswith("config."):
                    return cls(latest=_metric_keys(first), config=(panel.x_axis,))
                axis = [] if by_step else [panel.x_axis]
                return cls(latest=_metric_keys([*first, *axis]))
            case "run_table":
                return cls(latest=_metric_keys(panel.metrics))
        return cls()


@dataclass(frozen=True, slots=True)
class PanelView:
    """One panel as an embed shows it."""

    panel: Panel
    runs: Sequence[Run]
    #: Run id -> metric -> series: downsampled history, or just the last point.
    series: Mapping[str, Mapping[str, SeriesOut]]
    #: Runs from run sets that are not frozen: the embed follows their new points.
    live_runs: Sequence[str]

    @property
    def needs(self) -> Needs:
        return Needs.of(self.panel)

    @property
    def live(self) -> bool:
        return bool(self.live_runs and self.needs.metrics)

    def to_json(self) -> dict[str, Any]:
        panel = self.panel
        needs = self.needs
        shown: dict[str, Any] = {
            "id": panel.id,
            "type": panel.type,
            "title": panel.title,
            "metrics": list(panel.metrics),
            "x_axis": panel.x_axis,
            "smoothing": panel.smoothing,
            "log_scale": panel.log_scale,
            "group_by": panel.group_by,
            "aggregate": panel.aggregate,
            "band": panel.band,
        }
        if panel.type == "markdown":
            shown["markdown"] = panel.markdown or ""
        return {
            "panel": shown,
            "runs": [
                {
                    "id": run.id,
                    "name": run.name or run.id,
                    "state": run.state,
                    "summary": _summary(run, needs.latest),
                    "config": _config(run, needs.config),
                }
                for run in self.runs
            ],
            "series": {
                run_id: {key: {"steps": s.steps, "values": s.values} for key, s in by_key.items()}
                for run_id, by_key in self.series.items()
            },
            "live": self.live,
        }


@dataclass(frozen=True, slots=True)
class ReportView:
    """A whole report as an embed shows it: the read-only HTML rendering, whose panel
    figures carry ``data-panel-id``, and the data of the panels it draws."""

    title: str
    html: str
    panels: Sequence[PanelView]

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "html": self.html,
            "panels": [view.to_json() for view in self.panels],
            "live": any(view.live for view in self.panels),
        }


@dataclass(frozen=True, slots=True)
class Following:
    """What the live stream of an embed carries: these runs' new values of these metrics."""

    run_ids: list[str]
    metrics: list[str]


class EmbedViews:
    """Builds the views from the live report and the runs."""

    def __init__(self, reports: ReportService, runs: RunService) -> None:
        self._reports = reports
        self._runs = runs

    async def panel(self, report_id: str, panel_id: str) -> PanelView:
        """Raises :class:`PanelNotFound` when no grid of the report shows the panel (any
        more), :class:`~coreport.reports.service.ReportNotFound` for a deleted report."""
        grid, panel = await self.find_panel(report_id, panel_id)
        return (await self._views(grid, [panel]))[0]

    async def report(self, report_id: str) -> ReportView:
        content = await self._reports.read(report_id)
        rows = await panel_rows(self._runs, content.blocks)
        html = to_html(content.title, content.blocks, panel_rows=rows)
        grids = _grids(content.blocks)
        html = _tag_panels(html, [panel.id or "" for grid in grids for panel in grid.panels])
        views: list[PanelView] = []
        for grid in grids:
            views += await self._views(grid, [p for p in grid.panels if p.type in SHOWN and p.id])
        return ReportView(content.title, html, views)

    async def following(self, report_id: str, panel_id: str | None) -> Following:
        """The runs and metrics the embed's live stream follows (of one panel, or of every
        panel of the report)."""
        if panel_id is not None:
            grid, panel = await self.find_panel(report_id, panel_id)
            grids = [(grid, [panel])]
        else:
            content = await self._reports.read(report_id)
            grids = [(grid, grid.panels) for grid in _grids(content.blocks)]
        run_ids: dict[str, None] = {}
        metrics: dict[str, None] = {}
        for grid, panels in grids:
            keys = [key for panel in panels for key in Needs.of(panel).metrics]
            if keys:
                _, live = await self._grid_runs(grid)
                run_ids.update(dict.fromkeys(live))
                metrics.update(dict.fromkeys(keys))
        return Following(list(run_ids)[:MAX_EMBED_RUNS], list(metrics))

    async def find_panel(self, report_id: str, panel_id: str) -> tuple[PanelGridBlock, Panel]:
        """The grid showing the panel, and the panel; :class:`PanelNotFound` if none does."""
        content = await self._reports.read(report_id)
        for grid in _grids(content.blocks):
            for panel in grid.panels:
                if panel.id == panel_id:
                    return grid, panel
        raise PanelNotFound(panel_id)

    async def _views(self, grid: PanelGridBlock, panels: Sequence[Panel]) -> list[PanelView]:
        """Views of ``panels`` of ``grid``: the grid's runs are listed, and each run's
        history read, once for all of them."""
        needs = [Needs.of(panel) for panel in panels]
        history = list(dict.fromkeys(key for need in needs for key in need.history))
        latest = [k for k in dict.fromkeys(k for n in needs for k in n.latest) if k not in history]
        runs: list[Run] = []
        live: list[str] = []
        if history or latest or any(need.config for need in needs):
            runs, live = await self._grid_runs(grid)
        series: dict[str, dict[str, SeriesOut]] = {}
        for run in runs:
            series[run.id] = await self._series(run.id, history, MAX_POINTS)
            for key, last in (await self._series(run.id, latest, _LATEST_POINTS)).items():
                series[run.id][key] = _last_point(last)
        views = []
        for panel, need in zip(panels, needs, strict=True):
            wanted = set(need.history) | set(need.latest)
            full = set(need.history)
            shown = {
                run_id: {
                    key: s if key in full else _last_point(s)
                    for key, s in by_key.items()
                    if key in wanted
                }
                for run_id, by_key in series.items()
            }
            views.append(PanelView(panel, runs if need != Needs() else [], shown, live))
        return views

    async def _series(self, run_id: str, keys: Sequence[str], points: int) -> dict[str, SeriesOut]:
        series: dict[str, SeriesOut] = {}
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            query = HistoryQuery(
                keys=list(keys[start : start + _KEYS_PER_QUERY]), max_points=points
            )
            series |= (await self._runs.history(run_id, query)).series
        return series

    async def _grid_runs(self, grid: PanelGridBlock) -> tuple[list[Run], list[str]]:
        """The runs the grid's run sets draw (up to :data:`MAX_EMBED_RUNS`), and which of
        them come from run sets that follow new points."""
        drawn: dict[str, Run] = {}
        live: dict[str, None] = {}
        for runset in grid.runsets:
            chosen: list[Run] = []
            for run_id in runset.run_ids:
                if len(drawn) + len(chosen) >= MAX_EMBED_RUNS:
                    break
                try:
                    chosen.append(await self._runs.get_run(run_id))
                except RunNotFound:
                    log.info("run set %s names run %s, which does not exist", runset.id, run_id)
            chosen += await matched_runs(self._runs, runset, limit=MAX_EMBED_RUNS)
            for run in chosen:
                if run.id not in drawn and len(drawn) < MAX_EMBED_RUNS:
                    drawn[run.id] = run
                if run.id in drawn and not runset.frozen:
                    live[run.id] = None
        return list(drawn.values()), list(live)


class MetricFeed(RunFeed):
    """A :class:`RunFeed` that passes on only ``metrics`` of the runs' new rows: an embed's
    live stream carries the values its panels draw and no others."""

    def __init__(
        self, bus: Bus, run_ids: Sequence[str], metrics: Iterable[str], *, max_pending: int
    ) -> None:
        super().__init__(bus, run_ids, max_pending=max_pending)
        self._metrics = frozenset(metrics)

    async def next(self) -> FeedEvent:
        while True:
            event = await super().next()
            if event.kind != "history":
                return event
            kept = self._keep(event.data)
            if kept is not None:
                return FeedEvent("history", kept)

    def _keep(self, data: bytes) -> bytes | None:
        try:
            message = LiveRows.model_validate_json(data)
        except ValidationError:
            log.warning("dropping a malformed live rows message: %.80r", data)
            return None
        rows = []
        for row in message.rows:
            metrics = {k: v for k, v in row.metrics.items() if k in self._metrics}
            if metrics:
                rows.append({"step": row.step, "metrics": metrics})
        if not rows:
            return None
        return json.dumps({"run_id": message.run_id, "rows": rows}).encode()


def _grids(blocks: Sequence[Any]) -> list[PanelGridBlock]:
    """The report's panel grids in document order (the order the HTML renders them)."""
    return [block for block in iter_blocks(blocks) if isinstance(block, PanelGridBlock)]


def _by_step(x_axis: str) -> bool:
    """Whether a line panel's x axis is the step (a config key there means the step too)."""
    return not x_axis or x_axis == "step" or x_axis.startswith("config.")


def _some(key: str | None) -> tuple[str, ...]:
    return (key,) if key else ()


def _metric_keys(keys: Iterable[str]) -> tuple[str, ...]:
    """Distinct keys the runs API accepts (an editor may have stored others), at most 100."""
    valid: dict[str, None] = {}
    for key in keys:
        try:
            valid[_METRIC_KEY.validate_python(key)] = None
        except ValidationError:
            continue
    return tuple(valid)[:100]


def _last_point(series: SeriesOut) -> SeriesOut:
    if len(series.steps) <= 1:
        return series
    return SeriesOut(
        steps=series.steps[-1:],
        values=series.values[-1:],
        timestamps=series.timestamps[-1:],
        total_points=series.total_points,
        sampled=True,
    )


def _summary(run: Run, metrics: Sequence[str]) -> dict[str, Any]:
    """The run's summary values of ``metrics`` (scalars only: what a table cell shows)."""
    return {
        key: value
        for key in metrics
        if isinstance(value := run.summary.get(key), int | float | str | bool)
    }


def _config(run: Run, keys: Sequence[str]) -> dict[str, Any]:
    """The config values a panel groups the run by or plots, each under the name the web
    app looks it up by (``config.lr`` and ``lr`` both name ``config["lr"]``; a dotted name
    reaches into nested objects when no key holds the whole name). Scalars only."""
    shown: dict[str, Any] = {}
    for key in keys:
        name = key.removeprefix("config.")
        value: Any = run.config.get(name)
        if name not in run.config:
            value = run.config
            for part in name.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, int | float | str | bool):
            shown[name] = value
    return shown


def _tag_panels(html: str, panel_ids: Sequence[str]) -> str:
    """Mark each panel's figure with its id, so the embed page can draw the panel there."""
    if html.count(_PANEL_FIGURE) != len(panel_ids):
        log.warning("the rendering has not one figure per panel; embed panels are left out")
        return html
    ids = iter(panel_ids)
    return re.sub(
        re.escape(_PANEL_FIGURE),
        lambda _: f'<figure class="panel" data-panel-id="{escape(next(ids))}">',
        html,
    )
