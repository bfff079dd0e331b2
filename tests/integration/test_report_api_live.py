"""The Report API against a live ``coreport serve`` process while a standard Yjs client
(pycrdt, y-websocket protocol) types in the same report: both edits survive."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Doc, XmlElement, XmlText

from coreport.reports import layout
from tests.support.server import ServerProcess
from tests.support.yclient import synced_doc, wait_until

TYPED = "while the API writes, a person keeps typing here"
APPENDED = [f"appended block {i}" for i in range(6)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path / "data") as process:
        yield process


def paragraph_text(doc: Doc[Any], index: int) -> XmlText:
    element = layout.body(doc).children[index]
    assert isinstance(element, XmlElement)
    text = element.children[0]
    assert isinstance(text, XmlText)
    return text


def body_texts(doc: Doc[Any]) -> list[str]:
    texts = []
    for element in layout.body(doc).children:
        assert isinstance(element, XmlElement)
        texts.append("".join(str(child) for child in element.children))
    return texts


def settled(doc: Doc[Any]) -> bool:
    texts = body_texts(doc)
    return bool(texts) and texts[0].endswith(TYPED) and all(a in texts for a in APPENDED)


async def test_typing_and_api_appends_both_survive(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
        created = await api.post(
            "/api/reports",
            json={"title": "Live", "blocks": [{"type": "paragraph", "text": "Notes: "}]},
        )
        assert created.status_code == 201, created.text
        report_id = created.json()["id"]

        async with (
            synced_doc(server.ws_base, report_id) as typist,
            synced_doc(server.ws_base, report_id) as watcher,
        ):
            target = paragraph_text(typist, 0)
            assert str(target) == "Notes: "

            async def type_text() -> None:
                for char in TYPED:
                    target.insert(len(str(target)), char)
                    # A typist's pace, so keystrokes and API writes interleave.
                    await asyncio.sleep(0.005)

            async def append_blocks() -> None:
                for text in APPENDED:
                    response = await api.post(
                        f"/api/reports/{report_id}/blocks",
                        json={"blocks": [{"type": "paragraph", "text": text}]},
                    )
                    assert response.status_code == 200, response.text

            await asyncio.gather(type_text(), append_blocks())
            # The watcher sees what the server relayed: everything, from both writers.
            await wait_until(watcher, lambda: settled(watcher))
            await wait_until(typist, lambda: settled(typist))
            assert body_texts(typist) == body_texts(watcher)

        report = (await api.get(f"/api/reports/{report_id}")).json()
        texts = ["".join(s["text"] for s in b["text"]) for b in report["blocks"]]
        assert texts[0] == "Notes: " + TYPED
        assert texts[1:] == APPENDED
        markdown = (await api.get(f"/api/reports/{report_id}/markdown")).text
        assert f"Notes: {TYPED}" in markdown
