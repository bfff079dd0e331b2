"""``coreport report create|export`` and ``coreport demo``: argument and file handling
(their work against a live server is in tests/integration/test_sdk.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coreport.cli import main
from coreport.client.commands import read_report_file


def test_a_yaml_report_file(tmp_path: Path) -> None:
    path = tmp_path / "report.yaml"
    path.write_text(
        "title: Nightly\nproject: mnist\nblocks:\n"
        "  - {type: heading, level: 1, text: Nightly}\n"
        "  - type: panel_grid\n    panels: [{type: line, metrics: [loss]}]\n"
    )
    data = read_report_file(path)
    assert data["title"] == "Nightly"
    assert [block["type"] for block in data["blocks"]] == ["heading", "panel_grid"]


def test_a_json_list_is_the_blocks(tmp_path: Path) -> None:
    path = tmp_path / "blocks.json"
    path.write_text('[{"type": "paragraph", "text": "hi"}]')
    assert read_report_file(path) == {"blocks": [{"type": "paragraph", "text": "hi"}]}


@pytest.mark.parametrize(
    ("text", "message"),
    [("just text", "expected a mapping"), ("titel: typo\nblocks: []", "unknown top-level")],
)
def test_bad_report_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_report_file(path)


def test_create_reports_an_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "create", str(tmp_path / "missing.yaml")]) == 1
    assert "coreport report create: cannot read" in capsys.readouterr().err


def test_export_reports_an_unreachable_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COREPORT_API_KEY", raising=False)
    assert main(["report", "export", "abc", "--url", "http://127.0.0.1:1"]) == 1
    err = capsys.readouterr().err
    assert "coreport report export: cannot reach the server" in err
    assert "http://127.0.0.1:1/api/reports/abc/markdown" in err


def test_demo_needs_a_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--runs", "0"]) == 1
    assert "--runs must be at least 1" in capsys.readouterr().err
