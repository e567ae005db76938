"""docs/operations.md lists every metric Matchday exports, as the registry declares it."""

from __future__ import annotations

from tests.metrics_doc import BLOCK, DOC, declared, metrics_table


def test_the_operations_doc_lists_every_metric() -> None:
    match = BLOCK.search(DOC.read_text())
    assert match, "docs/operations.md has no <!-- metrics:start --> block"
    block = DOC.read_text()[match.start() : match.end()]
    missing = [name for name, *_ in declared() if f"`{name}" not in block]
    assert not missing, f"run `make metrics-doc`: the table lacks {missing}"
    assert metrics_table() in block, "run `make metrics-doc`: the table is out of date"


def test_names_follow_thing_unit_and_labels_are_bounded() -> None:
    for name, kind, labels, _help, _where in declared():
        assert name.startswith("matchday_"), name
        if kind == "histogram":
            assert name.endswith(("_seconds", "_bytes")), name
        # No label that takes a value per user, request, path or game.
        assert not {"path", "user", "user_id", "request_id", "game"} & set(labels), (name, labels)
