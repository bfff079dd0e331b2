"""The run-list query syntax: what parses to what, and where errors point."""

from __future__ import annotations

import pytest

from coreport.runs.filters import QueryError, parse_filter, parse_run_query, parse_sort
from coreport.runs.ports import JsonField, RunQuery, SortKey, ValueFilter

LOSS = JsonField("summary", ("loss",))


def test_an_empty_query_lists_the_newest_runs_first() -> None:
    assert parse_run_query("") == RunQuery()
    assert RunQuery().sort == SortKey("created", descending=True)


def test_every_kind_of_condition() -> None:
    query = parse_run_query(
        "state=running,finished&tag=a&tag=b&id=r1,r2&config.opt.name=adam"
        "&config.lr=0.1&summary.loss%3C0.5&summary.acc>=0.9&config.seed!=null"
        "&config.tag=%220.1%22&config.flag==true&sort=-summary.loss&limit=10&offset=20"
    )
    assert query.states == ("running", "finished")
    assert query.tags == ("a", "b")
    assert query.run_ids == ("r1", "r2")
    assert query.filters == (
        ValueFilter(JsonField("config", ("opt", "name")), "==", "adam"),
        ValueFilter(JsonField("config", ("lr",)), "==", 0.1),
        ValueFilter(LOSS, "<", 0.5),
        ValueFilter(JsonField("summary", ("acc",)), ">=", 0.9),
        ValueFilter(JsonField("config", ("seed",)), "!=", None),
        ValueFilter(JsonField("config", ("tag",)), "==", "0.1"),
        ValueFilter(JsonField("config", ("flag",)), "==", True),
    )
    assert query.sort == SortKey(LOSS, descending=True)
    assert (query.limit, query.offset) == (10, 20)


def test_values_may_contain_operators_and_plus_signs() -> None:
    query = parse_run_query("config.expr=a%3Db&summary.big>1e%2B5")
    assert query.filters == (
        ValueFilter(JsonField("config", ("expr",)), "==", "a=b"),
        ValueFilter(JsonField("summary", ("big",)), ">", 1e5),
    )


@pytest.mark.parametrize(
    ("raw", "loc", "message"),
    [
        ("summary.loss<abc", "summary.loss", "compares numbers"),
        ("summary.loss>true", "summary.loss", "compares numbers"),
        ("config.lr=NaN", "config.lr", "NaN"),
        ("config.lr=[1]", "config.lr", "compare with"),
        ("config.a..b=1", "config.a..b", "bad key"),
        ("colour=red", "colour", "unknown filter"),
        ("state=sleeping", "state", "unknown state"),
        ("state<running", "state", "only takes '='"),
        ("limit=0", "limit", "between 1 and 1000"),
        ("limit=ten", "limit", "not an integer"),
        ("limit=5&limit=6", "limit", "given twice"),
        ("sort=colour", "sort", "cannot sort by"),
        ("tag=", "tag", "empty"),
        ("id=a%20b", "id", "run ids"),
        ("justaword", "justaword", "NAME=VALUE"),
    ],
)
def test_bad_parts_are_reported_with_their_location(raw: str, loc: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_run_query(raw)
    (problem,) = caught.value.problems
    assert problem.loc == ("query", loc)
    assert message in problem.msg


def test_every_bad_part_is_reported_at_once() -> None:
    with pytest.raises(QueryError) as caught:
        parse_run_query("colour=red&summary.loss<x&limit=0")
    assert [p.loc[1] for p in caught.value.problems] == ["colour", "summary.loss", "limit"]


def test_single_expressions_for_run_sets() -> None:
    assert parse_filter("summary.loss<0.5") == ValueFilter(LOSS, "<", 0.5)
    assert parse_sort("config.lr") == SortKey(JsonField("config", ("lr",)), descending=False)
    with pytest.raises(ValueError, match=r"config\.KEY OP VALUE"):
        parse_filter("state=running")
