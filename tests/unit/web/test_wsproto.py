"""The direct send path: frames as websockets would write them, and declining whenever the
socket cannot take a write now (so the session queues through ASGI instead)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest
from websockets.frames import Frame, Opcode

from coreport.web.wsproto import CoreportWebSocketProtocol, DirectFrames, binary_frame


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
    assert frames.try_send(b"\x00\x02\x05hello")
    assert fake.transport.written == [binary_frame(b"\x00\x02\x05hello")]


def test_a_paused_transport_declines() -> None:
    frames, fake = protocol()
    fake.writable.clear()  # asyncio called pause_writing(): above the high-water mark
    assert not frames.try_send(b"x")
    assert fake.transport.written == []
    fake.writable.set()  # resume_writing()
    assert frames.try_send(b"x")


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
    assert not frames.try_send(b"x")
    assert fake.transport.written == []


def test_a_closing_transport_declines() -> None:
    frames, fake = protocol()
    fake.transport.closing = True
    assert not frames.try_send(b"x")
    assert fake.transport.written == []
