"""Property tests for `decided_by`: the rule named is the first that separates two rows."""

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from models.domain.standings import Row, compute_standings
from tests.unit.test_standings_properties import (
    FAST,
    SCORINGS,
    TIEBREAKER_LISTS,
    by_group,
    seasons,
)

# What each one-value tiebreaker compares on a row ("tied" rows must be level on it).
STAT = {
    "score_diff": lambda r: r.score_diff,
    "score_for": lambda r: r.score_for,
    "wins": lambda r: r.won,
    "fewest_score_against": lambda r: -r.score_against,
}


def ranks(rows: list[Row]) -> dict[int, int]:
    return {r.team_id: r.rank for r in rows}


@FAST
@given(seasons(grouped=True), SCORINGS, TIEBREAKER_LISTS)
def test_every_row_but_each_groups_last_says_why(season, scoring, tiebreakers) -> None:
    teams, results = season
    for table in by_group(compute_standings(teams, results, scoring, tiebreakers)).values():
        assert table[-1].decided_by is None
        for row, below in pairwise(table):
            why = row.decided_by
            assert why is not None and why.detail
            if row.rank == below.rank:
                assert (why.rule, why.over) == ("tied", (below.team_id,))
            else:
                assert why.rule in ("points", *tiebreakers)
                # `over` is the whole next rank, in the order the table lists it.
                next_rank = [r.team_id for r in table if r.rank == below.rank]
                assert list(why.over) == next_rank


@FAST
@given(seasons(grouped=True), SCORINGS, TIEBREAKER_LISTS)
def test_named_rule_separates_and_every_earlier_rule_is_level(season, scoring, tiebreakers) -> None:
    teams, results = season
    rows = compute_standings(teams, results, scoring, tiebreakers)
    rules = ["points", *tiebreakers]
    for table in by_group(rows).values():
        for row, below in pairwise(table):
            if row.decided_by is None or row.decided_by.rule == "tied":
                continue
            k = rules.index(row.decided_by.rule)
            # Points plus tiebreakers[:k] are the rules up to and including the named one:
            # the two rows share a rank without it and are apart with it.
            after = ranks(compute_standings(teams, results, scoring, tiebreakers[:k]))
            assert after[row.team_id] < after[below.team_id]
            if k > 0:
                before = ranks(compute_standings(teams, results, scoring, tiebreakers[: k - 1]))
                assert before[row.team_id] == before[below.team_id]
            if row.decided_by.rule in STAT:
                value = STAT[row.decided_by.rule]
                assert value(row) > value(below)
            if row.decided_by.rule == "points":
                assert row.points > below.points


@FAST
@given(seasons(grouped=True), SCORINGS, TIEBREAKER_LISTS)
def test_tied_rows_are_level_on_every_rule(season, scoring, tiebreakers) -> None:
    teams, results = season
    for table in by_group(compute_standings(teams, results, scoring, tiebreakers)).values():
        for row, below in pairwise(table):
            if row.decided_by is not None and row.decided_by.rule == "tied":
                assert row.rank == below.rank
                assert row.points == below.points
                for name in tiebreakers:
                    if name in STAT:
                        assert STAT[name](row) == STAT[name](below)
                assert row.decided_by.detail.startswith(f"level on points {row.points}")


@FAST
@given(seasons(), st.sampled_from(list(STAT)))
def test_detail_states_both_values_of_a_one_value_rule(season, name) -> None:
    teams, results = season
    for row, below in pairwise(compute_standings(teams, results, tiebreakers=[name])):
        why = row.decided_by
        if why is not None and why.rule == name:
            shown = {
                "score_diff": (f"{row.score_diff:+d}", f"{below.score_diff:+d}"),
                "score_for": (str(row.score_for), str(below.score_for)),
                "wins": (str(row.won), str(below.won)),
                "fewest_score_against": (str(row.score_against), str(below.score_against)),
            }[name]
            assert why.detail.endswith(shown[1])
            assert shown[0] in why.detail
