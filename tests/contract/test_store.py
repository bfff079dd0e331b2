"""The Store contract (coreport.ports.Store), run on every backend (see conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from coreport.ports import (
    Compaction,
    CompactionWorth,
    Store,
    StoredState,
    StoredUpdate,
    StoreError,
)
from coreport.stores.merge import merge_updates
from tests.contract.conftest import Backend
from tests.contract.ydocs import apply_all, contents, make_edits, rebuild

DOC = "reports/r1"
OTHER = "reports/r1/comments"


class RecordingMerge:
    """``merge_updates`` that remembers what each call merged.

    Only for one compacting store at a time: it tells the previous snapshot apart from the
    update rows by comparing the first part with what its previous call returned.
    """

    def __init__(self) -> None:
        self.calls = 0
        self.rows_merged: list[bytes] = []
        self.snapshot_came_first: list[bool] = []
        self._last_output: bytes | None = None

    def __call__(self, parts: Sequence[bytes]) -> bytes:
        self.calls += 1
        parts = list(parts)
        if self._last_output is not None:
            self.snapshot_came_first.append(parts[0] == self._last_output)
            parts = parts[1:]
        self.rows_merged.extend(parts)
        self._last_output = merge_updates(
            ([self._last_output] if self._last_output is not None else []) + parts
        )
        return self._last_output


def seqs(state: StoredState) -> list[int]:
    return [update.seq for update in state.updates]


async def test_seqs_start_at_one_per_doc_and_have_no_gaps_across_batches(store: Store) -> None:
    assert await store.append([(DOC, b"a1"), (OTHER, b"b1"), (DOC, b"a2")]) == [1, 1, 2]
    assert await store.append([(DOC, b"a3")]) == [3]
    assert await store.append([(OTHER, b"b2"), ("reports/r2", b"c1"), (OTHER, b"b3")]) == [2, 1, 3]

    state = await store.load(DOC)
    assert state == StoredState(
        None, 0, (StoredUpdate(1, b"a1"), StoredUpdate(2, b"a2"), StoredUpdate(3, b"a3"))
    )
    assert [u.data for u in (await store.load(OTHER)).updates] == [b"b1", b"b2", b"b3"]
    assert (await store.load(OTHER)).last_seq == 3


async def test_an_empty_batch_appends_nothing(store: Store) -> None:
    assert await store.append([]) == []
    assert await store.load(DOC) == StoredState(None, 0, ())


async def test_a_failing_batch_stores_nothing_and_uses_up_no_seq(store: Store) -> None:
    await store.append([(OTHER, b"kept")])
    # The bad item comes last, so the backend has already written the first ones.
    bad_batch: list[tuple[str, Any]] = [(DOC, b"fine"), (OTHER, b"fine too"), (DOC, "not bytes")]
    with pytest.raises(StoreError):
        await store.append(bad_batch)

    assert await store.load(DOC) == StoredState(None, 0, ())
    assert await store.load(OTHER) == StoredState(None, 0, (StoredUpdate(1, b"kept"),))
    assert await store.append([(DOC, b"next"), (OTHER, b"next")]) == [1, 2]


async def test_a_failing_update_alone_stores_nothing_and_uses_up_no_seq(store: Store) -> None:
    # A batch of one takes a path of its own in the SQLite store.
    await store.append([(DOC, b"kept")])
    for doc in (DOC, OTHER):
        bad_batch: list[tuple[str, Any]] = [(doc, "not bytes")]
        with pytest.raises(StoreError):
            await store.append(bad_batch)

    assert await store.load(DOC) == StoredState(None, 0, (StoredUpdate(1, b"kept"),))
    assert await store.load(OTHER) == StoredState(None, 0, ())
    assert await store.append([(OTHER, b"first")]) == [1]
    assert await store.append([(DOC, b"next")]) == [2]


async def test_a_closed_store_refuses_every_call_and_stores_nothing(store_backend: Backend) -> None:
    store = await store_backend.opened()
    await store.ping()
    await store.close()
    await store.close()  # closing twice is harmless

    with pytest.raises(StoreError):
        await store.ping()
    with pytest.raises(StoreError):
        await store.append([(DOC, b"lost")])
    with pytest.raises(StoreError):
        await store.load(DOC)
    with pytest.raises(StoreError):
        await store.compact(DOC, merge_updates)
    with pytest.raises(StoreError):
        await store.delete(DOC)

    reopened = await store_backend.opened()
    assert await reopened.load(DOC) == StoredState(None, 0, ())


async def test_load_of_an_unknown_doc_is_empty(store: Store) -> None:
    assert await store.load("reports/nobody") == StoredState(None, 0, ())
    assert (await store.load("reports/nobody", after_seq=0)).last_seq == 0


async def test_load_after_seq_without_snapshot(store: Store) -> None:
    await store.append([(DOC, f"u{n}".encode()) for n in range(1, 6)])

    assert seqs(await store.load(DOC)) == [1, 2, 3, 4, 5]
    after_three = await store.load(DOC, after_seq=3)
    assert after_three == StoredState(None, 3, (StoredUpdate(4, b"u4"), StoredUpdate(5, b"u5")))
    assert after_three.last_seq == 5
    assert await store.load(DOC, after_seq=5) == StoredState(None, 5, ())


async def test_load_after_seq_with_snapshot(store: Store) -> None:
    edits = make_edits(8)
    await store.append([(DOC, update) for update in edits.updates[:5]])
    assert await store.compact(DOC, merge_updates) == Compaction(5, 5)
    assert await store.append([(DOC, update) for update in edits.updates[5:]]) == [6, 7, 8]

    for behind in (0, 3, 4):
        state = await store.load(DOC, after_seq=behind)
        assert state.snapshot is not None, f"after_seq={behind} is older than the snapshot"
        assert (state.snapshot_seq, seqs(state), state.last_seq) == (5, [6, 7, 8], 8)
        assert contents(rebuild(state)) == contents(edits.doc)

    at_snapshot = await store.load(DOC, after_seq=5)
    assert at_snapshot.snapshot is None
    assert seqs(at_snapshot) == [6, 7, 8]
    after_six = await store.load(DOC, after_seq=6)
    assert (after_six.snapshot, seqs(after_six), after_six.last_seq) == (None, [7, 8], 8)
    up_to_date = await store.load(DOC, after_seq=8)
    assert (up_to_date.snapshot, up_to_date.updates, up_to_date.last_seq) == (None, (), 8)


async def test_numbers_carry_on_after_a_compaction_folded_every_row(store: Store) -> None:
    edits = make_edits(6, seed=2)
    await store.append([(DOC, update) for update in edits.updates[:3]])
    assert await store.compact(DOC, merge_updates) == Compaction(3, 3)
    # No row is left to number from, alone or in a batch with another document.
    assert await store.append([(DOC, edits.updates[3])]) == [4]
    assert await store.compact(DOC, merge_updates) == Compaction(1, 4)
    assert await store.append(
        [(OTHER, b"o1"), (DOC, edits.updates[4]), (DOC, edits.updates[5])]
    ) == [
        1,
        5,
        6,
    ]
    assert await store.last_seqs([DOC, OTHER]) == {DOC: 6, OTHER: 1}
    assert contents(rebuild(await store.load(DOC))) == contents(edits.doc)


async def test_compaction_equals_applying_every_update(store: Store) -> None:
    edits = make_edits(60, seed=1)
    merge = RecordingMerge()
    await store.append([(DOC, update) for update in edits.updates[:25]])
    assert await store.compact(DOC, merge) == Compaction(25, 25)
    await store.append([(DOC, update) for update in edits.updates[25:40]])
    await store.append([(DOC, update) for update in edits.updates[40:]])
    assert await store.compact(DOC, merge) == Compaction(35, 60)

    state = await store.load(DOC)
    assert (state.snapshot_seq, state.updates) == (60, ())
    assert contents(rebuild(state)) == contents(edits.doc) == contents(apply_all(edits.updates))
    assert merge.snapshot_came_first == [True]
    assert merge.rows_merged == edits.updates


async def test_compaction_asks_whether_the_log_now_is_worth_a_merge(store: Store) -> None:
    edits = make_edits(8, seed=3)
    merge = RecordingMerge()
    asked: list[tuple[int, int, int]] = []

    def at_least(rows: int) -> CompactionWorth:
        def worth(count: int, row_bytes: int, snapshot_bytes: int) -> bool:
            asked.append((count, row_bytes, snapshot_bytes))
            return count >= rows

        return worth

    await store.append([(DOC, update) for update in edits.updates[:5]])
    assert await store.compact(DOC, merge, worth=at_least(5)) == Compaction(5, 5)
    assert asked == [(5, sum(map(len, edits.updates[:5])), 0)]
    snapshot = (await store.load(DOC)).snapshot
    assert snapshot is not None
    await store.append([(DOC, update) for update in edits.updates[5:]])
    # Three rows after the snapshot (another instance compacted, say): not worth it.
    assert await store.compact(DOC, merge, worth=at_least(4)) == Compaction(0, 5)
    assert asked[-1] == (3, sum(map(len, edits.updates[5:])), len(snapshot))
    assert merge.calls == 1
    state = await store.load(DOC)
    assert (state.snapshot_seq, [u.seq for u in state.updates]) == (5, [6, 7, 8])
    assert await store.compact("reports/nobody", merge, worth=at_least(0)) == Compaction(0, 0)
    assert await store.compact(DOC, merge, worth=at_least(3)) == Compaction(3, 8)
    assert contents(rebuild(await store.load(DOC))) == contents(edits.doc)


async def test_compaction_with_nothing_to_merge_writes_nothing(store: Store) -> None:
    merge = RecordingMerge()
    assert await store.compact("reports/nobody", merge) == Compaction(0, 0)
    await store.append([(DOC, update) for update in make_edits(3).updates])
    assert await store.compact(DOC, merge) == Compaction(3, 3)
    assert await store.compact(DOC, merge) == Compaction(0, 3)
    assert merge.calls == 1
    assert await store.load("reports/nobody") == StoredState(None, 0, ())


async def test_a_failing_merge_keeps_every_row(store: Store) -> None:
    edits = make_edits(4)
    await store.append([(DOC, update) for update in edits.updates])

    def broken_merge(parts: Sequence[bytes]) -> bytes:
        raise ValueError("cannot merge")

    with pytest.raises(StoreError) as raised:
        await store.compact(DOC, broken_merge)
    assert isinstance(raised.value.__cause__, ValueError)
    state = await store.load(DOC)
    assert (state.snapshot, seqs(state)) == (None, [1, 2, 3, 4])


async def test_compaction_racing_appends_loses_nothing_and_merges_nothing_twice(
    store_backend: Backend,
) -> None:
    appender, compactor = await store_backend.opened(), await store_backend.opened()
    edits = make_edits(150, seed=2)
    merge = RecordingMerge()
    compactions: list[Compaction] = []
    appended = asyncio.Event()
    done = asyncio.Event()

    async def append_everything() -> None:
        try:
            for start in range(0, len(edits.updates), 3):
                chunk = edits.updates[start : start + 3]
                await appender.append([(DOC, update) for update in chunk])
                appended.set()
        finally:
            done.set()
            appended.set()

    async def compact_after_each_append() -> None:
        # Each compaction starts as soon as something was appended, and overlaps the appends
        # that follow it (they run on another store, i.e. another connection).
        while not done.is_set():
            await appended.wait()
            appended.clear()
            compactions.append(await compactor.compact(DOC, merge))

    async with asyncio.TaskGroup() as group:
        group.create_task(append_everything())
        group.create_task(compact_after_each_append())
    compactions.append(await compactor.compact(DOC, merge))

    assert sum(c.merged_rows for c in compactions) == len(edits.updates)
    assert sorted(merge.rows_merged) == sorted(edits.updates), "each row merged exactly once"
    assert all(merge.snapshot_came_first)
    state = await appender.load(DOC)
    assert (state.snapshot_seq, state.updates) == (len(edits.updates), ())
    assert contents(rebuild(state)) == contents(edits.doc)


async def test_two_instances_compacting_one_doc_at_once(store_backend: Backend) -> None:
    first, second = await store_backend.opened(), await store_backend.opened()
    edits = make_edits(40, seed=3)
    for round_start in range(0, 40, 10):
        chunk = edits.updates[round_start : round_start + 10]
        await first.append([(DOC, update) for update in chunk])
        results = await asyncio.gather(
            first.compact(DOC, merge_updates), second.compact(DOC, merge_updates)
        )
        # One of them merged the new rows; the other then found nothing left to merge.
        assert sorted(r.merged_rows for r in results) == [0, 10]
        assert {r.snapshot_seq for r in results} == {round_start + 10}

    for store in (first, second):
        state = await store.load(DOC)
        assert (state.snapshot_seq, state.updates) == (40, ())
        assert contents(rebuild(state)) == contents(edits.doc)


async def test_two_instances_appending_to_one_doc_share_one_gapless_sequence(
    store_backend: Backend,
) -> None:
    stores = [await store_backend.opened(), await store_backend.opened()]
    assigned: dict[int, bytes] = {}

    async def append_from(index: int) -> None:
        previous = 0
        for n in range(40):
            data = f"instance {index} update {n}".encode()
            batch = [(DOC, data), (f"reports/only-{index}", data)]
            seq, own_seq = await stores[index].append(batch)
            assert own_seq == n + 1
            assert seq > previous, "one instance's appends get increasing seqs"
            assert seq not in assigned
            assigned[seq] = data
            previous = seq

    async with asyncio.TaskGroup() as group:
        for index in range(len(stores)):
            group.create_task(append_from(index))

    assert sorted(assigned) == list(range(1, 81))
    state = await stores[0].load(DOC)
    assert {u.seq: u.data for u in state.updates} == assigned
    assert seqs(state) == list(range(1, 81))


async def test_data_survives_close_and_reopen(store_backend: Backend) -> None:
    edits = make_edits(12, seed=4)
    store = await store_backend.opened()
    await store.append([(DOC, update) for update in edits.updates[:8]])
    await store.compact(DOC, merge_updates)
    await store.append([(DOC, update) for update in edits.updates[8:]])
    before = await store.load(DOC)
    await store.close()

    reopened = await store_backend.opened()
    after = await reopened.load(DOC)
    assert after == before
    assert (after.snapshot_seq, seqs(after)) == (8, [9, 10, 11, 12])
    assert contents(rebuild(after)) == contents(edits.doc)
    assert await reopened.append([(DOC, b"more")]) == [13]


async def test_migrate_applies_each_migration_once(store_backend: Backend) -> None:
    applied = await store_backend.migrate()
    assert applied, "a fresh database gets the whole schema"
    assert applied[0] == "0001_update_log"
    assert await store_backend.migrate() == []

    store = await store_backend.opened()
    await store.open()  # opening twice is harmless
    assert await store.append([(DOC, b"x")]) == [1]
    assert await store_backend.migrate() == []


async def test_stores_opening_at_once_on_a_fresh_database(store_backend: Backend) -> None:
    stores = [store_backend.new() for _ in range(4)]
    await asyncio.gather(*(store.open() for store in stores))

    results = await asyncio.gather(*(store.append([(DOC, b"x")]) for store in stores))
    assert sorted(seq for (seq,) in results) == [1, 2, 3, 4]
    assert await store_backend.migrate() == []


async def test_delete_forgets_the_doc_and_only_that_doc(store: Store) -> None:
    edits = make_edits(6)
    await store.append([(DOC, update) for update in edits.updates[:4]] + [(OTHER, b"other")])
    await store.compact(DOC, merge_updates)
    await store.append([(DOC, update) for update in edits.updates[4:]])

    await store.delete(DOC)
    assert await store.load(DOC) == StoredState(None, 0, ())
    assert await store.load(OTHER) == StoredState(None, 0, (StoredUpdate(1, b"other"),))
    assert await store.compact(DOC, merge_updates) == Compaction(0, 0)
    # A deleted name starts over.
    assert await store.append([(DOC, b"again")]) == [1]
    await store.delete("reports/nobody")  # deleting what does not exist is harmless


async def test_last_seqs_reads_many_documents_positions_at_once(store: Store) -> None:
    assert await store.last_seqs([]) == {}
    assert await store.last_seqs([DOC, OTHER]) == {}
    edits = make_edits(5)
    await store.append([(DOC, update) for update in edits.updates] + [(OTHER, b"o1")])
    # More names than one query of the SQLite store takes, most of them never written.
    many = [f"reports/n{i}" for i in range(1_200)]
    await store.append([(many[700], b"x"), (many[700], b"y")])
    assert await store.last_seqs([DOC, OTHER, *many]) == {DOC: 5, OTHER: 1, many[700]: 2}
    # A compaction moves the snapshot, not the position; a delete forgets the document.
    await store.compact(DOC, merge_updates)
    await store.delete(OTHER)
    assert await store.last_seqs([DOC, OTHER]) == {DOC: 5}
    await store.close()
    with pytest.raises(StoreError):
        await store.last_seqs([DOC])


async def test_ping_answers_while_open(store: Store) -> None:
    await store.ping()
    await store.close()
    with pytest.raises(StoreError):
        await store.ping()
