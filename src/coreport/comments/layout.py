"""The comments document's layout (DESIGN.md section 2, docs/document-schema.md).

One root, ``threads``: a Y.Map threadId -> Y.Map with the keys below. Changes set single
keys, so concurrent edits of different fields (one person resolving while another
replies) all survive, and keys this code does not know are left alone.

Times are ISO 8601 UTC strings with milliseconds (``2024-05-01T09:30:00.000Z``, what
JavaScript's ``Date.toISOString()`` writes). Relative positions are the bytes of
``Y.encodeRelativePosition`` (a ``Uint8Array`` in JavaScript).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, cast

from pycrdt import Doc, Map

THREADS: Final = "threads"
#: Second root: Y.Map userId -> display name, each author's own key set when they write.
NAMES: Final = "names"

# threads[threadId]
ANCHOR: Final = "anchor"  #: JSON object, see below; set once
RESOLVED: Final = "resolved"  #: bool
RESOLVED_BY: Final = "resolved_by"  #: user id or null
RESOLVED_AT: Final = "resolved_at"  #: time or null
CREATED_BY: Final = "created_by"  #: user id
CREATED_AT: Final = "created_at"  #: time
COMMENTS: Final = "comments"  #: Y.Array of Y.Map, oldest first

# anchor
KIND: Final = "kind"  #: "text" | "panel" | "report"
REL_START: Final = "rel_start"  #: text: relative position of the first character
REL_END: Final = "rel_end"  #: text: relative position after the last character
PANEL_ID: Final = "panel_id"  #: panel: the panel's id in the report's ``panels`` map
QUOTE: Final = "quote"  #: text: the words as they were when the thread started
ANCHOR_KINDS: Final = ("text", "panel", "report")

# comments[i]
ID: Final = "id"
AUTHOR: Final = "author"  #: user id
TEXT: Final = "text"  #: plain text; "" once deleted
MENTIONS: Final = "mentions"  #: list of user ids
EDITED_AT: Final = "edited_at"  #: time or null
DELETED: Final = "deleted"  #: bool (soft delete: the entry stays, its text goes)
REACTIONS: Final = (
    "reactions"  #: Y.Map userId -> list of emoji; each user writes only their own key
)


def threads(doc: Doc[Any]) -> Map[Any]:
    return cast("Map[Any]", doc.get(THREADS, type=Map))


def names(doc: Doc[Any]) -> Map[Any]:
    return cast("Map[Any]", doc.get(NAMES, type=Map))


def timestamp(moment: datetime) -> str:
    """``moment`` as the documents store times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
