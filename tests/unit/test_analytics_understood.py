"""`understood_as`: the plan said back as one sentence, so a reader sees what was answered."""

from __future__ import annotations

from typing import Any

import pytest

from workers.analytics.plan import make_plan
from workers.analytics.wording.understood import understood_as

NAMES = {1: "Lions", 2: "Tigers", 3: "Bears"}


def said(intent: str, **fields: Any) -> str:
    return understood_as(make_plan(intent, 9, **fields), event_name="Summer Cup", team_names=NAMES)


@pytest.mark.parametrize(
    ("intent", "fields", "sentence"),
    [
        (
            "filter",
            {
                "metric": "drawn",
                "filters": {"threshold": {"metric": "drawn", "op": "ge", "value": 3}},
            },
            "Teams with draws \u2265 3, in Summer Cup",
        ),
        (
            "compare",
            {"metric": "score_against", "teams": [1, 2], "order": "desc"},
            "Lions: more goals conceded than Tigers in Summer Cup?",
        ),
        (
            "difference",
            {"metric": "points", "filters": {"ranks": [1, -1]}},
            "Difference in points between 1st and last place, in Summer Cup",
        ),
        (
            "check",
            {"teams": [3, 2], "filters": {"outcome": "win"}},
            "Did Bears beat Tigers in Summer Cup?",
        ),
        (
            "count",
            {
                "metric": "games",
                "filters": {"threshold": {"metric": "margin", "op": "eq", "value": 1}},
            },
            "Number of games with winning margin = 1, in Summer Cup",
        ),
        (
            "share",
            {"metric": "games", "filters": {"result": "home_win", "round": 2}},
            "Share of games that were home wins, in round 2, in Summer Cup",
        ),
        (
            "opponents",
            {"teams": [1], "filters": {"pending": True}},
            "Teams Lions have still to play, in Summer Cup",
        ),
        (
            "leader",
            {"metric": "points", "filters": {"home": True}},
            "The team(s) with the most points, at home, in Summer Cup",
        ),
    ],
)
def test_the_plan_is_said_back(intent: str, fields: dict[str, Any], sentence: str) -> None:
    assert said(intent, **fields) == sentence


def test_a_different_constraint_reads_differently() -> None:
    # The point of the echo: two plans that answer different questions never read the same.
    most = said("leader", metric="drawn")
    at_least = said(
        "filter",
        metric="drawn",
        filters={"threshold": {"metric": "drawn", "op": "ge", "value": 3}},
    )
    assert most != at_least and "3" in at_least and "3" not in most
