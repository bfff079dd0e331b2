"""The filter syntax of ``GET /api/projects/{project}/runs``: query string -> :class:`RunQuery`.

Each ``&``-separated part of the query string is one condition; all must hold::

    state=running,finished        state is any of these
    tag=baseline                  has this tag (repeat the parameter to require several)
    id=a1b2,c3d4                  only these runs
    config.lr=0.1                 config value equals (``=`` and ``==`` are the same)
    config.optimizer.name!=adam   nested keys are separated by dots
    summary.loss<0.5              ordering: ``<``, ``<=``, ``>``, ``>=`` (numbers only)
    sort=-summary.loss            created (default -created), updated, name, config.*,
                                  summary.*; ``-`` for descending
    limit=50&offset=0             paging (limit 1..1000)

A value is read as JSON when it is a JSON scalar (``0.1``, ``true``, ``null``,
``"0.1"`` for the string), otherwise as a plain string (``adam``). Parts are URL-decoded
before they are split, so ``summary.loss%3C0.5`` works as well as ``summary.loss<0.5``.

The same expressions, e.g. ``"summary.loss<0.5"``, can be parsed one at a time with
:func:`parse_filter` (a report's run set stores its filters this way).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import unquote_plus

from coreport.runs.ports import (
    ORDER_OPS,
    RUN_STATES,
    FilterOp,
    JsonField,
    RunQuery,
    RunState,
    Scalar,
    SortKey,
    ValueFilter,
)
from coreport.runs.schemas import RUN_ID_PATTERN

MAX_LIMIT = 1000

_PART = re.compile(r"^(?P<name>[^=<>!]*)(?P<op>==|!=|<=|>=|=|<|>)(?P<value>.*)$", re.DOTALL)
_KEY = re.compile(r"^[\w\-/:@+]+$")
_RUN_ID = re.compile(RUN_ID_PATTERN)
_SORTS = ("created", "updated", "name")


@dataclass(frozen=True, slots=True)
class FilterProblem:
    """One bad part of a query: where (``("query", name)``) and what is wrong."""

    loc: tuple[str, ...]
    msg: str


class QueryError(ValueError):
    """The query string has bad parts; :attr:`problems` lists every one."""

    def __init__(self, problems: list[FilterProblem]) -> None:
        super().__init__("; ".join(f"{'.'.join(p.loc)}: {p.msg}" for p in problems))
        self.problems = problems


def parse_run_query(raw_query: str) -> RunQuery:
    """Parse a raw (still URL-encoded) query string; raise :class:`QueryError` if bad."""
    filters: list[ValueFilter] = []
    states: list[RunState] = []
    tags: list[str] = []
    run_ids: list[str] | None = None
    options: dict[str, str] = {}
    problems: list[FilterProblem] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        decoded = unquote_plus(part)
        match = _PART.match(decoded)
        if match is None:
            problems.append(FilterProblem(("query", decoded), "expected NAME=VALUE or NAME<VALUE"))
            continue
        name, op, value = match["name"], match["op"], match["value"]
        try:
            if name.startswith(("config.", "summary.")):
                filters.append(_value_filter(name, op, value))
                continue
            if op != "=":
                raise ValueError(f"{name!r} only takes '='")
            if name == "state":
                states.extend(_states(value))
            elif name == "tag":
                tags.append(_nonempty(value, "a tag"))
            elif name == "id":
                run_ids = (run_ids or []) + _run_ids(value)
            elif name in ("sort", "limit", "offset"):
                if name in options:
                    raise ValueError("given twice")
                options[name] = value
            else:
                raise ValueError(
                    "unknown filter; use state, tag, id, config.KEY, summary.KEY, "
                    "sort, limit or offset"
                )
        except ValueError as exc:
            problems.append(FilterProblem(("query", name), str(exc)))
    sort, limit, offset = SortKey(), 50, 0
    for name, text in options.items():
        try:
            if name == "sort":
                sort = parse_sort(text)
            elif name == "limit":
                limit = _int_in(text, 1, MAX_LIMIT)
            else:
                offset = _int_in(text, 0, 2**62)
        except ValueError as exc:
            problems.append(FilterProblem(("query", name), str(exc)))
    if problems:
        raise QueryError(problems)
    return RunQuery(
        filters=tuple(filters),
        states=tuple(dict.fromkeys(states)),
        tags=tuple(dict.fromkeys(tags)),
        run_ids=None if run_ids is None else tuple(dict.fromkeys(run_ids)),
        sort=sort,
        limit=limit,
        offset=offset,
    )


def parse_filter(expression: str) -> ValueFilter:
    """One ``config.KEY OP VALUE`` or ``summary.KEY OP VALUE`` expression (not URL-encoded).

    Raises :class:`ValueError` with the reason.
    """
    match = _PART.match(expression)
    if match is None or not match["name"].startswith(("config.", "summary.")):
        raise ValueError(f"{expression!r} is not config.KEY OP VALUE or summary.KEY OP VALUE")
    return _value_filter(match["name"], match["op"], match["value"])


def parse_sort(text: str) -> SortKey:
    """``created``, ``-updated``, ``name``, ``-summary.loss``, ``config.lr``, ..."""
    descending = text.startswith("-")
    name = text.removeprefix("-")
    if name in _SORTS:
        return SortKey(cast(Literal["created", "updated", "name"], name), descending)
    if name.startswith(("config.", "summary.")):
        return SortKey(_json_field(name), descending)
    raise ValueError(
        f"cannot sort by {name!r}; use created, updated, name, config.KEY or summary.KEY"
    )


def _value_filter(name: str, op: str, text: str) -> ValueFilter:
    field = _json_field(name)
    value = _scalar(text)
    canonical: FilterOp = "==" if op == "=" else cast(FilterOp, op)
    if canonical in ORDER_OPS and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"{op!r} compares numbers; {text!r} is not a number")
    return ValueFilter(field, canonical, value)


def _json_field(name: str) -> JsonField:
    root, _, path = name.partition(".")
    keys = tuple(path.split("."))
    for key in keys:
        if not _KEY.match(key):
            raise ValueError(
                f"bad key {key!r} in {name!r}: keys are letters, digits and _ - / : @ +"
            )
    return JsonField(cast(Literal["config", "summary"], root), keys)


def _scalar(text: str) -> Scalar:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, float) and value != value:  # json.loads accepts NaN
        raise ValueError("NaN matches nothing")
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        raise ValueError("infinity is not a stored value")
    if isinstance(value, dict | list):
        raise ValueError("compare with a number, string, true, false or null")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return float(value)  # beyond what SQLite binds as an integer
    return cast(Scalar, value)


def _states(text: str) -> list[RunState]:
    states = [part for part in text.split(",") if part]
    for state in states:
        if state not in RUN_STATES:
            raise ValueError(f"unknown state {state!r}; one of {', '.join(RUN_STATES)}")
    if not states:
        raise ValueError("name at least one state")
    return cast(list[RunState], states)


def _run_ids(text: str) -> list[str]:
    ids = [part for part in text.split(",") if part]
    if not ids or not all(_RUN_ID.match(run_id) for run_id in ids):
        raise ValueError("expected comma-separated run ids")
    return ids


def _nonempty(text: str, what: str) -> str:
    if not text:
        raise ValueError(f"empty {what}")
    return text


def _int_in(text: str, low: int, high: int) -> int:
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an integer") from None
    if not low <= number <= high:
        raise ValueError(f"must be between {low} and {high}")
    return number
