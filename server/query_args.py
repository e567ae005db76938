"""Query strings loaded through their marshmallow schema, remembered per schema.

Building a marshmallow schema deep-copies its fields (with the load, ~100 µs of CPU for a
page query), and a list read is asked for with the same few query strings over and over
(`?per_page=200`, a round, a status). So each schema class is built once, and each query
string it loaded successfully is kept, a bounded number per schema: a cached list read costs
a dict lookup here instead of a schema built and run. Refusals are not kept (they raise every time).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from marshmallow import Schema

KEPT_PER_SCHEMA = 256  # distinct query strings; a crawler varying them only evicts
MAX_KEPT_QUERY = 512  # characters: longer query strings are loaded, not kept


class QueryMemo:
    def __init__(self, schema_class: type[Schema]) -> None:
        self.schema = schema_class()
        self._loaded: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def load(self, query: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """`arguments` loaded by the schema (raises its ValidationError); a copy, as callers
        may change what they get."""
        found = self._loaded.get(query)
        if found is not None:
            self._loaded.move_to_end(query)
            return dict(found)
        loaded: dict[str, Any] = self.schema.load(arguments)
        if len(query) <= MAX_KEPT_QUERY:
            self._loaded[query] = dict(loaded)
            if len(self._loaded) > KEPT_PER_SCHEMA:
                self._loaded.popitem(last=False)
        return loaded


_MEMOS: dict[type[Schema], QueryMemo] = {}


def query_memo(schema_class: type[Schema]) -> QueryMemo:
    memo = _MEMOS.get(schema_class)
    if memo is None:
        memo = _MEMOS[schema_class] = QueryMemo(schema_class)
    return memo
