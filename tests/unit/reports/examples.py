"""Blocks of every type, for the tests of the reports package."""

from __future__ import annotations

from typing import Any

EVERY_BLOCK: list[dict[str, Any]] = [
    {"type": "heading", "level": 1, "text": "Results"},
    {"type": "heading", "level": 3, "text": [{"text": "Deep", "italic": True}]},
    {
        "type": "paragraph",
        "text": [
            "Loss ",
            {"text": "fell", "bold": True},
            {"text": " by half", "italic": True, "bold": True},
            ", see ",
            {"text": "run 7", "link": "https://example.com/runs/7"},
            " and ",
            {"text": "train.py", "code": True},
            {"text": " old", "strike": True},
            "\nnext line ",
            {"math": "e^{i\\pi}+1=0"},
            {"text": " underlined", "underline": {}},
        ],
    },
    {"type": "paragraph", "text": ""},
    {
        "type": "bulleted_list",
        "items": ["one", {"text": "two", "items": ["two.a", "two.b"]}],
    },
    {"type": "numbered_list", "start": 4, "items": ["four", "five"]},
    {
        "type": "check_list",
        "items": [
            {"text": "done", "checked": True},
            {"text": "todo", "items": [{"text": "sub", "checked": True}]},
        ],
    },
    {"type": "code", "language": "python", "code": 'print("hi")\nx = 1\n'},
    {"type": "code", "code": ""},
    {"type": "markdown", "source": "| a | b |\n| - | - |\n| 1 | 2 |"},
    {"type": "latex", "source": "\\int_0^1 x^2\\,dx"},
    {"type": "image", "url": "https://example.com/a.png", "caption": "Accuracy", "alt": "plot"},
    {"type": "callout", "kind": "warning", "text": [{"text": "Careful", "bold": True}]},
    {"type": "quote", "text": "Measure twice."},
    {"type": "divider"},
    {"type": "table_of_contents"},
    {
        "type": "panel_grid",
        "runsets": [
            {
                "name": "Baselines",
                "project": "mnist",
                "filters": ["tag=baseline", "config.lr<0.1", "state=finished"],
                "run_ids": ["r1", "r2"],
                "frozen": True,
            }
        ],
        "panels": [
            {
                "type": "line",
                "title": "Loss",
                "metrics": ["loss", "val_loss"],
                "smoothing": 0.6,
                "log_scale": True,
                "group_by": "config.lr",
                "layout": {"x": 0, "y": 0, "w": 12, "h": 8},
            },
            {"type": "bar", "metrics": ["acc"]},
            {"type": "scalar", "metrics": ["acc"]},
            {"type": "scatter", "metrics": ["acc"], "x_axis": "config.lr"},
            {"type": "run_table", "metrics": ["loss", "acc"]},
            {"type": "media", "media_key": "samples"},
            {"type": "markdown", "markdown": "**Note** on panels"},
        ],
        "layout": {"columns": 24},
    },
]
