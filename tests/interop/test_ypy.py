"""Documents made with y-py, the package the design card named, apply cleanly on the server.

A y-py ``YDoc`` speaks the y-websocket sync protocol over a real websocket (framed with
``coreport.protocol.messages``); pycrdt clients check what the server made of it. And the
reverse: y-py applies what the server sends in sync step 2 and in live updates.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import y_py as Y
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText
from websockets.asyncio.client import ClientConnection, connect

from coreport.protocol import messages
from coreport.protocol.messages import SyncStep1, SyncStep2, SyncUpdate, parse_message
from tests.interop.report_doc import delta, report_content
from tests.support.server import ServerProcess
from tests.support.yclient import synced_doc, wait_until

TIMEOUT = 15.0


class YpyPeer:
    """A y-py ``YDoc`` kept in sync with one room through the y-websocket protocol."""

    def __init__(self, ws: ClientConnection, ydoc: Y.YDoc) -> None:
        self.ws = ws
        self.ydoc = ydoc

    async def handshake(self) -> None:
        """Exchange both sync steps: send ours, answer the server's, apply its answer."""
        await self.ws.send(messages.sync_step1(Y.encode_state_vector(self.ydoc)))
        answered = received = False
        while not (answered and received):
            message = await self._next_sync_message()
            if isinstance(message, SyncStep1):
                update = Y.encode_state_as_update(self.ydoc, message.state_vector)
                await self.ws.send(messages.sync_step2(update))
                answered = True
            elif isinstance(message, SyncStep2):
                Y.apply_update(self.ydoc, message.update)
                received = True
            else:
                Y.apply_update(self.ydoc, message.update)

    async def send_changes(self, change: Callable[[Y.YTransaction], None]) -> None:
        """Apply ``change`` in one y-py transaction and send it as a sync update."""
        before = Y.encode_state_vector(self.ydoc)
        with self.ydoc.begin_transaction() as txn:
            change(txn)
        await self.ws.send(messages.sync_update(Y.encode_state_as_update(self.ydoc, before)))

    async def receive_until(self, condition: Callable[[], bool]) -> None:
        """Apply what the server sends until ``condition()`` holds."""
        async with asyncio.timeout(TIMEOUT):
            while not condition():
                message = await self._next_sync_message()
                if isinstance(message, SyncStep1):
                    raise AssertionError("the server asked for a second handshake")
                Y.apply_update(self.ydoc, message.update)

    async def _next_sync_message(self) -> SyncStep1 | SyncStep2 | SyncUpdate:
        """The next sync message; awareness traffic is not this peer's business."""
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), TIMEOUT)
            assert isinstance(frame, bytes), f"text frame from the server: {frame!r}"
            message = parse_message(frame)
            if isinstance(message, SyncStep1 | SyncStep2 | SyncUpdate):
                return message


@asynccontextmanager
async def ypy_peer(server: ServerProcess, room: str, ydoc: Y.YDoc) -> AsyncIterator[YpyPeer]:
    async with connect(f"{server.ws_base}/{room}", max_size=None) as ws:
        peer = YpyPeer(ws, ydoc)
        await peer.handshake()
        yield peer


def new_room() -> str:
    return f"ypy-{uuid.uuid4().hex[:12]}"


def write_report(doc: Y.YDoc, txn: Y.YTransaction) -> None:
    """A report with every kind of shared type y-py has, written in one transaction."""
    title = doc.get_text("title")
    title.extend(txn, "Loss by epoch, final")
    title.format(txn, 0, 4, {"bold": True})
    title.insert(txn, len(str(title)), " (draft)", {"italic": True, "color": "#888888"})
    panels = doc.get_map("panels")
    panels.set(txn, "p1", {"type": "line", "title": "loss", "metrics": ["loss", "val/loss"]})
    panels.set(txn, "count", 2)
    doc.get_array("runs").extend(txn, ["run-1", "run-2", {"id": "run-3", "tags": ["best"]}])
    body = doc.get_xml_element("body")
    intro = body.push_xml_element(txn, "paragraph")
    intro.set_attribute(txn, "align", "center")
    intro.push_xml_text(txn).push(txn, "Written with y-py ✓")
    grid = body.push_xml_element(txn, "panelGrid")
    grid.set_attribute(txn, "gridId", "grid-1")


EXPECTED_FROM_YPY: dict[str, Any] = {
    "title": [
        {"insert": "Loss", "attributes": {"bold": True}},
        {"insert": " by epoch, final"},
        {"insert": " (draft)", "attributes": {"italic": True, "color": "#888888"}},
    ],
    "panels": {
        "p1": {"type": "line", "title": "loss", "metrics": ["loss", "val/loss"]},
        "count": 2,
    },
    "body": {
        "name": "#fragment",
        "attributes": {},
        "children": [
            {
                "name": "paragraph",
                "attributes": {"align": "center"},
                "children": [{"text": [{"insert": "Written with y-py ✓"}]}],
            },
            {"name": "panelGrid", "attributes": {"gridId": "grid-1"}, "children": []},
        ],
    },
}
EXPECTED_RUNS = ["run-1", "run-2", {"id": "run-3", "tags": ["best"]}]


def content_of(doc: Doc) -> dict[str, Any]:
    return {**report_content(doc), "runs": doc.get("runs", type=Array).to_py()}


def has_ypy_report(doc: Doc) -> bool:
    return len(doc.get("body", type=XmlFragment).children) == 2 and "count" in doc.get(
        "panels", type=Map
    )


async def test_ypy_state_sent_in_the_handshake_is_stored(server: ServerProcess) -> None:
    room = new_room()
    ydoc = Y.YDoc()
    with ydoc.begin_transaction() as txn:
        write_report(ydoc, txn)  # offline, before connecting: it travels as sync step 2
    async with ypy_peer(server, room, ydoc), synced_doc(server.ws_base, room) as doc:
        await wait_until(doc, lambda: has_ypy_report(doc))
        assert content_of(doc) == {**EXPECTED_FROM_YPY, "runs": EXPECTED_RUNS}


async def test_ypy_updates_are_relayed_and_stored(server: ServerProcess) -> None:
    room = new_room()
    ydoc = Y.YDoc()
    async with synced_doc(server.ws_base, room) as watcher, ypy_peer(server, room, ydoc) as peer:
        await peer.send_changes(lambda txn: write_report(ydoc, txn))
        await wait_until(watcher, lambda: has_ypy_report(watcher))
        assert content_of(watcher) == {**EXPECTED_FROM_YPY, "runs": EXPECTED_RUNS}

        title = ydoc.get_text("title")
        await peer.send_changes(lambda txn: title.delete_range(txn, 0, 5))
        await peer.send_changes(lambda txn: ydoc.get_array("runs").delete(txn, 0))
        await peer.send_changes(lambda txn: ydoc.get_map("panels").pop(txn, "count"))
        await wait_until(watcher, lambda: "count" not in watcher.get("panels", type=Map))
        assert str(watcher.get("title", type=Text)) == "by epoch, final (draft)"
        assert watcher.get("runs", type=Array).to_py() == EXPECTED_RUNS[1:]

    async with synced_doc(server.ws_base, room) as late:
        await wait_until(late, lambda: {"panels", "runs"} <= set(late.keys()))
        assert content_of(late) == content_of(watcher)


def write_with_pycrdt(doc: Doc) -> None:
    with doc.transaction():
        doc["title"] = title = Text("Accuracy ")
        title.insert(len(title), "by run", {"bold": True})
        doc["panels"] = Map({"p1": Map({"type": "bar", "title": "accuracy"}), "flag": True})
        doc["runs"] = Array(["a", "b"])
        doc["body"] = body = XmlFragment()
        text = XmlText("from pycrdt")
        body.children.append(XmlElement("paragraph", {"align": "left"}, [text]))
        body.children.append(XmlElement("panelGrid", {"gridId": "g9"}))


def ypy_xml(element: Y.YXmlElement) -> list[Any]:
    """The children of a y-py XML element as ``[name, attributes, children]`` or text."""
    children: list[Any] = []
    child = element.first_child
    while child is not None:
        if isinstance(child, Y.YXmlText):
            children.append(str(child))
        else:
            children.append([child.name, dict(child.attributes()), ypy_xml(child)])
        child = child.next_sibling
    return children


async def test_ypy_applies_what_the_server_sends(server: ServerProcess) -> None:
    room = new_room()
    async with synced_doc(server.ws_base, room) as writer:
        write_with_pycrdt(writer)
        async with synced_doc(server.ws_base, room) as witness:
            await wait_until(witness, lambda: {"body", "runs"} <= set(witness.keys()))

        ydoc = Y.YDoc()
        title = ydoc.get_text("title")
        deltas: list[list[dict[str, Any]]] = []
        title.observe(lambda event: deltas.append(event.delta))
        async with ypy_peer(server, room, ydoc) as peer:
            # Sync step 2 from the server brought everything the pycrdt client wrote.
            assert deltas == [delta(writer.get("title", type=Text).diff())]
            assert json.loads(ydoc.get_map("panels").to_json()) == {
                "p1": {"type": "bar", "title": "accuracy"},
                "flag": True,
            }
            assert json.loads(ydoc.get_array("runs").to_json()) == ["a", "b"]
            assert ypy_xml(ydoc.get_xml_element("body")) == [
                ["paragraph", {"align": "left"}, ["from pycrdt"]],
                ["panelGrid", {"gridId": "g9"}, []],
            ]

            # A live edit by the pycrdt client reaches y-py as a sync update.
            writer.get("title", type=Text).insert(0, "Live: ", {"italic": True})
            await peer.receive_until(lambda: str(title).startswith("Live: "))
            assert deltas[-1] == [{"insert": "Live: ", "attributes": {"italic": True}}]
            assert str(title) == "Live: Accuracy by run"
