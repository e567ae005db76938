"""The executor's newer plan shapes on SQLite and PostgreSQL, against the small league of
test_analytics_executor.py (its docstring has the table worked out by hand)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_analytics_executor import League, league  # noqa: F401 (fixture)


def test_filter_lists_every_team_passing_the_threshold(league: League) -> None:  # noqa: F811
    four = league.ask(
        "Summer Cup",
        "filter",
        metric="points",
        filters={"threshold": {"metric": "points", "op": "ge", "value": 4}},
    )
    unbeaten = league.ask(
        "Summer Cup",
        "filter",
        metric="lost",
        filters={"threshold": {"metric": "lost", "op": "eq", "value": 0}},
    )
    none = league.ask(
        "Summer Cup",
        "filter",
        metric="win_rate",
        filters={"threshold": {"metric": "win_rate", "op": "gt", "value": 70}},
    )

    assert four.rows == [["Bears", 4, 3], ["Lions", 4, 3]]
    assert unbeaten.rows == [["Bears", 0, 3], ["eagles", 0, 0]]
    assert none.rows == []
    assert all("threshold" in s["params"] for s in four.statements[-1:])


@pytest.mark.parametrize(
    ("intent", "fields", "expected"),
    [
        (
            "compare",
            {"metric": "score_for", "teams": ["Lions", "Bears"]},
            [["Lions", 8, 3], ["Bears", 4, 3]],
        ),
        (
            "difference",
            {"metric": "points", "filters": {"ranks": [1, -1]}},
            [["Lions", 4, 3, 1], ["eagles", 0, 0, 5]],
        ),
        (
            "split",
            {"metric": "won", "teams": ["Lions"]},
            [["Lions", "home", 1, 2], ["Lions", "away", 1, 1]],
        ),
        ("share", {"metric": "games", "filters": {"result": "draw"}}, [[2, 5]]),
        (
            "count",
            {
                "metric": "games",
                "filters": {"threshold": {"metric": "total_goals", "op": "ge", "value": 4}},
            },
            [[3]],
        ),
        (
            "count",
            {
                "metric": "games",
                "filters": {"threshold": {"metric": "margin", "op": "eq", "value": 1}},
            },
            [[1]],
        ),
    ],
)
def test_comparisons_splits_and_shares(
    league: League,  # noqa: F811
    intent: str,
    fields: dict[str, Any],
    expected: list[list[Any]],
) -> None:
    assert league.ask("Summer Cup", intent, **fields).rows == expected


def test_opponents_beaten_and_still_to_play(league: League) -> None:  # noqa: F811
    beaten = league.ask("Summer Cup", "opponents", teams=["Lions"], filters={"outcome": "win"})
    to_play = league.ask("Summer Cup", "opponents", teams=["Tigers"], filters={"pending": True})

    assert beaten.rows == league.game_rows("g1", "g4")
    assert to_play.rows == league.game_rows("g6")  # live counts; the cancelled g8 does not


def test_checks_say_yes_or_no(league: League) -> None:  # noqa: F811
    beat = league.ask("Summer Cup", "check", teams=["Lions", "Tigers"], filters={"outcome": "win"})
    top = league.ask("Summer Cup", "check", metric="position", teams=["Bears"], order="asc")
    over = league.ask(
        "Summer Cup",
        "check",
        metric="score_for",
        teams=["Lions"],
        filters={"threshold": {"metric": "score_for", "op": "gt", "value": 7}},
    )

    assert beat.rows == league.game_rows("g1", extra={"g1": "W"})
    assert top.rows == [["Bears", 2, 3, False]]
    assert over.rows == [["Lions", 8, 3, True]]
