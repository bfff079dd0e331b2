"""Runs fixtures/tiptap_layout.cjs: the editor's own stack (TipTap's schema and
@tiptap/y-tiptap from frontend/node_modules) judging documents the server wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import in_ci

ROOT = Path(__file__).parents[3]
SCRIPT = Path(__file__).parent / "fixtures" / "tiptap_layout.cjs"


def missing(problem: str) -> None:
    if in_ci():
        pytest.fail(f"{problem} (CI=true: the editor layout check must run)")
    pytest.skip(problem)


def tiptap(*args: str) -> dict[str, Any]:
    """The script's JSON answer; skips locally (fails under CI=true) without Node or the
    frontend's packages (``make frontend`` installs them)."""
    node = shutil.which("node")
    if node is None:
        missing("Node.js is not installed (no `node` on PATH)")
    if not (ROOT / "frontend" / "node_modules" / "@tiptap" / "y-tiptap").is_dir():
        missing("the frontend's packages are not installed; run `npm ci --prefix frontend`")
    assert node is not None
    result = subprocess.run(
        [node, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer
