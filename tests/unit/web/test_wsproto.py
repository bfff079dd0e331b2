"""The direct send path: frames as websockets would write them, and declining whenever the
socket cannot take a write now (so the session queues through ASGI instead)."""

from __future__ import annotations

import asyncio
import gc
import random
import weakref
from types import SimpleNamespace
from typing import Any, cast

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode

from coreport.web.wsproto import (
    EXTENSION,
    CoreportWebSocketProtocol,
    DirectFrames,
    binary_frame,
    direct_frames,
)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 300_000])
def test_frames_match_websockets_own_encoding(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    expected = Frame(Opcode.BINARY, payload).serialize(mask=False)
    assert binary_frame(payload) == expected


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing


def protocol(**state: Any) -> tuple[DirectFrames, SimpleNamespace]:
    writable = asyncio.Event()
    writable.set()
    fields: dict[str, Any] = {
        "handshake_complete": True,
        "close_sent": False,
        "disconnected": False,
        "writable": writable,
        "transport": Transport(),
    }
    fields.update(state)
    fake = SimpleNamespace(**fields)
    return DirectFrames(cast(CoreportWebSocketProtocol, fake)), fake


def test_an_open_socket_with_room_is_written_at_once() -> None:
    frames, fake = protocol()
    assert frames.try_send([b"\x00\x02\x05hello"])
    assert fake.transport.written == [binary_frame(b"\x00\x02\x05hello")]


def test_several_messages_go_in_one_write() -> None:
    frames, fake = protocol()
    assert frames.try_send([b"one", b"x" * 200, b"three"])
    assert fake.transport.written == [
        binary_frame(b"one") + binary_frame(b"x" * 200) + binary_frame(b"three")
    ]


def test_a_paused_transport_declines() -> None:
    frames, fake = protocol()
    fake.writable.clear()  # asyncio called pause_writing(): above the high-water mark
    assert not frames.try_send([b"x"])
    assert fake.transport.written == []
    fake.writable.set()  # resume_writing()
    assert frames.try_send([b"x"])


@pytest.mark.parametrize(
    "state",
    [
        {"handshake_complete": False},
        {"close_sent": True},
        {"disconnected": True},
    ],
)
def test_a_socket_not_open_declines(state: dict[str, Any]) -> None:
    frames, fake = protocol(**state)
    assert not frames.try_send([b"x"])
    assert fake.transport.written == []


def test_a_closing_transport_declines() -> None:
    frames, fake = protocol()
    fake.transport.closing = True
    assert not frames.try_send([b"x"])
    assert fake.transport.written == []


class ReadTransport(Transport):
    """What the protocol does to its transport's reading: pauses and resumes counted."""

    def __init__(self) -> None:
        super().__init__()
        self.pauses = 0
        self.resumes = 0

    def pause_reading(self) -> None:
        self.pauses += 1

    def resume_reading(self) -> None:
        self.resumes += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def close(self) -> None:
        self.closing = True


async def _never_called(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the test drives the protocol without running the app")


def masked(payload: bytes) -> bytes:
    """A client's binary frame (clients must mask)."""
    return Frame(Opcode.BINARY, payload).serialize(mask=True)


def upgraded_protocol(
    max_size: int = 16 * 1024 * 1024,
) -> tuple[CoreportWebSocketProtocol, ReadTransport]:
    """A protocol that has read a client's upgrade request; the app has not answered."""
    config = Config(app=_never_called, ws=CoreportWebSocketProtocol, lifespan="off")
    config.ws_max_size = max_size
    config.load()
    proto = CoreportWebSocketProtocol(config, ServerState(), app_state={})
    transport = ReadTransport()
    proto.connection_made(cast(asyncio.Transport, transport))
    proto.data_received(
        b"GET /ws/reports/r1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    for task in list(proto.tasks):
        task.cancel()  # the app is not run; the test plays its part through the queue
    proto.queue.get_nowait()  # websocket.connect
    return proto, transport


def accepted_protocol() -> tuple[CoreportWebSocketProtocol, ReadTransport]:
    proto, transport = upgraded_protocol()
    proto.handshake_complete = True
    return proto, transport


async def test_an_accepted_socket_lets_go_of_its_handshake() -> None:
    proto, transport = upgraded_protocol()
    request = weakref.ref(proto.request)
    await proto.send({"type": "websocket.accept", "subprotocol": None, "headers": []})
    try:
        assert transport.written[-1].startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        # The request and response headers are not kept for the socket's life, not even
        # by websockets' frame parser, which began with the handshake.
        assert not hasattr(proto, "request")
        assert not hasattr(proto, "response")
        gc.collect()
        assert request() is None
        frames = direct_frames(cast(dict[str, Any], proto.scope))
        assert frames is not None
        assert frames.try_send([b"x"])
        assert transport.written[-1] == binary_frame(b"x")
        # The new parser reads frames as the old one would have.
        proto.data_received(masked(b"first") + masked(b"second"))
        assert await received(proto) == b"first"
        assert await received(proto) == b"second"
    finally:
        proto.stop_keepalive()


async def received(proto: CoreportWebSocketProtocol) -> bytes:
    """The payload of the next ``websocket.receive`` event the app would get."""
    message = cast(dict[str, Any], await proto.receive())
    assert message["type"] == "websocket.receive"
    return cast(bytes, message["bytes"])


async def test_reading_goes_on_while_the_app_keeps_up_and_pauses_when_it_falls_behind() -> None:
    proto, transport = accepted_protocol()
    extensions = cast(dict[str, Any], proto.scope["extensions"])
    assert isinstance(extensions[EXTENSION]["frames"], DirectFrames)
    assert direct_frames(cast(dict[str, Any], proto.scope)) is extensions[EXTENSION]["frames"]
    assert direct_frames({"type": "websocket"}) is None  # another server offers none
    for i in range(5):
        proto.data_received(masked(b"small %d" % i))
        assert await received(proto) == b"small %d" % i
    assert (transport.pauses, transport.resumes) == (0, 0)

    for i in range(9):  # the app takes nothing: the 9th waits behind 8
        proto.data_received(masked(b"queued %d" % i))
    assert transport.pauses == 1
    for i in range(9):
        assert await received(proto) == b"queued %d" % i
    assert transport.resumes == 1  # resumed once the app had taken everything

    proto.data_received(masked(b"x" * 20_000))  # a large message pauses reading by itself
    assert transport.pauses == 2
    await proto.receive()
    assert transport.resumes == 2


def frame(opcode: Opcode, payload: bytes, *, fin: bool = True) -> bytes:
    return Frame(opcode, payload, fin=fin).serialize(mask=True)


async def test_binary_messages_go_to_the_receiver_while_nothing_waits_in_the_queue() -> None:
    proto, transport = accepted_protocol()
    frames = direct_frames(cast(dict[str, Any], proto.scope))
    assert frames is not None
    got: list[bytes | None] = []
    frames.receive_with(got.append)

    proto.data_received(masked(b"one") + masked(b"two"))
    assert got == [b"one", b"two"]  # in the call, in order, nothing queued
    assert proto.queue.empty()
    proto.data_received(frame(Opcode.BINARY, b"thr", fin=False) + frame(Opcode.CONT, b"ee"))
    assert got[-1] == b"three"  # a fragmented message arrives whole

    # A text frame is the application's to refuse: it queues, and what follows it queues
    # behind it so the order holds. The receiver is told each time (None): read the queue.
    proto.data_received(frame(Opcode.TEXT, b"text") + masked(b"four"))
    assert got == [b"one", b"two", b"three", None, None]
    assert (await proto.receive())["type"] == "websocket.receive"
    assert await received(proto) == b"four"
    proto.data_received(masked(b"five"))  # the queue is empty again
    assert got[-1] == b"five"

    frames.receive_with(None)
    proto.data_received(masked(b"six"))
    assert got[-1] == b"five"  # queued, unannounced
    frames.receive_with(got.append)
    assert got[-1] is None  # taken up again while something waits: told at once
    assert await received(proto) == b"six"
    assert (transport.pauses, transport.resumes) == (0, 0)

    told = len(got)
    proto.connection_lost(None)  # the disconnect is announced like any queued event
    assert got[told:] == [None]
    assert (await proto.receive())["type"] == "websocket.disconnect"


# -- reading frames: the protocol's own header reading against websockets' parser --------


async def open_protocol(
    *, own_framing: bool = True, max_size: int = 16 * 1024 * 1024
) -> tuple[CoreportWebSocketProtocol, ReadTransport]:
    """A socket accepted the way the app accepts one; ``own_framing=False`` leaves every
    frame to websockets' parser, as before the protocol read headers itself."""
    proto, transport = upgraded_protocol(max_size)
    await proto.send({"type": "websocket.accept", "subprotocol": None, "headers": []})
    proto.stop_keepalive()
    transport.written.clear()
    if not own_framing:
        proto._reading_frames = False
    return proto, transport


def unmasked(payload: bytes) -> bytes:
    return Frame(Opcode.BINARY, payload).serialize(mask=False)


def _splits(stream: bytes) -> list[list[bytes]]:
    """The stream cut into chunks of several fixed sizes and at random places."""
    ways = [[stream]]
    for size in (1, 2, 3, 5, 13, 64, 4096):
        ways.append([stream[i : i + size] for i in range(0, len(stream), size)])
    rng = random.Random(7)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(stream)), 12))
        ways.append([stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)])
    return ways


async def _outcome(
    chunks: list[bytes], *, own_framing: bool, max_size: int, receiver: bool
) -> dict[str, Any]:
    """What the app and the client see when ``chunks`` arrive one read each (no more reads
    once the socket is closed, as on a real transport)."""
    proto, transport = await open_protocol(own_framing=own_framing, max_size=max_size)
    got: list[bytes | None] = []
    frames = direct_frames(cast(dict[str, Any], proto.scope))
    assert frames is not None
    if receiver:
        frames.receive_with(got.append)
    for chunk in chunks:
        if transport.closing:
            break
        proto.data_received(chunk)
    queued = []
    while not proto.queue.empty():
        queued.append(proto.queue.get_nowait())
    return {
        "received": got,
        "queued": queued,
        "written": b"".join(transport.written),
        "pauses": transport.pauses,
        "closing": transport.closing,
        "types": {type(m) for m in got if m is not None},
    }


STREAMS: dict[str, list[bytes]] = {
    "binary of every header size": [
        masked(b"a"),
        masked(b""),
        masked(b"x" * 125),
        masked(b"y" * 126),
        masked(b"z" * 65_535),
        masked(b"w" * 65_536),  # above what the protocol reads itself
        masked(b"v" * 70_000),
    ],
    "control frames and fragments between": [
        masked(b"one"),
        frame(Opcode.PING, b"are you there"),
        frame(Opcode.BINARY, b"fr", fin=False),
        frame(Opcode.CONT, b"ag", fin=False),
        frame(Opcode.CONT, b"ment"),
        frame(Opcode.PONG, b""),
        masked(b"two"),
    ],
    "text, then binary behind it": [
        masked(b"one"),
        frame(Opcode.TEXT, b"text"),
        masked(b"two"),
        masked(b"three"),
    ],
    "an unmasked frame fails the socket": [masked(b"one"), unmasked(b"bad"), masked(b"never")],
    "binary inside a fragmented message": [
        frame(Opcode.BINARY, b"fr", fin=False),
        masked(b"bad"),
        masked(b"never"),
    ],
    "a reserved bit": [masked(b"one"), bytes((0x82 | 0x40,)) + masked(b"bad")[1:], masked(b"x")],
    "close, then more": [
        masked(b"one"),
        Frame(Opcode.CLOSE, b"\x03\xe8bye").serialize(mask=True),
        masked(b"after close"),
    ],
    "too large for the socket": [masked(b"one"), masked(b"x" * 3000), masked(b"never")],
}


@pytest.mark.parametrize("receiver", [True, False], ids=["direct", "queued"])
@pytest.mark.parametrize("name", list(STREAMS))
async def test_frames_read_here_arrive_as_websockets_parser_delivers_them(
    name: str, receiver: bool
) -> None:
    """However the stream is cut into reads, the application sees what websockets' own
    parser gives it when each frame arrives in a read of its own: the same messages in the
    same order, the same pongs and close frames written back, the same failures."""
    max_size = 2000 if name == "too large for the socket" else 16 * 1024 * 1024
    expected = await _outcome(
        STREAMS[name], own_framing=False, max_size=max_size, receiver=receiver
    )
    assert expected["received"] or expected["queued"]
    for chunks in _splits(b"".join(STREAMS[name])):
        got = await _outcome(chunks, own_framing=True, max_size=max_size, receiver=receiver)
        assert got == expected, (name, [len(c) for c in chunks][:20])


async def test_a_socket_reads_headers_itself_once_open() -> None:
    proto, _ = await open_protocol()
    assert proto._reading_frames
    assert proto._direct_max == 64 * 1024
    small, _ = await open_protocol(max_size=1000)
    assert small._direct_max == 1000
    # Half a frame waits for the rest; nothing reaches the app until it is whole.
    got: list[bytes | None] = []
    frames = direct_frames(cast(dict[str, Any], proto.scope))
    assert frames is not None
    frames.receive_with(got.append)
    data = masked(b"hello") + masked(b"world")
    cut = len(masked(b"hello")) + 3  # the second frame's header, not all of it
    proto.data_received(data[:cut])
    assert got == [b"hello"]
    assert proto._unread == data[len(masked(b"hello")) : cut]
    proto.data_received(data[cut:])
    assert got == [b"hello", b"world"]
    assert proto._unread == b""
