"""One seeded convergence run: clients editing a report and its comments over several
instances, going offline, editing offline and reconnecting elsewhere.

Every random choice comes from ``random.Random(seed)``, so a seed replays the same edits and
the same disconnect schedule (the interleaving with the servers still varies a little).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

from tests.support.yclient import synced_doc, wait_until

#: Environment of the servers a convergence run talks to: compaction every 20 updates
#: whatever the document weighs, rooms unloading 1 s after their last client, and no
#: per-address limits (every client is local).
SERVER_ENV = {
    "COREPORT_COMPACT_EVERY_UPDATES": "20",
    "COREPORT_COMPACT_LOG_RATIO": "0",
    "COREPORT_ROOM_IDLE_SECONDS": "1",
    "COREPORT_CONNECTS_PER_MINUTE": "1000000",
    "COREPORT_MESSAGES_PER_SECOND": "100000",
    "COREPORT_MESSAGE_BURST": "100000",
}


def replay_hint(seed: int, test: str) -> str:
    return f"COREPORT_SEED={seed} .venv/bin/pytest tests/reliability/test_convergence.py -k {test}"


@dataclass
class Client:
    number: int
    report_id: str
    report: Doc[Any] = field(default_factory=Doc)
    comments: Doc[Any] = field(default_factory=Doc)
    instance: int | None = None
    edits: int = 0
    _connection: asyncio.Task[None] | None = None
    _leave: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def connected(self) -> bool:
        return self._connection is not None

    async def connect(self, ws_base: str, instance: int) -> None:
        """Connect and sync both docs. The connection lives in its own task: the providers'
        cancel scopes must close in the order they opened, and clients come and go freely."""
        synced = asyncio.Event()
        self._leave = asyncio.Event()
        self._connection = asyncio.create_task(self._hold(ws_base, synced, self._leave))
        waiter = asyncio.create_task(synced.wait())
        await asyncio.wait({waiter, self._connection}, return_when=asyncio.FIRST_COMPLETED)
        if not synced.is_set():
            waiter.cancel()
            await self.disconnect()  # raises what ended the connection
            raise AssertionError("connection ended before it synced")
        self.instance = instance

    async def _hold(self, ws_base: str, synced: asyncio.Event, leave: asyncio.Event) -> None:
        room = self.report_id
        async with (
            synced_doc(ws_base, room, self.report),
            synced_doc(ws_base, room + "/comments", self.comments),
        ):
            synced.set()
            await leave.wait()

    async def disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._leave.set()
            await connection

    def token(self) -> str:
        self.edits += 1
        return f"[{self.number}.{self.edits}]"


@dataclass
class Ledger:
    """Every token any client wrote, and those deliberately deleted since."""

    report: set[str] = field(default_factory=set)
    comments: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)


def boundaries(text: str) -> list[int]:
    """Positions between whole tokens: inserting there never splits another token."""
    return [0] + [i + 1 for i, char in enumerate(text) if char == "]"]


def report_content(doc: Doc[Any]) -> str:
    return json.dumps(
        {
            "title": str(doc.get("title", type=Text)),
            "body": str(doc.get("body", type=XmlFragment)),
            "panels": doc.get("panels", type=Map).to_py(),
        },
        sort_keys=True,
    )


def comments_content(doc: Doc[Any]) -> str:
    return json.dumps(doc.get("threads", type=Map).to_py(), sort_keys=True)


def edit(client: Client, rng: random.Random, ledger: Ledger) -> None:
    """One random edit on the client's own docs, connected or not."""
    token = client.token()
    doc = client.report
    title = doc.get("title", type=Text)
    body = doc.get("body", type=XmlFragment)
    panels = doc.get("panels", type=Map)
    threads = client.comments.get("threads", type=Map)
    kind = rng.choice(
        ["title", "title", "untitle", "panel", "panel_key", "paragraph", "para_text", "comment"]
    )
    if kind == "untitle":
        mine = [t for t in ledger.report - ledger.deleted if t.startswith(f"[{client.number}.")]
        present = sorted(t for t in mine if t in str(title))
        if present:
            victim = rng.choice(present)
            start = str(title).index(victim)
            del title[start : start + len(victim)]
            ledger.deleted.add(victim)
        kind = "title"  # and still write the new token
    if kind == "title":
        title.insert(rng.choice(boundaries(str(title))), token)
    elif kind == "panel":
        panels[f"p{token}"] = Map({"title": token, "type": rng.choice(["line", "bar", "table"])})
    elif kind == "panel_key" and len(panels) > 0:
        panel = panels[rng.choice(sorted(panels.keys()))]
        assert isinstance(panel, Map)
        panel[f"k{token}"] = token
    elif kind == "para_text" and len(body.children) > 0:
        paragraph = body.children[rng.randrange(len(body.children))]
        assert isinstance(paragraph, XmlElement)
        text = paragraph.children[0]
        assert isinstance(text, XmlText)
        text.insert(rng.choice(boundaries(str(text))), token)
    elif kind == "comment":
        entry = Map({"id": token, "text": token, "deleted": False})
        if len(threads) > 0 and rng.random() < 0.6:
            thread = threads[rng.choice(sorted(threads.keys()))]
            assert isinstance(thread, Map)
            comments = thread["comments"]
            assert isinstance(comments, Array)
            comments.append(entry)
        else:
            threads[f"t{token}"] = Map({"resolved": False, "comments": Array([entry])})
        ledger.comments.add(token)
        return
    else:  # "paragraph", or a panel_key / para_text with nothing to edit yet
        paragraph = XmlElement("paragraph", {"id": token}, [XmlText(token)])
        body.children.insert(rng.randint(0, len(body.children)), paragraph)
    ledger.report.add(token)


def holds(content: str, expected: set[str], deleted: set[str]) -> bool:
    return all(t in content for t in expected) and not any(t in content for t in deleted)


async def run_seed(seed: int, ws_bases: Sequence[str], room_prefix: str) -> dict[str, int]:
    """Run seed ``seed`` against the instances at ``ws_bases``; raise on any divergence or
    loss. Returns what it did (clients, edits, reconnects)."""
    rng = random.Random(seed)
    report_id = f"{room_prefix}{seed}"
    ledger = Ledger()
    clients = [Client(n, report_id) for n in range(rng.randint(2, 4))]
    reconnects = 0

    def elsewhere(client: Client) -> int:
        choices = [i for i in range(len(ws_bases)) if i != client.instance] or [0]
        return rng.choice(choices)

    try:
        for client in clients:
            instance = rng.randrange(len(ws_bases))
            await client.connect(ws_bases[instance], instance)
        for _ in range(rng.randint(20, 60)):
            client = rng.choice(clients)
            roll = rng.random()
            if roll < 0.08 and client.connected:
                await client.disconnect()
            elif roll < 0.2 and not client.connected:
                instance = elsewhere(client)
                await client.connect(ws_bases[instance], instance)
                reconnects += 1
            else:
                edit(client, rng, ledger)
            for _ in range(rng.choice([0, 0, 1, 3])):
                await asyncio.sleep(0)  # let the providers send: a random interleaving
        for client in clients:
            if not client.connected:
                instance = elsewhere(client)
                await client.connect(ws_bases[instance], instance)
                reconnects += 1
        expected_report, expected_comments = ledger.report - ledger.deleted, ledger.comments
        try:
            for client in clients:
                await _converged(client, expected_report, expected_comments, ledger.deleted)
        except AssertionError as exc:
            where = await _what_instances_hold(ws_bases, report_id, expected_report, clients)
            ids = {c.number: (c.report.client_id, c.comments.client_id) for c in clients}
            where.append(f"client ids (report, comments): {ids}")
            raise AssertionError(f"{exc}; " + "; ".join(where)) from exc
        # A fresh client on every instance loads the same state from that instance.
        for instance, ws_base in enumerate(ws_bases):
            fresh = Client(99, report_id)
            await fresh.connect(ws_base, instance)
            try:
                await _converged(fresh, expected_report, expected_comments, ledger.deleted)
                for client in clients:
                    _assert_same(client, fresh)
            finally:
                await fresh.disconnect()
    finally:
        for client in clients:
            await client.disconnect()
    edits = sum(c.edits for c in clients)
    return {"clients": len(clients), "edits": edits, "reconnects": reconnects}


async def _what_instances_hold(
    ws_bases: Sequence[str], report_id: str, expected: set[str], clients: list[Client]
) -> list[str]:
    """Evidence for a failure: what a fresh client of each instance lacks right now, and how
    each connected client's state vector differs from it (client id: theirs vs fresh)."""
    found = []
    for instance, ws_base in enumerate(ws_bases):
        fresh = Client(98, report_id)
        await fresh.connect(ws_base, instance)
        content = report_content(fresh.report)
        fresh_report, fresh_comments = state_vector(fresh.report), state_vector(fresh.comments)
        await fresh.disconnect()
        found.append(f"instance {instance} lacks {sorted(t for t in expected if t not in content)}")
        for c in clients:
            if c.instance == instance:
                report, comments = state_vector(c.report), state_vector(c.comments)
                found.append(
                    f"client {c.number} (doc client id {c.report.client_id}) on instance "
                    f"{instance}: report state differs {_differs(report, fresh_report)}, "
                    f"comments state differs {_differs(comments, fresh_comments)}"
                )
    return found


def _differs(mine: dict[int, int], fresh: dict[int, int]) -> dict[int, tuple[int, int]]:
    return {
        k: (mine.get(k, 0), fresh.get(k, 0))
        for k in mine.keys() | fresh.keys()
        if mine.get(k, 0) != fresh.get(k, 0)
    }


async def _converged(
    client: Client, report: set[str], comments: set[str], deleted: set[str]
) -> None:
    r, c = client.report, client.comments
    try:
        await wait_until(r, lambda: holds(report_content(r), report, deleted), 20)
        await wait_until(c, lambda: holds(comments_content(c), comments, set()), 20)
    except TimeoutError as exc:
        missing = sorted(t for t in report if t not in report_content(r))
        missing += sorted(t for t in comments if t not in comments_content(c))
        revived = sorted(t for t in deleted if t in report_content(r))
        raise AssertionError(
            f"client {client.number} on instance {client.instance} did not converge: "
            f"missing {missing}, deleted but present {revived}"
        ) from exc


def state_vector(doc: Doc[Any]) -> dict[int, int]:
    """The doc's state vector (client id -> clock), decoded from lib0 variable-length ints;
    compared as a dict since the encoding's order is not defined."""
    data, at = doc.get_state(), 0

    def varuint() -> int:
        nonlocal at
        value, shift = 0, 0
        while True:
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    return {varuint(): varuint() for _ in range(varuint())}


def _assert_same(a: Client, b: Client) -> None:
    assert state_vector(a.report) == state_vector(b.report)
    assert state_vector(a.comments) == state_vector(b.comments)
    assert report_content(a.report) == report_content(b.report)
    assert comments_content(a.comments) == comments_content(b.comments)


@dataclass
class Summary:
    seeds: int = 0
    clients: int = 0
    edits: int = 0
    reconnects: int = 0
    failures: dict[int, str] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.seeds} seeds, {self.clients} clients, {self.edits} edits, "
            f"{self.reconnects} reconnects, {len(self.failures)} failed"
        )


async def run_seeds(
    seeds: Sequence[int],
    ws_bases: Sequence[str],
    room_prefix: str,
    test_name: str,
    concurrency: int = 6,
) -> Summary:
    """Run ``seeds``, ``concurrency`` at a time; every failure is kept with its replay line."""
    summary = Summary()
    gate = asyncio.Semaphore(concurrency)

    async def one(seed: int) -> None:
        async with gate:
            summary.seeds += 1
            try:
                done = await run_seed(seed, ws_bases, room_prefix)
            except Exception as exc:  # reported by the caller, with the line that replays it
                hint = replay_hint(seed, test_name)
                summary.failures[seed] = f"{type(exc).__name__}: {exc}\n  replay: {hint}"
                return
        summary.clients += done["clients"]
        summary.edits += done["edits"]
        summary.reconnects += done["reconnects"]

    async with asyncio.TaskGroup() as group:
        for seed in seeds:
            group.create_task(one(seed))
    return summary
