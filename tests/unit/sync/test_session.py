"""Session send path: merging updates for a client that fell behind, and dropping a
client that stopped reading."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import cast

from pycrdt import Doc, Text

from coreport.metrics import Metrics
from coreport.protocol import codes, messages
from coreport.protocol.messages import SyncUpdate, parse_message
from coreport.sync.cork import SendCork
from coreport.sync.room import Room
from coreport.sync.session import Session


class HeldTransport:
    """Each send waits until the test lets it through."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.open = asyncio.Event()
        self.closed: tuple[int, str] | None = None
        self.gone = asyncio.Event()
        self.delivered = asyncio.Condition()

    async def receive(self) -> bytes | None:
        await self.gone.wait()
        return None

    def try_send(self, messages: Sequence[bytes]) -> bool:
        return False  # no direct path: every message goes through send()

    def receive_with(self, receiver: Callable[[bytes | None], object] | None) -> bool:
        return False  # every frame comes from receive()

    async def send(self, data: bytes) -> None:
        await self.open.wait()
        async with self.delivered:
            self.sent.append(data)
            self.delivered.notify_all()

    async def wait_for_frames(self, count: int) -> None:
        async with self.delivered:
            await asyncio.wait_for(self.delivered.wait_for(lambda: len(self.sent) >= count), 5)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self.gone.set()


def updates(count: int) -> list[bytes]:
    doc: Doc = Doc()
    doc["t"] = text = Text()
    out = []
    for i in range(count):
        before = doc.get_state()
        text += f"<{i}>"
        out.append(doc.get_update(before))
    return out


async def test_updates_queued_behind_a_slow_send_go_out_merged() -> None:
    transport = HeldTransport()
    session = Session(transport, Metrics(), label="t")
    parts = updates(20)
    session.send(messages.sync_update(parts[0]))
    await asyncio.sleep(0)  # the writer takes the first message and waits in send()
    for part in parts[1:]:
        session.send(messages.sync_update(part))
    session.send(messages.query_awareness())
    transport.open.set()
    await transport.wait_for_frames(3)
    first, merged, other = transport.sent
    assert parse_message(first) == SyncUpdate(parts[0])
    assert other == messages.query_awareness()
    doc: Doc = Doc()
    doc.apply_update(parts[0])
    parsed = parse_message(merged)
    assert isinstance(parsed, SyncUpdate)
    doc.apply_update(parsed.update)
    assert str(doc.get("t", type=Text)) == "".join(f"<{i}>" for i in range(20))
    session.close(codes.NORMAL)
    await asyncio.wait_for(transport.gone.wait(), 5)


async def test_a_client_that_stops_reading_is_dropped() -> None:
    transport = HeldTransport()  # never opened: nothing is ever delivered
    session = Session(transport, Metrics(), label="t", send_buffer_bytes=10_000)
    for part in updates(2000):
        session.send(messages.sync_update(part))
    transport.open.set()
    await asyncio.wait_for(transport.gone.wait(), 5)
    assert transport.closed is not None
    assert transport.closed[0] == codes.SLOW_CONSUMER.code


class DirectTransport(HeldTransport):
    """Takes messages at once while ``room`` is set, like a socket below its high-water
    mark; otherwise the session must go through ``send`` (held until ``open``)."""

    def __init__(self) -> None:
        super().__init__()
        self.room = True
        self.writes: list[list[bytes]] = []  # what each direct write carried

    def try_send(self, messages: Sequence[bytes]) -> bool:
        if self.room:
            self.writes.append(list(messages))
            self.sent.extend(messages)
        return self.room


async def test_messages_go_straight_out_while_the_socket_has_room_and_keep_their_order() -> None:
    transport = DirectTransport()
    session = Session(transport, Metrics(), label="t")
    first, second, third, fourth = (messages.ack(i, i) for i in range(1, 5))
    session.send(first)
    assert transport.sent == [first]  # no task switch: written in the call
    transport.room = False
    session.send(second)
    await asyncio.sleep(0)  # the writer takes it and waits in send()
    transport.room = True
    session.send(third)  # the socket has room again, but must not overtake `second`
    session.send(fourth)
    assert transport.sent == [first]
    transport.open.set()
    await transport.wait_for_frames(4)
    assert transport.sent == [first, second, third, fourth]
    session.send(first)
    assert transport.sent[-1] == first  # the queue is empty again: straight out
    session.close(codes.NORMAL)
    await asyncio.wait_for(transport.gone.wait(), 5)


@asynccontextmanager
async def corked_pair() -> AsyncIterator[
    tuple[SendCork, Session, Session, DirectTransport, DirectTransport]
]:
    """Two sessions sharing a send cork, each on a direct transport; closed at the end."""
    cork = SendCork()
    first, second = DirectTransport(), DirectTransport()
    a = Session(first, Metrics(), label="a", cork=cork)
    b = Session(second, Metrics(), label="b", cork=cork)
    yield cork, a, b, first, second
    for session in (a, b):
        session.close(codes.NORMAL)
    await asyncio.wait_for(asyncio.gather(first.gone.wait(), second.gone.wait()), 5)


async def test_what_follows_a_write_in_the_same_turn_of_the_loop_goes_in_one_write() -> None:
    async with corked_pair() as (_, a, b, first, second):
        batch = [messages.ack(i, i) for i in range(1, 4)]
        for message in batch:
            a.send(message)
            b.send(message)
        # The first went out at once, the others wait for the loop's next turn.
        assert first.writes == second.writes == [[batch[0]]]
        await asyncio.sleep(0)
        assert first.writes == second.writes == [[batch[0]], batch[1:]]  # then in one write
        a.send(batch[0])
        assert first.writes[-1] == [batch[0]]  # a new turn: straight out again


async def test_a_held_cork_sends_a_whole_batch_in_one_write_when_it_ends() -> None:
    async with corked_pair() as (cork, a, b, first, second):
        batch = [messages.ack(i, i) for i in range(1, 4)]
        with cork.held():
            for message in batch:
                a.send(message)
                b.send(message)
            assert first.writes == second.writes == []  # not even the first yet
        assert first.writes == second.writes == [batch]  # one write each, in order
        await asyncio.sleep(0)
        assert first.writes == second.writes == [batch]  # nothing left for the next turn
        a.send(batch[0])
        assert first.writes[-1] == [batch[0]]  # no longer held: straight out


async def test_kept_messages_the_socket_cannot_take_go_through_the_writer() -> None:
    cork = SendCork()
    transport = DirectTransport()
    session = Session(transport, Metrics(), label="a", cork=cork)
    batch = [messages.ack(i, i) for i in range(1, 4)]
    for message in batch:
        session.send(message)
    transport.room = False  # the client stopped reading meanwhile
    await asyncio.sleep(0)
    assert transport.sent == batch[:1]
    transport.open.set()
    await transport.wait_for_frames(3)
    assert transport.sent == batch
    session.close(codes.NORMAL)
    await asyncio.wait_for(transport.gone.wait(), 5)


class ReceivingTransport(HeldTransport):
    """Offers the direct receive path: the test hands frames to the session's receiver,
    as the WebSocket protocol does when they arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.receiver: Callable[[bytes | None], object] | None = None
        self.offered = asyncio.Event()
        self.queued: list[bytes] = []  # what receive() returns first, as announced

    async def receive(self) -> bytes | None:
        if self.queued:
            return self.queued.pop(0)
        return await super().receive()

    def receive_with(self, receiver: Callable[[bytes | None], object] | None) -> bool:
        self.receiver = receiver
        if receiver is not None:
            self.offered.set()
        return True


class RecordingRoom:
    """What a session asks of its room, recording the messages it is given."""

    name = "doc"

    def __init__(self) -> None:
        self.received: list[object] = []
        self.members: list[Session] = []

    def join(self, peer: Session) -> None:
        self.members.append(peer)

    def leave(self, peer: Session) -> None:
        self.members.remove(peer)

    def receive(self, peer: Session, message: object) -> None:
        self.received.append(message)


async def test_frames_handed_over_as_they_arrive_reach_the_room_and_a_bad_one_closes() -> None:
    transport = ReceivingTransport()
    room = RecordingRoom()
    metrics = Metrics()
    session = Session(transport, metrics, label="t")
    serving = asyncio.create_task(session.serve(cast(Room, room)))
    await asyncio.wait_for(transport.offered.wait(), 5)
    receiver = transport.receiver
    assert receiver is not None

    step1 = messages.sync_step1(b"\x00")
    receiver(step1)  # handled in the call, no task switch
    assert room.received == [parse_message(step1)]
    receiver(b"\xff\xff")  # not a message: the receiver must not raise, the socket closes
    receiver(step1)  # whatever follows the bad frame is not read
    assert room.received == [parse_message(step1)]

    await asyncio.wait_for(serving, 5)
    assert transport.closed is not None
    assert transport.closed[0] == codes.PROTOCOL_ERROR.code
    assert transport.receiver is None  # handed back: the protocol holds no session
    assert room.members == []
    assert metrics.registry.get_sample_value("coreport_errors_total", {"kind": "protocol"}) == 1


async def test_an_idle_socket_has_no_task_and_one_reads_only_once_something_is_queued() -> None:
    transport = ReceivingTransport()
    transport.open.set()
    room = RecordingRoom()
    session = Session(transport, Metrics(), label="t")
    serving = asyncio.create_task(session.serve(cast(Room, room)))
    await asyncio.wait_for(transport.offered.wait(), 5)
    receiver = transport.receiver
    assert receiver is not None
    step1 = messages.sync_step1(b"\x00")
    receiver(step1)
    session.send(messages.query_awareness())  # no direct send here: a writer sends it
    await transport.wait_for_frames(1)
    await asyncio.sleep(0)  # the writer, having sent all, ends
    assert asyncio.all_tasks() == {asyncio.current_task(), serving}
    assert room.received == [parse_message(step1)]

    # Two frames queued the ordinary way (say, behind a frame the transport refused):
    # announced one by one, read by a reader that ends once it has read both.
    step2 = messages.sync_step2(b"\x00\x00")
    transport.queued += [step1, step2]
    receiver(None)
    receiver(None)
    for _ in range(3):
        await asyncio.sleep(0)
    assert room.received == [parse_message(step1), parse_message(step1), parse_message(step2)]
    assert asyncio.all_tasks() == {asyncio.current_task(), serving}

    # The client goes: the transport announces something to read, and a reader reads it.
    transport.gone.set()
    receiver(None)
    await asyncio.wait_for(serving, 5)
    assert transport.closed is not None
    assert transport.closed[0] == codes.NORMAL.code
    assert room.members == []
    assert asyncio.all_tasks() == {asyncio.current_task()}
