"""The ``coreport`` command line."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from coreport.cli import _settle_heap, main


def test_migrate_applies_then_reports_up_to_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--data-dir", str(tmp_path)]) == 0
    first = capsys.readouterr().out
    assert "applied 0001_update_log" in first
    assert (tmp_path / "coreport.sqlite3").is_file()
    assert main(["migrate", "--data-dir", str(tmp_path)]) == 0
    assert "schema is up to date" in capsys.readouterr().out


def test_migrate_reports_an_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COREPORT_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    assert main(["migrate"]) == 1
    assert "cannot connect" in capsys.readouterr().err


def test_serve_refuses_a_port_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--data-dir", str(tmp_path)]) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_settling_the_heap_freezes_what_lives_and_collects_what_does_not() -> None:
    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    kept = Node()
    garbage = Node()
    garbage.other = garbage  # a cycle: only the collector frees it
    gone = weakref.ref(garbage)
    del garbage
    before = gc.get_freeze_count()
    try:
        _settle_heap()
        frozen = gc.get_freeze_count()
        assert frozen > before
        assert gone() is None  # collected, not frozen
        # What is alive is in the permanent generation, out of every collection's walk.
        assert not any(o is kept for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is kept for o in gc.get_objects())
