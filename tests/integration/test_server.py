"""A real ``coreport serve`` process, real sockets, pycrdt clients."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pycrdt import Doc, Map, Text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from coreport.protocol import codes, messages
from coreport.protocol.messages import AwarenessEntry
from tests.support.server import ServerProcess
from tests.support.yclient import close_code, next_awareness_update, synced_doc, wait_until


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path / "data", env={"COREPORT_ROOM_IDLE_SECONDS": "0.5"}) as process:
        yield process


def get_json(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def metric(server: ServerProcess, name: str) -> float:
    with urllib.request.urlopen(server.url + "metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"metric {name} not exported")


def text(doc: Doc) -> str:
    return str(doc.get("t", type=Text))


async def test_health_and_readiness(server: ServerProcess) -> None:
    assert get_json(server.url + "healthz") == (200, {"status": "ok"})
    status, body = await asyncio.to_thread(get_json, server.url + "readyz")
    assert status == 200
    assert body["checks"] == {"store": "ok", "bus": "ok"}


async def test_two_clients_converge(server: ServerProcess) -> None:
    async with synced_doc(server.ws_base, "conv") as a, synced_doc(server.ws_base, "conv") as b:
        a["t"] = Text()
        b["t"] = Text()
        b["m"] = Map()
        text_a, text_b = a.get("t", type=Text), b.get("t", type=Text)
        with a.transaction():
            text_a += "from a;"
        with b.transaction():
            text_b += "from b;"
            b.get("m", type=Map)["k"] = 1
        await wait_until(a, lambda: "from b;" in text(a) and "m" in a)
        await wait_until(b, lambda: "from a;" in text(b))
        assert text(a) == text(b)
        assert a.get("m", type=Map).to_py() == {"k": 1}


async def test_late_joiner_gets_the_document(server: ServerProcess) -> None:
    async with synced_doc(server.ws_base, "late") as a:
        a["t"] = Text("written before you came")
        async with synced_doc(server.ws_base, "late") as b:
            await wait_until(b, lambda: text(b) == "written before you came")


async def test_content_survives_a_restart(server: ServerProcess) -> None:
    async with synced_doc(server.ws_base, "restart") as a:
        a["t"] = Text("durable")
        async with synced_doc(server.ws_base, "restart") as b:
            await wait_until(b, lambda: text(b) == "durable")
    # uvicorn re-raises SIGTERM after a graceful shutdown, so the exit status is -15.
    assert server.stop() in (0, -15)
    assert any("Application shutdown complete" in line for line in server.output)
    server.start()
    async with synced_doc(server.ws_base, "restart") as c:
        await wait_until(c, lambda: text(c) == "durable")


async def test_kill_during_writes_loses_nothing_another_client_received(
    server: ServerProcess,
) -> None:
    """What any other person has seen survives kill -9 (DESIGN.md §3)."""
    received = Doc()
    writer = Doc()
    writer["t"] = Text()
    seen: list[str] = []
    try:
        async with (
            synced_doc(server.ws_base, "kill", received),
            synced_doc(server.ws_base, "kill", writer),
        ):
            wtext = writer.get("t", type=Text)
            for i in range(200):
                wtext += f"<{i}>"
                if i == 120:
                    await wait_until(received, lambda: "<100>" in text(received))
                    seen.append(text(received))
                    server.kill()
                await asyncio.sleep(0)  # let the provider send between edits
    except (ConnectionClosed, OSError, TimeoutError, ExceptionGroup):
        pass  # the server died under the clients, as intended
    observed = seen[0] if seen else text(received)
    assert "<100>" in observed
    server.start()
    async with synced_doc(server.ws_base, "kill") as fresh:
        await wait_until(fresh, lambda: text(fresh).startswith(observed[: len(observed)]))
        assert observed in text(fresh) or text(fresh).startswith(observed)


async def test_ack_after_durable_store(server: ServerProcess) -> None:
    doc: Doc = Doc()
    doc["t"] = Text("ack me")
    async with connect(server.ws_base + "/acked?ack=1") as ws:
        await ws.send(messages.sync_update(doc.get_update()))
        acks = []
        while not acks:
            frame = await asyncio.wait_for(ws.recv(), 10)
            assert isinstance(frame, bytes)
            if frame[0] == messages.MessageType.ACK:
                acks.append(messages.parse_ack(frame))
        assert acks == [(1, 1)]


async def test_standard_clients_never_get_acks(server: ServerProcess) -> None:
    doc: Doc = Doc()
    doc["t"] = Text("no ack")
    async with connect(server.ws_base + "/noack") as ws:
        await ws.send(messages.sync_update(doc.get_update()))
        await ws.send(messages.sync_step1(b"\x00"))
        types = []
        while len([t for t in types if t == 0]) < 2:  # step1 from server, then our step2
            frame = await asyncio.wait_for(ws.recv(), 10)
            assert isinstance(frame, bytes)
            types.append(frame[0])
        assert messages.MessageType.ACK not in types


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x00\x02\x80", codes.PROTOCOL_ERROR.code),
        (b"\x42", codes.UNSUPPORTED_DATA.code),
        (messages.sync_update(b"\x05\xff\xff\xff"), codes.INVALID_PAYLOAD.code),
        ("text frame", codes.UNSUPPORTED_DATA.code),
    ],
)
async def test_bad_input_closes_only_that_socket(
    server: ServerProcess, frame: bytes | str, code: int
) -> None:
    async with synced_doc(server.ws_base, "bad") as good:
        good["t"] = Text("still here")
        async with connect(server.ws_base + "/bad") as ws:
            await ws.send(frame)
            assert (await close_code(ws))[0] == code
        good.get("t", type=Text).insert(0, ">")
        async with synced_doc(server.ws_base, "bad") as other:
            await wait_until(other, lambda: text(other) == ">still here")


async def test_oversized_message_is_refused_with_1009(tmp_path: Path) -> None:
    env = {"COREPORT_MAX_MESSAGE_BYTES": "4096"}
    with ServerProcess(tmp_path / "data", env=env) as small:
        async with connect(small.ws_base + "/big", max_size=None) as ws:
            await ws.send(messages.sync_update(b"\x00" * 10_000))
            assert (await close_code(ws))[0] == 1009
        async with synced_doc(small.ws_base, "big") as doc:
            assert text(doc) == ""


async def test_cursor_moves_within_the_interval_reach_the_others_as_the_latest_only(
    tmp_path: Path,
) -> None:
    # A long interval, so the three moves below land in one however slow the machine.
    env = {"COREPORT_AWARENESS_INTERVAL_SECONDS": "0.5"}
    with ServerProcess(tmp_path / "data", env=env) as served:
        async with (
            connect(served.ws_base + "/cursors") as watcher,
            connect(served.ws_base + "/cursors") as mover,
        ):
            # Each is in the room once the server's sync step 1 has come.
            for ws in (watcher, mover):
                frame = await asyncio.wait_for(ws.recv(), 10)
                assert isinstance(frame, bytes)
                assert frame[:2] == b"\x00\x00"
            moves = [AwarenessEntry(5, clock, f'{{"cursor":{clock}}}') for clock in (1, 2, 3)]
            for entry in moves:
                await mover.send(messages.awareness([entry]))

            seen = [(await next_awareness_update(watcher)).entries for _ in range(2)]
            # The first at once; the next two together at the interval's end, as the latest.
            assert seen == [(moves[0],), (moves[2],)]
            # The mover gets the watcher's move, and never its own states back.
            watcher_move = AwarenessEntry(6, 1, '{"cursor":6}')
            await watcher.send(messages.awareness([watcher_move]))
            to_mover: list[AwarenessEntry] = []
            while watcher_move not in to_mover:
                to_mover += (await next_awareness_update(mover)).entries
            assert to_mover == [watcher_move]


async def test_malformed_report_id_gets_a_clear_close(server: ServerProcess) -> None:
    async with connect(server.ws_base + "/not%20valid%21") as ws:
        code, reason = await close_code(ws)
    assert code == codes.BAD_REQUEST.code
    assert "report id" in reason


async def test_gauges_return_to_zero(server: ServerProcess) -> None:
    async with (
        synced_doc(server.ws_base, "gauge") as a,
        synced_doc(server.ws_base, "gauge/comments") as b,
    ):
        a["t"] = Text("x")
        b["t"] = Text("y")
        assert metric(server, "coreport_open_sockets") == 2
        assert metric(server, "coreport_loaded_rooms") == 2
        # The embedded default's in-process bus has no other instance on it: rooms
        # neither subscribe to it nor publish on it.
        assert metric(server, "coreport_bus_subscriptions") == 0
    # Rooms unload 0.5 s after their last client left. The server is another process with
    # no event to wait on, so ask it, a bounded number of times.
    for _ in range(150):
        if metric(server, "coreport_loaded_rooms") == 0:
            break
        await asyncio.sleep(0.1)
    assert metric(server, "coreport_loaded_rooms") == 0
    assert metric(server, "coreport_open_sockets") == 0
    assert metric(server, "coreport_bus_subscriptions") == 0
    assert metric(server, "coreport_loading_rooms") == 0


async def test_sigterm_closes_sockets_with_1012_and_keeps_pending_writes(
    server: ServerProcess,
) -> None:
    doc: Doc = Doc()
    doc["t"] = text_ = Text()
    async with connect(server.ws_base + "/term") as ws:
        for i in range(50):
            before = doc.get_state()
            text_ += f"[{i}]"
            await ws.send(messages.sync_update(doc.get_update(before)))
        stopping = asyncio.create_task(asyncio.to_thread(server.stop))
        assert (await close_code(ws))[0] == codes.SERVICE_RESTART.code
        await stopping
    server.start()
    async with synced_doc(server.ws_base, "term") as fresh:
        await wait_until(fresh, lambda: text(fresh) == str(text_))
