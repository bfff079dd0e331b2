"""A :class:`~coreport.runs.ports.RunQuery` as SQL, in the SQLite and PostgreSQL dialects.

Both dialects give the same answers: ``==`` matches a JSON value of the same type (numbers
numerically, so ``1`` matches ``1.0``; ``true`` never matches ``1``); ``!=`` is its negation
and so also matches runs without the value; ordering operators only match numbers. Sorting
by a JSON value puts numbers first (numerically), then strings (by code point), then runs
without it, in either direction; ties fall back to creation time, then id.

Only values travel as bind parameters; the SQL text is assembled from fixed fragments and
the column names ``config``/``summary``, which the query's types restrict to those two.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coreport.runs.ports import ORDER_OPS, JsonField, RunQuery, SortKey, ValueFilter

_SQLITE_NUMBER = "IN ('integer', 'real')"


@dataclass(frozen=True, slots=True)
class SqlQuery:
    """``WHERE`` and ``ORDER BY`` clauses and their parameters. The ORDER BY parameters come
    after the WHERE ones (in Postgres they are numbered after them), so a ``count(*)`` can
    run the WHERE clause alone with :attr:`where_args`."""

    where: str
    where_args: list[Any]
    order: str
    order_args: list[Any]

    @property
    def args(self) -> list[Any]:
        return self.where_args + self.order_args


def sqlite_run_query(project: str, query: RunQuery) -> SqlQuery:
    """SQLite clauses for ``query`` on the runs of ``project`` (``?`` parameters)."""
    clauses = ["project = ?"]
    args: list[Any] = [project]
    if query.states:
        clauses.append(f"state IN ({', '.join('?' * len(query.states))})")
        args.extend(query.states)
    for tag in query.tags:
        clauses.append("EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE json_each.value = ?)")
        args.append(tag)
    if query.run_ids is not None:
        clauses.append(f"id IN ({', '.join('?' * len(query.run_ids))})" if query.run_ids else "0")
        args.extend(query.run_ids)
    for value_filter in query.filters:
        clause, clause_args = _sqlite_filter(value_filter)
        clauses.append(clause)
        args.extend(clause_args)
    order, order_args = _sqlite_order(query.sort)
    return SqlQuery(" AND ".join(clauses), args, order, order_args)


def postgres_run_query(project: str, query: RunQuery) -> SqlQuery:
    """PostgreSQL clauses for ``query`` on the runs of ``project`` (``$n`` parameters)."""
    args: list[Any] = [project]

    def bind(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    clauses = ["project = $1"]
    if query.states:
        clauses.append(f"state = ANY({bind(list(query.states))}::text[])")
    for tag in query.tags:
        clauses.append(f"{bind(tag)} = ANY(tags)")
    if query.run_ids is not None:
        clauses.append(f"id = ANY({bind(list(query.run_ids))}::text[])")
    for value_filter in query.filters:
        clauses.append(_postgres_filter(value_filter, bind))
    where_count = len(args)
    order = _postgres_order(query.sort, bind)
    return SqlQuery(" AND ".join(clauses), args[:where_count], order, args[where_count:])


def _sqlite_path(json_field: JsonField) -> str:
    for key in json_field.keys:
        if '"' in key:
            raise ValueError(f"JSON keys with '\"' cannot be queried: {key!r}")
    return "$" + "".join(f'."{key}"' for key in json_field.keys)


def _sqlite_filter(value_filter: ValueFilter) -> tuple[str, list[Any]]:
    column, path = value_filter.field.root, _sqlite_path(value_filter.field)
    kind, value = f"json_type({column}, ?)", f"json_extract({column}, ?)"
    wanted = value_filter.value
    args: list[Any]
    if value_filter.op in ORDER_OPS:
        return f"({kind} {_SQLITE_NUMBER} AND {value} {value_filter.op} ?)", [path, path, wanted]
    if wanted is None:
        equal, args = f"{kind} = 'null'", [path]
    elif isinstance(wanted, bool):
        equal, args = f"{kind} = '{'true' if wanted else 'false'}'", [path]
    elif isinstance(wanted, int | float):
        equal, args = f"({kind} {_SQLITE_NUMBER} AND {value} = ?)", [path, path, wanted]
    else:
        equal, args = f"({kind} = 'text' AND {value} = ?)", [path, path, wanted]
    if value_filter.op == "!=":
        return f"NOT coalesce({equal}, FALSE)", args
    return f"coalesce({equal}, FALSE)", args


def _sqlite_order(sort: SortKey) -> tuple[str, list[Any]]:
    direction = "DESC" if sort.descending else "ASC"
    tail = f"created_at {direction}, id {direction}"
    if sort.field == "created":
        return tail, []
    if sort.field == "updated":
        return f"updated_at {direction}, id {direction}", []
    if sort.field == "name":
        return f"name {direction}, {tail}", []
    column, path = sort.field.root, _sqlite_path(sort.field)
    kind, value = f"json_type({column}, ?)", f"json_extract({column}, ?)"
    order = (
        f"CASE WHEN {kind} {_SQLITE_NUMBER} THEN 0 WHEN {kind} = 'text' THEN 1 ELSE 2 END, "
        f"CASE WHEN {kind} {_SQLITE_NUMBER} THEN {value} END {direction}, "
        f"CASE WHEN {kind} = 'text' THEN {value} END {direction}, {tail}"
    )
    return order, [path] * order.count("?")


def _postgres_filter(value_filter: ValueFilter, bind: Callable[[Any], str]) -> str:
    column = value_filter.field.root
    path = bind(list(value_filter.field.keys))
    wanted = value_filter.value
    if value_filter.op in ORDER_OPS:
        if isinstance(wanted, bool) or not isinstance(wanted, int | float):
            raise ValueError(f"{value_filter.op!r} compares numbers, not {wanted!r}")
        return f"{_postgres_number(column, path)} {value_filter.op} {bind(float(wanted))}::float8"
    # jsonb equality compares numbers numerically and never equates values of two types.
    equal = f"{column} #> {path}::text[] = {bind(json.dumps(wanted))}::jsonb"
    if value_filter.op == "!=":
        return f"({equal}) IS NOT TRUE"
    return f"({equal}) IS TRUE"


def _postgres_number(column: str, path: str) -> str:
    # CASE, not AND: Postgres may evaluate AND's operands in any order, and the cast would
    # fail on a string.
    return (
        f"(CASE WHEN jsonb_typeof({column} #> {path}::text[]) = 'number' "
        f"THEN ({column} #>> {path}::text[])::float8 END)"
    )


def _postgres_order(sort: SortKey, bind: Callable[[Any], str]) -> str:
    direction = "DESC" if sort.descending else "ASC"
    tail = f'created_at {direction}, id COLLATE "C" {direction}'
    if sort.field == "created":
        return tail
    if sort.field == "updated":
        return f'updated_at {direction}, id COLLATE "C" {direction}'
    if sort.field == "name":
        return f'name COLLATE "C" {direction}, {tail}'
    column = sort.field.root
    path = bind(list(sort.field.keys))
    kind = f"jsonb_typeof({column} #> {path}::text[])"
    text = f"(CASE WHEN {kind} = 'string' THEN {column} #>> {path}::text[] END)"
    return (
        f"CASE {kind} WHEN 'number' THEN 0 WHEN 'string' THEN 1 ELSE 2 END, "
        f"{_postgres_number(column, path)} {direction}, "
        f'{text} COLLATE "C" {direction}, {tail}'
    )
