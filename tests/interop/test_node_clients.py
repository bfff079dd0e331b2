"""The official Node Yjs clients (``yjs`` + ``y-websocket``) against a real ``coreport serve``.

Each ``*.test.mjs`` file here runs under Node's built-in test runner with
``COREPORT_WS_BASE`` pointing at the server; ``cross_engine.mjs`` lets a pycrdt client read
what the Node ``yjs`` engine wrote, and the reverse. The packages come from
``npm ci --prefix tests/interop``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Map, Text, XmlElement, XmlFragment, XmlText

from tests.interop.report_doc import report_content
from tests.support.server import ServerProcess
from tests.support.services import in_ci
from tests.support.yclient import synced_doc, wait_until

pytestmark = pytest.mark.node

HERE = Path(__file__).parent
NODE_SUITES = sorted(HERE.glob("*.test.mjs"))
NODE_TIMEOUT = 100.0


def node_missing(detail: str) -> None:
    """Skip locally, fail under CI=true (where the Makefile has run ``npm ci``)."""
    message = f"{detail}; run `npm ci --prefix tests/interop`"
    if in_ci():
        pytest.fail(message + " (CI=true: the Node interop tests must run)")
    pytest.skip(message)


@pytest.fixture
def node() -> str:
    """The node executable, once the interop packages are installed."""
    executable = shutil.which("node")
    if executable is None:
        node_missing("Node.js is not installed (no `node` on PATH)")
    assert executable is not None
    if not (HERE / "node_modules" / "y-websocket").is_dir():
        node_missing("the Node interop packages are not installed")
    return executable


def node_env(server: ServerProcess) -> dict[str, str]:
    return {**os.environ, "COREPORT_WS_BASE": server.ws_base, "NO_COLOR": "1"}


def failure_report(what: str, output: str, server: ServerProcess) -> str:
    server_tail = "\n".join(server.output[-40:])
    return f"{what}\n--- node output ---\n{output}\n--- server output (tail) ---\n{server_tail}"


def test_node_suites_are_found() -> None:
    assert {path.name for path in NODE_SUITES} >= {
        "awareness.test.mjs",
        "comments.test.mjs",
        "converge.test.mjs",
    }


@pytest.mark.parametrize("suite", NODE_SUITES, ids=[path.stem for path in NODE_SUITES])
def test_node_suite(node: str, server: ServerProcess, suite: Path) -> None:
    command = [node, "--test", "--test-reporter=spec", suite.name]
    result = subprocess.run(
        command,
        cwd=HERE,
        env=node_env(server),
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, failure_report(
        f"`{' '.join(command)}` exited {result.returncode}", output, server
    )
    # The spec reporter's summary line "(i) pass N": a file that registered no test exits 0 too.
    assert re.search(r"^\u2139 pass [1-9]", output, re.MULTILINE), failure_report(
        "no test passed", output, server
    )


async def run_cross_engine(node: str, server: ServerProcess, *args: str) -> Any:
    """Run cross_engine.mjs and return the report it printed."""
    process = await asyncio.create_subprocess_exec(
        node,
        "cross_engine.mjs",
        *args,
        cwd=HERE,
        env=node_env(server),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = stdout.decode() + stderr.decode()
    assert process.returncode == 0, failure_report(
        f"cross_engine.mjs {' '.join(args)} exited {process.returncode}", output, server
    )
    return json.loads(stdout.decode().strip().splitlines()[-1])


def room() -> str:
    return f"cross-{uuid.uuid4().hex[:12]}"


async def test_a_report_written_by_node_yjs_reads_the_same_in_pycrdt(
    node: str, server: ServerProcess
) -> None:
    report_id = room()
    written = await run_cross_engine(node, server, "write", report_id)
    assert written["title"][1] == {"insert": "final", "attributes": {"bold": True}}
    async with synced_doc(server.ws_base, report_id) as doc:
        await wait_until(doc, lambda: report_content(doc)["body"]["children"] != [])
        assert report_content(doc) == written


def write_with_pycrdt(doc: Doc) -> None:
    with doc.transaction():
        doc["title"] = title = Text("Accuracy by epoch ")
        title.insert(len(title), "draft", {"bold": True, "color": "#00ff00"})
        title.insert(len(title), " ✓", {"italic": True})
        doc["panels"] = panels = Map()
        panels["p1"] = Map({"type": "bar", "title": "accuracy", "smoothing": 0.25})
        panels["p1"]["metrics"] = ["acc", "val/acc"]
        panels["flag"] = False
        doc["body"] = body = XmlFragment()
        intro = XmlText()
        body.children.append(XmlElement("paragraph", {"align": "right"}, [intro]))
        intro.insert(0, "Written by pycrdt, ")
        intro.insert(len(intro), "partly bold", {"bold": True})
        body.children.append(XmlElement("panelGrid", {"gridId": "grid-7"}))


async def test_a_report_written_by_pycrdt_reads_the_same_in_node_yjs(
    node: str, server: ServerProcess
) -> None:
    report_id = room()
    async with synced_doc(server.ws_base, report_id) as writer:
        write_with_pycrdt(writer)
        expected = report_content(writer)
        async with synced_doc(server.ws_base, report_id) as witness:
            await wait_until(witness, lambda: report_content(witness) == expected)
    assert await run_cross_engine(node, server, "read", report_id) == expected
