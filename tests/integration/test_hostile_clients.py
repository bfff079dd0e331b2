"""Hostile clients against a real server while well-behaved ones keep editing.

Forty sockets each commit one fault of the y-websocket protocol (random bytes, cut
frames, overlong varints, lying lengths, unknown types, garbage and out-of-range updates,
oversized and text frames, malformed awareness, floods, vanishing mid-session) or send
something the protocol says to accept or ignore, while three pycrdt clients edit one
report. Every hostile socket must be closed with the close code docs/protocol.md gives
for its fault (or stay served), ``/readyz`` must stay 200, the good clients must converge
on a state holding every edit they made (a fresh client too), and once everyone has gone
the gauges must be back to zero: no room, socket, subscription or commit left behind.

A second report takes the updates that Yrs applies in part before refusing (or applies
without reporting): the sender gets 1007, the room reloads from the store (1011 for the
bystander) and nothing of the update is ever served.

The run is seeded: ``COREPORT_SEED=n`` replays one; the seed is printed with the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pycrdt import Array, Doc, Map, Text, write_var_uint
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from coreport.protocol import codes, messages
from coreport.protocol.messages import AwarenessEntry, ProtocolError, SyncStep2, parse_message
from coreport.protocol.updates import check_update, decode_state_vector
from tests.support.cluster import metrics, samples, until_metrics
from tests.support.server import ServerProcess
from tests.support.yclient import synced_doc, wait_until

MAX_MESSAGE_BYTES = 64 * 1024
MESSAGE_BURST = 150
SERVER_ENV = {
    "COREPORT_ROOM_IDLE_SECONDS": "0.5",
    "COREPORT_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
    "COREPORT_MESSAGES_PER_SECOND": "50",
    "COREPORT_MESSAGE_BURST": str(MESSAGE_BURST),
    # Every socket of this test comes from 127.0.0.1.
    "COREPORT_CONNECTS_PER_MINUTE": "100000",
}
REPORT = "hostile"
BROKEN_REPORT = "hostile-partial"
GOOD_CLIENTS = 3
EDITS_PER_CLIENT = 40
HOSTILE_SOCKETS = 40
GAUGES = (
    "coreport_open_sockets",
    "coreport_loaded_rooms",
    "coreport_loading_rooms",
    "coreport_bus_subscriptions",
    "coreport_pending_commits",
)

#: What happened to a hostile socket: a close code, or one of these.
SERVED = "served"  # the messages were taken or ignored and the socket kept working
VANISHED = "vanished"  # the client dropped the TCP connection without a close frame


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path / "data", env=SERVER_ENV) as process:
        yield process


def _vu(value: int) -> bytes:
    return write_var_uint(value)


def _string(value: bytes) -> bytes:
    return _vu(len(value)) + value


# -- what hostile sockets send ---------------------------------------------------------------


@dataclass
class Plan:
    """One hostile socket: where it goes, what it sends, what must become of it."""

    kind: str
    room: str
    frames: list[bytes | str]
    expect: int | str
    #: Sent as fast as possible without reading (a flood).
    flood: bool = False
    #: Drop the TCP connection after sending.
    vanish: bool = False
    #: Client ids whose updates the server must have taken.
    accepted_clients: list[int] = field(default_factory=list)


def _decode_error(frame: bytes) -> int | None:
    try:
        parse_message(frame)
    except ProtocolError as exc:
        return exc.close.code
    return None


def _refused_whatever_the_document(update: bytes) -> bool:
    """Whether the room refuses ``update`` before Yrs changes anything: our bounds check
    refuses it, or Yrs cannot even decode it (both depend on the bytes alone)."""
    try:
        check_update(update)
    except ProtocolError:
        return True
    try:
        Doc().apply_update(update)
    except ValueError as exc:
        return str(exc).startswith("Cannot decode update")
    return False


def _real_update(rng: random.Random) -> bytes:
    doc = Doc(client_id=rng.randrange(1, 2**20))
    doc["title"] = Text("x" * rng.randrange(1, 30))
    doc["panels"] = Map({"p": rng.random()})
    return doc.get_update()


def _prelude(rng: random.Random) -> list[bytes | str]:
    """Harmless, valid messages a hostile client sends before its fault."""
    me = rng.randrange(2**21, 2**22)
    options: list[bytes | str] = [
        messages.sync_step1(b"\x00"),
        messages.query_awareness(),
        messages.sync_update(messages.EMPTY_UPDATE),
        messages.awareness([AwarenessEntry(me, 1, json.dumps({"user": {"name": "mallory"}}))]),
    ]
    return rng.sample(options, rng.randrange(0, len(options) + 1))


def _garbage_update(rng: random.Random) -> bytes:
    """An update the room refuses without touching the document, whatever it holds."""
    while True:
        base = bytearray(_real_update(rng))
        how = rng.randrange(3)
        if how == 0:
            candidate = rng.randbytes(rng.randrange(1, 60))
        elif how == 1:
            for _ in range(rng.randrange(1, 4)):
                base[rng.randrange(len(base))] = rng.randrange(256)
            candidate = bytes(base)
        else:
            candidate = bytes(base[: rng.randrange(1, len(base))])
        if _refused_whatever_the_document(candidate):
            return candidate


def _plan(kind: str, rng: random.Random) -> Plan:
    room = rng.choice([REPORT, REPORT, f"{REPORT}/comments"])
    frames = _prelude(rng)
    if kind == "random bytes":
        while True:
            fault = rng.randbytes(rng.randrange(0, 48))
            code = _decode_error(fault)
            if code is not None:
                return Plan(kind, room, [*frames, fault], code)
    if kind == "truncated frame":
        whole = rng.choice(
            [
                messages.sync_update(_real_update(rng)),
                messages.sync_step1(Doc().get_state() + b"\x05\x07"),
                messages.awareness([AwarenessEntry(9, 2, '{"cursor":null}')]),
            ]
        )
        fault = whole[: rng.randrange(0, len(whole))]
        return Plan(kind, room, [*frames, fault], codes.PROTOCOL_ERROR.code)
    if kind == "overlong varint":
        varint = b"\xff" * rng.randrange(9, 20) + b"\x01"
        fault = rng.choice([varint, b"\x00" + varint, b"\x00\x02" + varint, b"\x01" + varint])
        return Plan(kind, room, [*frames, fault], codes.PROTOCOL_ERROR.code)
    if kind == "lying length":
        declared = rng.choice([2**20, 2**40, 2**53 - 1])
        fault = rng.choice([b"\x00\x02", b"\x00\x01", b"\x01"]) + _vu(declared) + b"abc"
        return Plan(kind, room, [*frames, fault], codes.PROTOCOL_ERROR.code)
    if kind == "unknown type":
        fault = rng.choice([bytes([rng.randrange(4, 100)]), b"\x00\x07\x00", b"\x00\x09\x01a"])
        return Plan(kind, room, [*frames, fault], codes.UNSUPPORTED_DATA.code)
    if kind == "garbage update":
        wrap = rng.choice([messages.sync_update, messages.sync_step2])
        fault = wrap(_garbage_update(rng))
        return Plan(kind, room, [*frames, fault], codes.INVALID_PAYLOAD.code)
    if kind == "clock out of range":
        # A struct near 2**32: Yrs keeps clocks in 32 bits and would wrap it (and panic).
        clock = rng.choice([2**31 + 1, 2**32 - 10, 2**32 + 3, 2**53 - 1])
        update = (
            b"\x01\x02\x05" + _vu(clock)
            + b"\x27\x01" + _string(b"panels") + _string(b"c") + b"\x00"
            + b"\x08\x00\x05\x00\x01\x7e"
            + b"\x00"
        )  # fmt: skip
        fault = rng.choice([messages.sync_update, messages.sync_step2])(update)
        return Plan(kind, room, [*frames, fault], codes.INVALID_PAYLOAD.code)
    if kind == "bad state vector":
        fault = messages.sync_step1(b"\x05\x01")
        return Plan(kind, room, [*frames, fault], codes.INVALID_PAYLOAD.code)
    if kind == "other layout":
        # A valid update of another document layout: the roots of the report with other
        # types. The server does not check layouts; it is an edit like any other.
        client = rng.randrange(2**22, 2**23)
        doc = Doc(client_id=client)
        doc["title"] = Map({"k": "v"})
        doc["panels"] = Array([1, 2, 3])
        doc["foreign"] = Text("not in the layout")
        fault = rng.choice([messages.sync_update, messages.sync_step2])(doc.get_update())
        accepted = [client] if room == REPORT else []
        return Plan(kind, room, [*frames, fault], SERVED, accepted_clients=accepted)
    if kind == "ignored messages":
        fault_frames: list[bytes | str] = [
            b"\x02\x00" + _string(b"let me in"),  # auth, meaningless from a client
            messages.sync_update(messages.EMPTY_UPDATE),
            messages.sync_step2(messages.EMPTY_UPDATE),
        ]
        return Plan(kind, room, [*frames, *fault_frames], SERVED)
    if kind == "oversized frame":
        size = MAX_MESSAGE_BYTES + rng.randrange(1, 4096)
        fault = messages.sync_update(rng.randbytes(size))
        return Plan(kind, room, [*frames, fault], codes.MESSAGE_TOO_BIG.code)
    if kind == "text frame":
        return Plan(kind, room, [*frames, "hello, server"], codes.UNSUPPORTED_DATA.code)
    if kind == "awareness not JSON":
        fault = messages.awareness([AwarenessEntry(rng.randrange(1, 2**20), 1, "{user: oops")])
        return Plan(kind, room, [*frames, fault], codes.INVALID_PAYLOAD.code)
    if kind == "awareness not UTF-8":
        payload = _vu(1) + _vu(77) + _vu(1) + _string(b'{"a":"\xff\xfe"}')
        fault = b"\x01" + _string(payload)
        return Plan(kind, room, [*frames, fault], codes.INVALID_PAYLOAD.code)
    if kind == "flood":
        flood: list[bytes | str] = [messages.query_awareness()] * (MESSAGE_BURST * 3)
        return Plan(kind, room, flood, codes.RATE_LIMITED.code, flood=True)
    if kind == "vanish":
        return Plan(kind, room, [*frames, messages.sync_step1(b"\x00")], VANISHED, vanish=True)
    raise AssertionError(f"no plan for {kind}")


KINDS = [
    "random bytes",
    "truncated frame",
    "overlong varint",
    "lying length",
    "unknown type",
    "garbage update",
    "clock out of range",
    "bad state vector",
    "other layout",
    "ignored messages",
    "oversized frame",
    "text frame",
    "awareness not JSON",
    "awareness not UTF-8",
    "flood",
    "vanish",
]


# -- running a hostile socket ----------------------------------------------------------------


async def _until_closed(ws: ClientConnection) -> int | None:
    """Read until the server closes; its close code (None: no close frame)."""
    try:
        async with asyncio.timeout(15):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def _still_served(ws: ClientConnection) -> bool:
    """Ask for the document (sync step 1) and wait for the answer (sync step 2)."""
    await ws.send(messages.sync_step1(b"\x00"))
    async with asyncio.timeout(15):
        while True:
            frame = await ws.recv()
            if isinstance(frame, bytes) and isinstance(parse_message(frame), SyncStep2):
                return True


async def run_hostile(server: ServerProcess, plan: Plan, delay: float) -> tuple[int | str, int]:
    """Carry out ``plan``; return what became of the socket and the frames it sent."""
    await asyncio.sleep(delay)  # spread the faults over the good clients' editing
    sent = 0
    async with connect(f"{server.ws_base}/{plan.room}", max_size=None, ping_interval=None) as ws:
        try:
            for frame in plan.frames:
                await ws.send(frame)
                sent += 1
        except ConnectionClosed:
            pass  # closed while still sending: a flood, or the fault itself
        if plan.vanish:
            ws.transport.abort()
            return VANISHED, sent
        if plan.expect == SERVED:
            assert await _still_served(ws), plan.kind
            return SERVED, sent
        code = await _until_closed(ws)
        return (code if code is not None else VANISHED), sent


# -- the partial-update report ---------------------------------------------------------------

#: ``panels.a = 1`` then a value whose parent is that entry, not a type: Yrs applies the
#: first struct, then refuses the update.
PARTIAL_UPDATE = (
    b"\x01\x02\x05\x00"
    + b"\x28\x01" + _string(b"panels") + _string(b"a") + b"\x01\x7d\x01"
    + b"\x08\x00\x05\x00\x01\x7d\x02"
    + b"\x00"
)  # fmt: skip


def _ahead_of_its_client() -> bytes:
    """A map entry at clock 1 of a client whose clock 0 the server never saw: Yrs shows
    it but leaves it out of the change it reports."""
    writer = Doc(client_id=6)
    writer["panels"] = panels = Map()
    panels["x"] = 1
    first = writer.get_state()
    panels["y"] = 2
    return writer.get_update(first)


async def partial_updates_reload_the_room(server: ServerProcess) -> list[int | str]:
    """Each of two updates Yrs mishandles closes its sender (1007) and the bystander
    (1011), and nothing of it is ever served."""
    outcomes: list[int | str] = []
    bystander_doc = Doc()
    bystander_doc["title"] = Text("stored before")
    for update in (PARTIAL_UPDATE, _ahead_of_its_client()):
        async with (
            connect(f"{server.ws_base}/{BROKEN_REPORT}?ack=1", ping_interval=None) as bystander,
            connect(f"{server.ws_base}/{BROKEN_REPORT}", ping_interval=None) as hostile,
        ):
            # The bystander's content is durable before the hostile update arrives.
            await bystander.send(messages.sync_update(bystander_doc.get_update()))
            ack = bytes((messages.MessageType.ACK,))
            async with asyncio.timeout(15):
                while (await bystander.recv())[:1] != ack:
                    pass
            await hostile.send(messages.sync_update(update))
            outcomes.append(await _until_closed(hostile) or VANISHED)
            outcomes.append(await _until_closed(bystander) or VANISHED)
        async with synced_doc(server.ws_base, BROKEN_REPORT) as fresh:
            await wait_until(fresh, lambda: str(fresh.get("title", type=Text)) == "stored before")
            assert fresh.get("panels", type=Map).to_py() == {}
            assert set(_state(fresh)) == {bystander_doc.client_id}
    return outcomes


# -- the good clients ------------------------------------------------------------------------


def _state(doc: Doc) -> dict[int, int]:
    """The state vector, without clients at clock 0 (named, nothing of them applied)."""
    return {
        client: clock for client, clock in decode_state_vector(doc.get_state()).items() if clock
    }


def _tokens(client: int) -> list[str]:
    return [f"<c{client}.{n}>" for n in range(EDITS_PER_CLIENT)]


def _content(doc: Doc) -> tuple[str, dict[str, object]]:
    return str(doc.get("title", type=Text)), doc.get("panels", type=Map).to_py()


def _holds_every_edit(doc: Doc) -> bool:
    title, panels = _content(doc)
    return all(
        token in title and f"c{client}-{n}" in panels
        for client in range(GOOD_CLIENTS)
        for n, token in enumerate(_tokens(client))
    )


async def edit(doc: Doc, client: int, rng: random.Random) -> None:
    title = doc.get("title", type=Text)
    panels = doc.get("panels", type=Map)
    for n, token in enumerate(_tokens(client)):
        with doc.transaction():
            title.insert(rng.choice([0, len(title)]), token)  # never inside another token
            panels[f"c{client}-{n}"] = n
        await asyncio.sleep(rng.uniform(0.005, 0.05))  # a person's pace, roughly


async def watch_readiness(server: ServerProcess, stop: asyncio.Event) -> list[int]:
    statuses = []
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        while not stop.is_set():
            statuses.append((await http.get("/readyz")).status_code)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    return statuses


# -- the test --------------------------------------------------------------------------------


async def test_hostile_clients_leave_good_ones_and_the_server_unharmed(
    server: ServerProcess,
) -> None:
    seed = int(os.environ.get("COREPORT_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    started = time.monotonic()
    print(f"\nhostile clients: seed {seed} (replay: COREPORT_SEED={seed} pytest {__file__})")

    assert {name: metrics(server)[name] for name in GAUGES} == dict.fromkeys(GAUGES, 0.0)
    kinds = KINDS + [rng.choice(KINDS) for _ in range(HOSTILE_SOCKETS - len(KINDS))]
    rng.shuffle(kinds)
    plans = [_plan(kind, rng) for kind in kinds]

    stop = asyncio.Event()
    readiness = asyncio.create_task(watch_readiness(server, stop))
    async with contextlib.AsyncExitStack() as stack:
        docs = [
            await stack.enter_async_context(synced_doc(server.ws_base, REPORT))
            for _ in range(GOOD_CLIENTS)
        ]
        editing = [edit(doc, i, random.Random(rng.random())) for i, doc in enumerate(docs)]
        hostile = [run_hostile(server, plan, rng.uniform(0, 1.5)) for plan in plans]
        results = await asyncio.gather(*editing, *hostile, partial_updates_reload_the_room(server))
        outcomes: list[tuple[int | str, int]] = results[GOOD_CLIENTS : GOOD_CLIENTS + len(plans)]
        partial_outcomes: list[int | str] = results[-1]

        # Every good client holds every good edit, and all converge on one state with a
        # fresh client: the edits and the other-layout updates the server took.
        for doc in docs:
            await wait_until(doc, lambda doc=doc: _holds_every_edit(doc), 20)
        async with synced_doc(server.ws_base, REPORT) as fresh:
            await wait_until(fresh, lambda: _holds_every_edit(fresh), 20)
            target = _state(fresh)
            for doc in docs:
                await wait_until(doc, lambda doc=doc: _state(doc) == target, 20)
                assert _content(doc) == _content(fresh)
            taken = [c for plan in plans for c in plan.accepted_clients]
            assert set(taken) <= set(target)
    stop.set()
    statuses = await readiness

    mismatches = [
        f"{plan.kind} ({plan.room}): expected {plan.expect}, got {outcome}"
        for plan, (outcome, _) in zip(plans, outcomes, strict=True)
        if outcome != plan.expect
    ]
    assert not mismatches, f"seed {seed}: " + "; ".join(mismatches)
    assert partial_outcomes == [codes.INVALID_PAYLOAD.code, codes.INTERNAL_ERROR.code] * 2
    assert statuses
    assert set(statuses) == {200}, f"seed {seed}: /readyz answered {Counter(statuses)}"

    # Everyone has gone: nothing may be left behind.
    await until_metrics(server, dict.fromkeys(GAUGES, 0.0), 20)
    values = samples(server)
    assert values.get('coreport_errors_total{kind="internal"}', 0) == 0
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        for report in (REPORT, BROKEN_REPORT):
            presence = (await http.get(f"/api/reports/{report}/presence")).json()
            assert presence["present"] == [], presence
    assert not [line for line in server.output if re.search(r"Traceback|panicked", line)]

    closes = Counter(str(outcome) for outcome, _ in outcomes)
    closes.update(str(outcome) for outcome in partial_outcomes)
    print(
        f"hostile clients: seed {seed}: {len(plans) + 2} hostile sockets "
        f"({len(plans)} on the edited report, 2 on the partial-update one beside 2 "
        f"bystanders), {sum(sent for _, sent in outcomes) + 2} hostile frames sent; outcomes "
        + ", ".join(f"{name} x{count}" for name, count in sorted(closes.items()))
        + f"; {GOOD_CLIENTS} good clients made {GOOD_CLIENTS * EDITS_PER_CLIENT} edits and "
        f"converged; /readyz 200 x{len(statuses)}; gauges back to 0; "
        f"{time.monotonic() - started:.1f} s"
    )
