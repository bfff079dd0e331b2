"""Real Yjs updates for the store tests, made with pycrdt."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Map, Text, TransactionEvent

from coreport.ports import StoredState

#: A document whose roots are of any shared type.
YDoc = Doc[Any]


@dataclass
class Edits:
    """A document edited one change at a time, and the update each change produced."""

    doc: YDoc = field(default_factory=Doc)
    updates: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._subscription = self.doc.observe(self._record)

    def _record(self, event: TransactionEvent) -> None:
        self.updates.append(event.update)


def make_edits(count: int, seed: int = 0) -> Edits:
    """``count`` edits, each its own transaction (so its own update): text inserts and
    deletions in ``title``, and panels added to and changed in the ``panels`` map."""
    edits = Edits()
    rng = random.Random(seed)
    title = edits.doc.get("title", type=Text)
    panels = edits.doc.get("panels", type=Map)
    for index in range(count):
        choice = index % 4
        if choice == 0:
            panels[f"panel-{index}"] = Map({"type": "line", "title": f"loss {index}"})
        elif choice == 1 and len(panels) > 0:
            panel = panels[rng.choice(sorted(panels.keys()))]
            panel["smoothing"] = rng.random()
        elif choice == 2 and len(title) > 3:
            start = rng.randrange(len(title) - 2)
            del title[start : start + 2]
        else:
            title.insert(rng.randrange(len(title) + 1), f"w{index} ")
    assert len(edits.updates) == count, "every edit makes exactly one update"
    return edits


def writers_edits(
    count: int, writers: int = 5, seed: int = 1, run: int = 20, others: float = 0.0
) -> list[bytes]:
    """``count`` updates of ``writers`` clients typing into one shared text ``t``, in the
    order made, each client applying the others' updates as clients of one document do:
    runs of ``run`` pieces at a random place (as S2's writers type); with ``others`` above
    0, about that fraction of the edits delete or format a few characters instead."""
    rng = random.Random(seed)
    docs: list[YDoc] = []
    for writer in range(writers):
        doc: YDoc = Doc(client_id=100_000 + writer)
        doc["t"] = Text()
        docs.append(doc)
    cursors = [0] * writers
    updates: list[bytes] = []
    for i in range(count):
        writer, seq = i % writers, i // writers
        doc = docs[writer]
        text = doc.get("t", type=Text)
        before = doc.get_state()
        roll = rng.random()
        if roll < others and len(text) > 4:
            start = rng.randrange(len(text) - 2)
            if roll < others * 0.75:
                del text[start : start + rng.randint(1, 2)]
            else:
                text.format(start, start + 2, {"bold": True})
            cursors[writer] = min(cursors[writer], len(text))
        else:
            if seq % run == 0:
                cursors[writer] = rng.randint(0, len(text))
            piece = f"~bm{writer:02d}{seq:08d}"
            text.insert(cursors[writer], piece)
            cursors[writer] += len(piece)
        update = doc.get_update(before)
        updates.append(update)
        for other in docs:
            if other is not doc:
                other.apply_update(update)
    return updates


def rebuild(state: StoredState) -> YDoc:
    """A fresh document with the stored snapshot and updates applied."""
    doc: YDoc = Doc()
    if state.snapshot is not None:
        doc.apply_update(state.snapshot)
    for update in state.updates:
        doc.apply_update(update.data)
    return doc


def apply_all(updates: Sequence[bytes]) -> YDoc:
    doc: YDoc = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc


def contents(doc: YDoc) -> tuple[str, dict[str, object], bytes]:
    """What a document holds, in a form tests compare: title, panels, state vector."""
    title = str(doc.get("title", type=Text))
    panels = doc.get("panels", type=Map).to_py() or {}
    return title, panels, doc.get_state()
