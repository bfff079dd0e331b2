"""What an embed sends: panel views name what they show, and the live feed passes on only
the embedded charts' metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from coreport.reports.blocks import Panel, PanelLayout
from coreport.reports.embed import MetricFeed, PanelView
from coreport.runs.ports import CodeRef, Run
from coreport.runs.stream import FeedEvent, channel
from coreport.runs.views import SeriesOut
from tests.support.fakes import RecordingBus

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def run(run_id: str, summary: dict[str, object]) -> Run:
    return Run(
        run_id,
        "secret-project",
        f"name of {run_id}",
        "running",
        {"secret_lr": 0.1, "optim": {"lr": 0.01, "secret": "x"}},
        summary,
        ("secret-tag",),
        CodeRef(git_commit="deadbeef"),
        NOW,
        NOW,
    )


def series(values: list[float]) -> SeriesOut:
    steps = list(range(len(values)))
    return SeriesOut(
        steps=steps,
        values=values,
        timestamps=[1.0] * len(values),
        total_points=len(values),
        sampled=False,
    )


def test_a_panel_view_names_what_it_shows() -> None:
    panel = Panel.model_validate(
        {
            "id": "p1",
            "type": "line",
            "title": "Loss",
            "metrics": ["loss"],
            "x_axis": "epoch",
            "group_by": "config.optim.lr",
            "layout": PanelLayout().model_dump(),
            "private_note": "an editor's extra field",
        }
    )
    view = PanelView(
        panel,
        [run("r1", {"loss": 0.5, "nested": {"a": 1}})],
        {"r1": {"loss": series([1.0, 0.5])}},
        ["r1"],
    )
    assert view.needs.metrics == ["loss", "epoch"]
    shown = view.to_json()
    assert shown == {
        "panel": {
            "id": "p1",
            "type": "line",
            "title": "Loss",
            "metrics": ["loss"],
            "x_axis": "epoch",
            "smoothing": 0.0,
            "log_scale": False,
            "group_by": "config.optim.lr",
            "aggregate": "mean",
            "band": "min_max",
        },
        "runs": [
            {
                "id": "r1",
                "name": "name of r1",
                "state": "running",
                "summary": {},
                "config": {"optim.lr": 0.01},
            }
        ],
        "series": {"r1": {"loss": {"steps": [0, 1], "values": [1.0, 0.5]}}},
        "live": True,
    }
    text = json.dumps(shown)
    for absent in ("secret", "private_note", "deadbeef", "nested", "timestamps"):
        assert absent not in text


def test_value_panels_show_latest_values_and_text_panels_no_runs() -> None:
    table = Panel(id="t1", type="run_table", metrics=["acc"])
    shown = PanelView(
        table, [run("r1", {"acc": 0.9, "loss": 0.1})], {"r1": {"acc": series([0.8])}}, ["r1"]
    ).to_json()
    assert shown["runs"][0]["summary"] == {"acc": 0.9}
    assert shown["runs"][0]["config"] == {}
    assert shown["live"] is True
    scatter = Panel(id="s1", type="scatter", metrics=["acc", "ignored"], x_axis="config.secret_lr")
    view = PanelView(scatter, [run("r1", {"acc": 0.9})], {}, [])
    assert (view.needs.latest, view.needs.config) == (("acc",), ("config.secret_lr",))
    assert view.to_json()["runs"][0]["config"] == {"secret_lr": 0.1}
    assert view.to_json()["live"] is False  # nothing follows new points
    notes = Panel(id="m1", type="markdown", markdown="# Notes")
    shown = PanelView(notes, [], {}, ["r1"]).to_json()
    assert shown["panel"]["markdown"] == "# Notes"
    assert shown["live"] is False


def rows(run_id: str, *steps: dict[str, float]) -> bytes:
    return json.dumps(
        {
            "run_id": run_id,
            "rows": [
                {"step": n, "timestamp": 1.0, "metrics": metrics} for n, metrics in enumerate(steps)
            ],
        }
    ).encode()


async def test_the_live_feed_keeps_only_the_embedded_metrics() -> None:
    bus = RecordingBus()
    async with MetricFeed(bus, ["r1"], ["loss"], max_pending=10) as feed:
        (listener,) = bus.listeners[channel("r1")]
        listener.on_message(rows("r1", {"acc": 1.0}))  # nothing embedded: dropped
        listener.on_message(b"not json")  # malformed: dropped
        listener.on_message(rows("r1", {"acc": 1.0}, {"loss": 0.5, "hidden": 2.0}))
        listener.on_gap()
        kept = await feed.next()
        assert kept.kind == "history"
        assert json.loads(kept.data) == {
            "run_id": "r1",
            "rows": [{"step": 1, "metrics": {"loss": 0.5}}],
        }
        gap = await feed.next()
        assert gap == FeedEvent("gap", b'{"runs": ["r1"]}')
    assert bus.subscription_count == 0
