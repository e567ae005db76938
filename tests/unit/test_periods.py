"""Per-period scores: each sport's periods, and whether a breakdown agrees with the score."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.periods import (
    GENERIC,
    SETS,
    SPORTS,
    SUM,
    Period,
    PeriodError,
    SportPeriods,
    check,
    from_json,
    resolve,
    rules_for,
    to_json,
)

SUMMED = [rules for rules in SPORTS.values() if rules.counting == SUM] + [GENERIC]
SET_SPORTS = [rules for rules in SPORTS.values() if rules.counting == SETS]
FOOTBALL, BASKETBALL, HOCKEY = SPORTS["football"], SPORTS["basketball"], SPORTS["ice hockey"]
VOLLEYBALL = SPORTS["volleyball"]


def p(home: int, away: int, shootout: bool = False) -> Period:
    return Period(home, away, shootout)


def names(rules: SportPeriods, periods: list[Period]) -> list[str]:
    return [item["name"] for item in to_json(rules, periods)]


@pytest.mark.parametrize(
    ("sport", "expected"),
    [
        ("Football", "football"),
        ("soccer", "football"),
        ("ICE_HOCKEY", "ice hockey"),
        ("ice-hockey", "ice hockey"),
        ("  Table  Tennis ", "table tennis"),
        ("quidditch", "other"),
        (None, "other"),
        ("", "other"),
    ],
)
def test_the_event_sport_picks_the_rules(sport: str | None, expected: str) -> None:
    assert rules_for(sport).sport == expected


def test_periods_are_named_after_the_sport() -> None:
    level = [p(1, 0), p(0, 1), p(0, 0), p(0, 0), p(4, 3, shootout=True)]
    assert names(FOOTBALL, level) == [
        "1st half",
        "2nd half",
        "ET 1st half",
        "ET 2nd half",
        "Penalties",
    ]
    assert names(BASKETBALL, [p(20, 20)] * 6) == ["Q1", "Q2", "Q3", "Q4", "OT1", "OT2"]
    assert names(SPORTS["baseball"], [p(0, 0)] * 11)[-2:] == ["Inning 10", "Inning 11"]
    assert names(VOLLEYBALL, [p(25, 20)] * 3) == ["Set 1", "Set 2", "Set 3"]
    assert names(SPORTS["handball"], [p(10, 10)] * 6)[-2:] == ["ET2 1st half", "ET2 2nd half"]


def test_halves_add_up_to_the_score() -> None:
    check(FOOTBALL, [p(1, 0), p(1, 1)], 2, 1, final=True)
    with pytest.raises(PeriodError, match="add up to 2-1, not the score 3-1"):
        check(FOOTBALL, [p(1, 0), p(1, 1)], 3, 1, final=True)


def test_no_breakdown_always_fits() -> None:
    check(VOLLEYBALL, [], 3, 0, final=True)
    check(FOOTBALL, [], 7, 7, final=False)


def test_too_many_periods_are_refused() -> None:
    with pytest.raises(PeriodError, match="at most 14 periods"):
        check(BASKETBALL, [p(0, 0)] * 15, 0, 0, final=False)
    with pytest.raises(PeriodError, match="allows 2 halves, extra time"):
        check(FOOTBALL, [p(0, 0)] * 5, 0, 0, final=False)  # a 5th period is only penalties


def test_overtime_only_after_a_level_score() -> None:
    quarters = [p(20, 20), p(20, 20), p(20, 20), p(20, 18)]
    with pytest.raises(PeriodError, match="OT1 is played only when the score is level, not 80-78"):
        check(BASKETBALL, [*quarters, p(5, 5)], 85, 83, final=True)
    level = [p(20, 20)] * 4
    check(BASKETBALL, [*level, p(5, 5), p(7, 3)], 92, 88, final=True)
    with pytest.raises(PeriodError, match="OT2 is played only when the score is level"):
        check(BASKETBALL, [*level, p(7, 3), p(1, 1)], 88, 84, final=True)


def test_extra_time_halves_are_played_both() -> None:
    # The second half of extra time follows the first whatever its score.
    check(FOOTBALL, [p(1, 0), p(0, 1), p(1, 0), p(0, 0)], 2, 1, final=True)


def test_a_shootout_gives_its_winner_one() -> None:
    periods = [p(1, 0), p(0, 1), p(0, 0), p(0, 0), p(4, 3, shootout=True)]
    check(FOOTBALL, periods, 2, 1, final=True)
    with pytest.raises(PeriodError, match="add up to 2-1, not the score 5-4"):
        check(FOOTBALL, periods, 5, 4, final=True)
    # Hockey: straight from the first overtime into the shootout.
    check(HOCKEY, [p(1, 1), p(0, 0), p(1, 1), p(0, 0), p(1, 2, shootout=True)], 2, 3, final=True)


def test_a_shootout_needs_a_level_score_and_a_winner() -> None:
    with pytest.raises(PeriodError, match="only when the score is level, not 2-1"):
        check(FOOTBALL, [p(1, 0), p(1, 1), p(3, 2, shootout=True)], 3, 1, final=True)
    with pytest.raises(PeriodError, match="needs a winner"):
        check(FOOTBALL, [p(1, 0), p(0, 1), p(3, 3, shootout=True)], 1, 1, final=True)
    check(FOOTBALL, [p(1, 0), p(0, 1), p(3, 3, shootout=True)], 1, 1, final=False)  # under way
    with pytest.raises(PeriodError, match="after the full regulation"):
        check(FOOTBALL, [p(0, 0), p(3, 2, shootout=True)], 1, 0, final=True)
    with pytest.raises(PeriodError, match="only the last period"):
        check(FOOTBALL, [p(0, 0, shootout=True), p(0, 0)], 0, 0, final=False)
    with pytest.raises(PeriodError, match="basketball has no shootout"):
        check(BASKETBALL, [p(20, 20)] * 4 + [p(1, 0, shootout=True)], 81, 80, final=True)


def test_the_score_of_a_set_sport_counts_sets_won() -> None:
    sets = [p(25, 20), p(22, 25), p(25, 18), p(25, 23)]
    check(VOLLEYBALL, sets, 3, 1, final=True)
    with pytest.raises(PeriodError, match="sets won, which the periods make 3-1, not 97-86"):
        check(VOLLEYBALL, sets, 97, 86, final=True)


def test_a_live_set_may_be_in_play() -> None:
    sets = [p(25, 20), p(22, 25), p(14, 9)]
    check(VOLLEYBALL, sets, 1, 1, final=False)  # the third set under way
    check(VOLLEYBALL, [*sets[:2], p(25, 9)], 2, 1, final=False)  # ... or just won
    with pytest.raises(PeriodError, match="Set 3 is tied"):
        check(VOLLEYBALL, [*sets[:2], p(25, 25)], 1, 1, final=True)


def test_no_set_after_the_match_is_won() -> None:
    with pytest.raises(PeriodError, match="Set 4 is played after a side had already won 3 sets"):
        check(VOLLEYBALL, [p(25, 0)] * 4, 4, 0, final=True)
    with pytest.raises(PeriodError, match="Game 3 is played after a side had already won 2"):
        check(SPORTS["badminton"], [p(21, 0), p(21, 0), p(0, 21)], 2, 1, final=True)


def test_sets_have_no_shootout() -> None:
    with pytest.raises(PeriodError, match="tennis has no shootout"):
        check(SPORTS["tennis"], [p(6, 4), p(1, 0, shootout=True)], 1, 0, final=False)


def test_resolve_keeps_the_breakdown_only_while_the_score_stands() -> None:
    recorded = (p(1, 0),)
    assert resolve(None, recorded, score_unchanged=True) == recorded
    assert resolve(None, recorded, score_unchanged=False) == ()
    assert resolve([], recorded, score_unchanged=True) == ()
    assert resolve([p(0, 1)], recorded, score_unchanged=False) == (p(0, 1),)


def test_periods_refuse_negative_and_boolean_scores() -> None:
    for bad in (-1, True, 1.5):
        with pytest.raises(PeriodError):
            Period(bad, 0)  # type: ignore[arg-type]


# --- properties -----------------------------------------------------------------------------

tallies = st.tuples(st.integers(0, 60), st.integers(0, 60))


@given(st.sampled_from(SUMMED), st.data())
def test_any_regulation_breakdown_fits_its_own_sum(
    rules: SportPeriods, data: st.DataObject
) -> None:
    count = data.draw(st.integers(1, len(rules.regulation)))
    periods = [p(h, a) for h, a in data.draw(st.lists(tallies, min_size=count, max_size=count))]
    home, away = sum(x.home for x in periods), sum(x.away for x in periods)
    check(rules, periods, home, away, final=True)
    check(rules, periods, home, away, final=False)
    off_by = data.draw(st.sampled_from([(1, 0), (0, 1), (2, 1)]))
    with pytest.raises(PeriodError):
        check(rules, periods, home + off_by[0], away + off_by[1], final=True)


@given(st.sampled_from(SUMMED + SET_SPORTS), st.integers(1, 20))
def test_more_periods_than_the_sport_plays_are_refused(rules: SportPeriods, more: int) -> None:
    periods = [p(0, 0)] * (rules.max_periods + more)
    with pytest.raises(PeriodError, match="at most"):
        check(rules, periods, 0, 0, final=False)


@st.composite
def played_sets(draw: st.DrawFn) -> tuple[SportPeriods, list[Period]]:
    """A set sport and a match played to its end: no tied set, none after the winning one."""
    rules = draw(st.sampled_from(SET_SPORTS))
    to_win, won, sets = len(rules.regulation) // 2 + 1, [0, 0], []
    while max(won) < to_win:
        winner, loser = draw(st.integers(11, 30)), draw(st.integers(0, 10))
        home_wins = draw(st.booleans())
        sets.append(p(winner, loser) if home_wins else p(loser, winner))
        won[0 if home_wins else 1] += 1
    return rules, sets


@given(played_sets(), tallies)
def test_a_played_match_fits_exactly_its_sets_won(
    match: tuple[SportPeriods, list[Period]], score: tuple[int, int]
) -> None:
    rules, sets = match
    won = (sum(s.home > s.away for s in sets), sum(s.away > s.home for s in sets))
    check(rules, sets, *won, final=True)
    if score != won:
        with pytest.raises(PeriodError):
            check(rules, sets, *score, final=True)
    with pytest.raises(PeriodError):  # one set more than the match lasts
        check(rules, [*sets, p(1, 0)], won[0] + 1, won[1], final=False)


@given(
    st.sampled_from(SUMMED + SET_SPORTS), st.lists(st.tuples(tallies, st.booleans()), max_size=8)
)
def test_the_stored_form_round_trips(rules: SportPeriods, raw: list) -> None:
    periods = [p(h, a, shootout) for (h, a), shootout in raw]
    stored = to_json(rules, periods)
    assert from_json(stored) == tuple(periods)
    assert all(isinstance(item["name"], str) and item["name"] for item in stored)
    assert from_json(None) == ()
