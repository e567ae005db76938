"""Query strings loaded through their schema are remembered per schema, refusals are not,
and callers cannot change what is remembered."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError, fields

from server.query_args import KEPT_PER_SCHEMA, QueryMemo


class Page(Schema):
    page = fields.Integer(load_default=1)
    status = fields.String()


def test_a_query_string_is_loaded_once_and_given_as_a_copy() -> None:
    memo = QueryMemo(Page)
    calls = 0
    real_load = memo.schema.load

    def counting(data: dict[str, str]) -> dict[str, object]:
        nonlocal calls
        calls += 1
        return real_load(data)

    memo.schema.load = counting  # type: ignore[method-assign]
    first = memo.load("page=2", {"page": "2"})
    first["page"] = 99  # a caller's change stays the caller's
    again = memo.load("page=2", {"page": "2"})
    assert again == {"page": 2} and calls == 1
    assert memo.load("", {}) == {"page": 1} and calls == 2


def test_a_refused_query_raises_every_time() -> None:
    memo = QueryMemo(Page)
    for _ in range(2):
        with pytest.raises(ValidationError):
            memo.load("page=x", {"page": "x"})


def test_the_memo_is_bounded() -> None:
    memo = QueryMemo(Page)
    for number in range(KEPT_PER_SCHEMA + 50):
        assert memo.load(f"page={number}", {"page": str(number)}) == {"page": number}
    assert len(memo._loaded) == KEPT_PER_SCHEMA
    assert "page=0" not in memo._loaded and f"page={KEPT_PER_SCHEMA + 49}" in memo._loaded
