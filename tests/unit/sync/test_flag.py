"""Flag and Inbox behave as the asyncio.Event and asyncio.Queue they stand in for."""

from __future__ import annotations

import asyncio

import pytest

from coreport.sync.flag import Flag, Inbox


async def test_a_flag_wakes_every_waiter_and_stays_set_until_cleared() -> None:
    flag = Flag()
    assert not flag.is_set()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    flag.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 5) == [True, True, True]
    assert await asyncio.wait_for(flag.wait(), 5)  # set: returns at once
    flag.clear()
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    flag.set()
    await asyncio.wait_for(waiter, 5)


async def test_a_cancelled_flag_waiter_leaves_nothing_behind() -> None:
    flag = Flag()
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert flag._waiters == []
    flag.set()  # nothing left to wake


async def test_an_inbox_hands_items_out_in_order() -> None:
    inbox: Inbox[int] = Inbox()
    assert inbox.empty()
    assert inbox.qsize() == 0
    with pytest.raises(asyncio.QueueEmpty):
        inbox.get_nowait()
    getter = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not getter.done()
    for i in range(3):
        inbox.put_nowait(i)
    assert await asyncio.wait_for(getter, 5) == 0
    assert inbox.qsize() == 2
    assert inbox.get_nowait() == 1
    assert await inbox.get() == 2
    assert inbox.empty()


async def test_an_item_put_for_a_getter_cancelled_before_it_ran_goes_to_the_next() -> None:
    inbox: Inbox[str] = Inbox()
    first = asyncio.create_task(inbox.get())
    second = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("only")
    first.cancel()  # woken, but cancelled before it could take the item
    assert await asyncio.wait_for(second, 5) == "only"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert inbox.empty()
    assert inbox._getters == []
