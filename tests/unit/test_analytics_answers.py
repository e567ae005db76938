"""Answer sentences (pure): one plain sentence naming exactly the teams and numbers asked for."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.analytics.plan import TEAM_METRICS, make_plan
from workers.analytics.wording.answers import answer_sentence

FAST = settings(max_examples=200, deadline=None)
EVENT = "Summer Cup"
GAME = ["game_id", "date", "round", "home_team", "away_team", "home_score", "away_score", "status"]
RECORD = ["team", "played", "won", "drawn", "lost", "score_for", "score_against"]
RECORD += ["score_diff", "points"]
POSITION = ["team", "group", "position", "points", "played"]
NAMES = {1: "Lions", 2: "Tigers", 3: "Bears", 4: "Wolves"}


def say(intent: str, columns: list[str], rows: list[list[Any]], **fields: Any) -> str:
    plan = make_plan(intent, 1, **fields)
    return answer_sentence(plan, columns, rows, event_name=EVENT, team_names=NAMES)


def named(sentence: str, names: list[str]) -> set[str]:
    """Teams the sentence mentions, as whole words (as the evaluation reads it)."""
    lowered = sentence.casefold()
    return {n for n in names if re.search(rf"(?<!\w){re.escape(n.casefold())}(?!\w)", lowered)}


def game(gid: int, day: str, home: str, away: str, hs: Any, as_: Any, status: str = "final"):
    return [gid, day, 1, home, away, hs, as_, status]


# --- examples, one per wording ---------------------------------------------------------------

EXAMPLES = [
    # leader: only the leaders, ties as ties
    (("leader", ["team", "points", "played"], [["Lions", 7, 3]]), {"metric": "points"}),
    "Lions lead with 7 points.",
    (
        ("leader", ["team", "points", "played"], [["Lions", 7, 3], ["Bears", 7, 3]]),
        {"metric": "points"},
    ),
    "Lions and Bears lead with 7 points each.",
    (
        (
            "leader",
            ["team", "lost", "played"],
            [["Lions", 1, 3], ["Bears", 1, 3], ["Wolves", 1, 2]],
        ),
        {"metric": "lost"},
    ),
    "Lions, Bears and Wolves have the most losses: 1 each.",
    (("leader", ["team", "win_rate", "played"], [["Lions", 0.625, 8]]), {"metric": "win_rate"}),
    "Lions have the best win rate: 62.5%.",
    (
        ("leader", ["team", "score_against", "played"], [["Bears", 2, 8]]),
        {"metric": "score_against", "order": "asc"},
    ),
    "Bears have conceded the fewest goals: 2.",
    (
        ("leader", ["team", "score_diff", "played"], [["Wolves", -4, 2]]),
        {"metric": "score_diff", "order": "asc"},
    ),
    "Wolves have the worst goal difference: -4.",
    (
        ("leader", ["team", "score_for", "played"], [["Lions", 9, 4]]),
        {"metric": "score_for", "filters": {"home": True}},
    ),
    "Lions have scored the most goals at home: 9.",
    (("leader", POSITION, [["Lions", None, 1, 16, 7]]), {"metric": "position", "order": "asc"}),
    "Lions are top of the Summer Cup table with 16 points.",
    (
        (
            "leader",
            POSITION,
            [["Ants", "A", 1, 3, 1], ["Cats", "B", 1, 1, 1], ["Dogs", "B", 1, 1, 1]],
        ),
        {"metric": "position", "order": "asc"},
    ),
    "Ants are top of group A with 3 points and Cats and Dogs are joint top of group B with 1 "
    "point each.",
    (("leader", ["team", "points", "played"], []), {"metric": "points"}),
    "No games have been played yet in Summer Cup.",
    # top_n
    (
        ("top_n", ["team", "points", "played"], [["Lions", 16, 7], ["Bears", 12, 7]]),
        {"metric": "points", "limit": 2},
    ),
    "The 2 teams with the most points: Lions (16) and Bears (12).",
    (
        ("top_n", ["team", "score_against", "played"], [["Bears", 2, 7]]),
        {"metric": "score_against", "order": "asc", "limit": 1},
    ),
    "The team that has conceded the fewest goals: Bears (2).",
    # team_value and team_record
    (
        ("team_value", ["team", "score_for", "played"], [["Lions", 14, 7]]),
        {"metric": "score_for", "teams": [1]},
    ),
    "Lions have scored 14 goals.",
    (
        ("team_value", ["team", "win_rate", "played"], [["Lions", 0.5, 8]]),
        {"metric": "win_rate", "teams": [1]},
    ),
    "Lions have won 50% of their games.",
    (
        ("team_value", ["team", "win_rate", "played"], [["Lions", None, 0]]),
        {"metric": "win_rate", "teams": [1]},
    ),
    "Lions have not played a game yet.",
    (
        ("team_value", POSITION, [["Tigers", None, 3, 9, 7]]),
        {"metric": "position", "teams": [2]},
    ),
    "Tigers are 3rd in Summer Cup with 9 points.",
    (("team_record", RECORD, [["Lions", 7, 5, 1, 1, 16, 5, 11, 16]]), {"teams": [1]}),
    "Lions' record: played 7, won 5, drawn 1, lost 1, scored 16, conceded 5, 16 points.",
    # games
    (("head_to_head", GAME, [game(1, "2026-05-02", "Lions", "Tigers", 3, 1)]), {"teams": [1, 2]}),
    "Lions beat Tigers 3\u20131 on 2026-05-02.",
    (("head_to_head", GAME, [game(1, "2026-05-02", "Tigers", "Lions", 1, 1)]), {"teams": [1, 2]}),
    "Lions and Tigers drew 1\u20131 on 2026-05-02.",
    (("head_to_head", GAME, []), {"teams": [1, 2]}),
    "Lions and Tigers have not played each other yet in Summer Cup.",
    (("count", ["games"], [[2]]), {"metric": "games", "filters": {"result": "draw"}}),
    "There have been 2 draws in Summer Cup.",
    (("count", ["games"], [[1]]), {"metric": "games", "filters": {"result": "draw"}}),
    "There has been 1 draw in Summer Cup.",
    (("count", ["games"], [[0]]), {"metric": "games"}),
    "No games have been played yet in Summer Cup.",
    (
        ("count", ["games"], [[3]]),
        {"metric": "games", "teams": [1], "filters": {"outcome": "win", "home": True}},
    ),
    "Lions have won 3 games at home.",
    (
        ("count", ["round", "games"], [[1, 1], [2, 0]]),
        {"metric": "games", "group_by": "round", "filters": {"result": "draw"}},
    ),
    "Draws by round in Summer Cup: 1 in round 1 and 0 in round 2.",
    (("total", ["goals", "games"], [[15, 5]]), {"metric": "goals"}),
    "15 goals have been scored in 5 games in Summer Cup.",
    (("total", ["goals", "games"], [[8, 3]]), {"metric": "goals", "teams": [1]}),
    "Lions have scored 8 goals in 3 games.",
    (("average", ["goals_per_game", "games"], [[2.667, 3]]), {"metric": "goals_per_game"}),
    "There have been 2.67 goals per game on average in Summer Cup.",
    (("average", ["goals_per_game", "games"], [[None, 0]]), {"metric": "goals_per_game"}),
    "No games have been played yet in Summer Cup.",
    (
        ("extreme", [*GAME, "margin"], [[*game(4, "2026-05-09", "Wolves", "Lions", 0, 4), 4]]),
        {"metric": "margin"},
    ),
    "The biggest win: Lions beat Wolves 4\u20130 on 2026-05-09, by 4 goals.",
    (
        (
            "extreme",
            [*GAME, "total_goals"],
            [
                [*game(1, "2026-05-02", "Lions", "Tigers", 3, 1), 4],
                [*game(3, "2026-05-09", "Tigers", "Bears", 2, 2), 4],
            ],
        ),
        {"metric": "total_goals"},
    ),
    "The highest-scoring games, with 4 goals each: Lions 3\u20131 Tigers on 2026-05-02 and "
    "Tigers 2\u20132 Bears on 2026-05-09.",
    (
        ("extreme", [*GAME, "margin"], []),
        {"metric": "margin", "teams": [2], "filters": {"outcome": "win"}},
    ),
    "Tigers have not won a game yet.",
    (
        ("form", [*GAME, "result"], [[*game(5, "2026-05-16", "Lions", "Bears", 1, 2), "L"]]),
        {"teams": [1]},
    ),
    "Lions' last result: L.",
    (
        (
            "games",
            GAME,
            [game(7, "2026-05-23", "Bears", "Lions", None, None, "scheduled")],
        ),
        {"filters": {"date": date(2026, 5, 23)}},
    ),
    "There is 1 game on 2026-05-23 in Summer Cup: Bears v Lions (scheduled).",
    (("games", GAME, []), {"filters": {"round": 9}}),
    "There are no games in round 9 of Summer Cup.",
]


@pytest.mark.parametrize(
    ("case", "expected"), list(zip(EXAMPLES[::2], EXAMPLES[1::2], strict=True))
)
def test_examples(case: tuple[tuple[str, list[str], list[list[Any]]], dict], expected: str) -> None:
    (intent, columns, rows), fields = case

    assert say(intent, columns, rows, **fields) == expected


def test_the_scoring_unit_can_be_renamed() -> None:
    plan = make_plan("team_value", 1, metric="score_for", teams=[1])
    sentence = answer_sentence(
        plan,
        ["team", "score_for", "played"],
        [["Lions", 1, 1]],
        event_name=EVENT,
        metric_words={"goal": "run", "goals": "runs"},
    )

    assert sentence == "Lions have scored 1 run."


def test_without_team_names_a_head_to_head_still_reads() -> None:
    plan = make_plan("head_to_head", 1, teams=[1, 2])

    assert answer_sentence(plan, GAME, [], event_name=EVENT) == (
        "These two teams have not played each other yet in Summer Cup."
    )


# --- properties ------------------------------------------------------------------------------

# Names built from letters no template word is made of, so a name is only ever a team.
WORD = st.text(alphabet="qxzjkvw", min_size=2, max_size=5).map(str.capitalize)
NAME = st.lists(WORD, min_size=1, max_size=2).map(" ".join)


def _distinct(pool: list[str]) -> bool:
    """No name is a whole word (or words) of another: 'Kv' and 'Kv Jx' could not be told apart."""
    return not any(named(b, [a]) for a in pool for b in pool if a != b)


POOLS = st.lists(NAME, min_size=2, max_size=8, unique_by=str.casefold).filter(_distinct)
VALUE_METRICS = [m for m in TEAM_METRICS if m != "position"]


def said(metric: str, value: Any) -> str:
    if metric == "win_rate":
        return f"{round(value * 100, 1):g}%"
    return f"+{value}" if metric == "score_diff" and value > 0 else str(value)


@st.composite
def leader_cases(draw: st.DrawFn) -> tuple[str, str, list[str], list[str], Any]:
    pool = draw(POOLS)
    leaders = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True))
    metric = draw(st.sampled_from(VALUE_METRICS))
    if metric == "win_rate":
        value: Any = draw(st.integers(0, 40)) / 40
    elif metric == "score_diff":
        value = draw(st.integers(-30, 30))
    else:
        value = draw(st.integers(0, 60))
    return metric, draw(st.sampled_from(["desc", "asc"])), pool, leaders, value


@FAST
@given(leader_cases())
def test_a_leader_sentence_names_exactly_the_tied_leaders(
    case: tuple[str, str, list[str], list[str], Any],
) -> None:
    metric, order, pool, leaders, value = case
    columns = ["team", metric] if metric == "played" else ["team", metric, "played"]
    rows = [[name, value] if metric == "played" else [name, value, 3] for name in leaders]
    plan = make_plan("leader", 1, metric=metric, order=order)
    everyone = dict(enumerate(pool, start=1))

    sentence = answer_sentence(plan, columns, rows, event_name=EVENT, team_names=everyone)

    assert named(sentence, pool) == set(leaders)
    assert said(metric, value) in sentence
    assert (" each" in sentence) == (len(leaders) > 1)
    assert sentence.endswith(".") and sentence.count(". ") == 0


@FAST
@given(POOLS, st.data())
def test_top_of_each_group_names_only_those_teams(pool: list[str], data: st.DataObject) -> None:
    groups = data.draw(st.lists(st.sampled_from(["A", "B", None]), min_size=len(pool)))
    table = [[name, groups[i], 1, 3, 1] for i, name in enumerate(pool)]
    shown = data.draw(st.lists(st.sampled_from(table), min_size=1, unique_by=lambda r: r[0]))
    plan = make_plan("leader", 1, metric="position", order="asc")

    sentence = answer_sentence(plan, POSITION, shown, event_name=EVENT)

    assert named(sentence, pool) == {row[0] for row in shown}


@FAST
@given(POOLS, st.sampled_from(VALUE_METRICS), st.sampled_from(["desc", "asc"]), st.data())
def test_a_top_n_sentence_names_exactly_the_listed_teams(
    pool: list[str], metric: str, order: str, data: st.DataObject
) -> None:
    listed = data.draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))
    columns = ["team", metric] if metric == "played" else ["team", metric, "played"]
    rows = [[name, 1] if metric == "played" else [name, 1, 1] for name in listed]
    plan = make_plan("top_n", 1, metric=metric, order=order, limit=len(listed))

    sentence = answer_sentence(plan, columns, rows, event_name=EVENT)

    assert named(sentence, pool) == set(listed)
    assert sentence.index(listed[0]) <= sentence.index(listed[-1])  # in the rows' order


SCORES = st.integers(0, 9)


@FAST
@given(st.lists(st.tuples(SCORES, SCORES), min_size=1, max_size=12), st.booleans())
def test_head_to_head_names_only_the_two_teams_and_every_score(
    scores: list[tuple[int, int]], swap: bool
) -> None:
    rows = [
        game(i, "2026-05-02", *(("Tigers", "Lions") if swap else ("Lions", "Tigers")), hs, as_)
        for i, (hs, as_) in enumerate(scores)
    ]

    sentence = say("head_to_head", GAME, rows, teams=[1, 2])

    assert named(sentence, list(NAMES.values())) == {"Lions", "Tigers"}
    if len(rows) <= 10:
        for hs, as_ in scores:
            assert f"{max(hs, as_)}\u2013{min(hs, as_)}" in sentence


@FAST
@given(st.sampled_from(["count", "total", "average"]), st.booleans())
def test_counts_and_sums_name_no_team_unless_one_was_asked_about(intent: str, team: bool) -> None:
    metric = {"count": "games", "total": "goals", "average": "goals_per_game"}[intent]
    columns = ["games"] if intent == "count" else [metric, "games"]
    rows = [[4]] if intent == "count" else [[4, 2]]
    fields: dict[str, Any] = {"metric": metric, "teams": [1] if team else []}

    sentence = say(intent, columns, rows, **fields)

    assert named(sentence, list(NAMES.values())) == ({"Lions"} if team else set())
    assert ("4" in sentence) or ("4.00" in sentence)
