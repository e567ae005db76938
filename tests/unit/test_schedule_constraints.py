"""Schedule constraints (models/domain/constraints.py) and the generator that keeps them."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.domain.constraints import Booking, Rules, next_start, violations
from models.domain.schedule import assign_times, double_round_robin, round_robin

FAST = settings(max_examples=150, deadline=None)
DAY = datetime(2026, 6, 1, tzinfo=UTC)


def at(hour: int, minute: int = 0, day: int = 0) -> datetime:
    return DAY + timedelta(days=day, hours=hour, minutes=minute)


def game(
    key: int, home: int, away: int, when: datetime | None, venue: str | None = None
) -> Booking:
    return Booking(key, key, home, away, when, venue)


def found(rules: Rules, bookings: list[Booking]) -> set[tuple[str, tuple[int, ...]]]:
    return {(v.rule, v.keys) for v in violations(rules, bookings)}


# --- each rule ---------------------------------------------------------------------------------


def test_a_venue_hosts_one_game_at_a_time() -> None:
    games = [game(1, 1, 2, at(14), "North"), game(2, 3, 4, at(15), "north")]
    [clash] = violations(Rules(game_minutes=120), games)
    assert clash.as_dict() == {
        "rule": "venue_double_booked",
        "game_ids": [1, 2],
        "team_ids": [1, 2, 3, 4],
        "venue": "north",
        "starts_at": at(15),
    }
    # Back to back is fine: the first game has ended when the second starts.
    assert found(Rules(game_minutes=60), games) == set()


def test_a_team_plays_one_game_at_a_time() -> None:
    games = [game(1, 1, 2, at(14)), game(2, 3, 1, at(15))]
    [clash] = violations(Rules(), games)
    assert (clash.rule, clash.game_ids, clash.team_ids, clash.venue) == (
        "team_double_booked",
        (1, 2),
        (1,),
        None,
    )


def test_a_rematch_at_the_same_time_is_one_violation_naming_both_teams() -> None:
    [clash] = violations(Rules(), [game(1, 1, 2, at(14)), game(2, 2, 1, at(14))])
    assert clash.team_ids == (1, 2)


def test_minimum_rest_between_a_teams_games() -> None:
    rules = Rules(game_minutes=90, min_rest_minutes=60)
    short = [game(1, 1, 2, at(14)), game(2, 1, 3, at(16))]  # 30 min after the end
    enough = [game(1, 1, 2, at(14)), game(2, 1, 3, at(16, 30))]
    [rest] = violations(rules, short)
    assert (rest.rule, rest.team_ids, rest.starts_at) == ("min_rest", (1,), at(16))
    assert violations(rules, enough) == []


def test_playing_hours() -> None:
    rules = Rules(game_minutes=120, playing_hours=(time(10), time(22)))
    assert found(rules, [game(1, 1, 2, at(10)), game(2, 3, 4, at(20))]) == set()
    early, late = game(1, 1, 2, at(9, 59)), game(2, 3, 4, at(20, 1))
    assert found(rules, [early, late]) == {("playing_hours", (1,)), ("playing_hours", (2,))}


def test_blackout_dates_cover_any_part_of_a_game() -> None:
    rules = Rules(game_minutes=120, blackout_dates=frozenset({date(2026, 6, 2)}))
    on_the_day = game(1, 1, 2, at(12, day=1))
    into_the_day = game(2, 3, 4, at(23))  # 23:00-01:00 the next day
    before = game(3, 5, 6, at(21))
    assert found(rules, [on_the_day, into_the_day, before]) == {
        ("blackout_date", (1,)),
        ("blackout_date", (2,)),
    }


def test_games_without_a_time_break_nothing() -> None:
    rules = Rules(playing_hours=(time(10), time(22)))
    assert violations(rules, [game(1, 1, 2, None, "North"), game(2, 1, 2, None, "North")]) == []


def test_focus_keeps_only_the_violations_of_the_focused_games() -> None:
    old_clash = [game(1, 1, 2, at(14)), game(2, 1, 3, at(14))]
    moved = game(3, 4, 5, at(14))
    assert violations(Rules(), [*old_clash, moved], focus={3}) == []
    assert len(violations(Rules(), [*old_clash, moved])) == 1


def test_rules_from_stored_json() -> None:
    rules = Rules.from_json(
        {
            "game_minutes": 90,
            "min_rest_minutes": 30,
            "playing_hours": {"start": "10:00", "end": "22:30"},
            "blackout_dates": ["2026-06-02"],
        }
    )
    assert rules == Rules(90, 30, (time(10), time(22, 30)), frozenset({date(2026, 6, 2)}))
    assert Rules.from_json(None) == Rules(game_minutes=120)


def test_rules_refuse_hours_too_short_for_a_game() -> None:
    with pytest.raises(ValueError, match="at least one game"):
        Rules(game_minutes=120, playing_hours=(time(10), time(11)))


# --- the generator ----------------------------------------------------------------------------


def test_the_generator_no_longer_plays_through_the_night() -> None:
    """The issue's example: 14:00Z every 120 min gave games at 22:00, 00:00, 02:00."""
    rules = Rules(game_minutes=120, playing_hours=(time(10), time(22)))
    fixtures = round_robin(list(range(1, 13)))  # 11 rounds, one slot each
    timed = assign_times(fixtures, at(14), 120, [], rules)
    kickoffs = sorted({f.starts_at for f in timed if f.starts_at})
    assert [k.hour for k in kickoffs[:6]] == [14, 16, 18, 20, 10, 12]
    assert kickoffs[4] == at(10, day=1)
    assert all(k.hour >= 10 and k + timedelta(hours=2) <= k.replace(hour=22) for k in kickoffs)


def test_the_generator_skips_blackout_dates_and_keeps_rest() -> None:
    rules = Rules(
        game_minutes=90,
        min_rest_minutes=24 * 60,
        playing_hours=(time(12), time(20)),
        blackout_dates=frozenset({date(2026, 6, 2)}),
    )
    timed = assign_times(round_robin([1, 2, 3, 4]), at(12), 120, ["A", "B"], rules)
    days = sorted({f.starts_at.date() for f in timed if f.starts_at})
    assert days == [date(2026, 6, 1), date(2026, 6, 3), date(2026, 6, 4)]


def test_without_rules_the_slots_are_evenly_spaced_as_before() -> None:
    timed = assign_times(round_robin([1, 2, 3, 4]), at(14), 90, ["A", "B"])
    assert sorted({f.starts_at for f in timed}) == [at(14), at(15, 30), at(17)]  # type: ignore[type-var]


def test_next_start() -> None:
    rules = Rules(game_minutes=60, playing_hours=(time(9), time(18)))
    assert next_start(rules, at(7)) == at(9)
    assert next_start(rules, at(17, 30)) == at(9, day=1)
    assert next_start(rules, at(12, 15)) == at(12, 15)


# --- properties -------------------------------------------------------------------------------


@st.composite
def rule_sets(draw: st.DrawFn) -> Rules:
    game_minutes = draw(st.integers(30, 180))
    hours = None
    if draw(st.booleans()):
        first = draw(st.integers(0, 23 * 60 - game_minutes))
        close = draw(st.integers(first + game_minutes, 24 * 60 - 1))
        hours = (time(first // 60, first % 60), time(close // 60, close % 60))
    blackouts = draw(st.frozensets(st.integers(0, 20), max_size=5))
    return Rules(
        game_minutes=game_minutes,
        min_rest_minutes=draw(st.integers(0, 600)),
        playing_hours=hours,
        blackout_dates=frozenset(DAY.date() + timedelta(days=d) for d in blackouts),
    )


@FAST
@given(
    rule_sets(),
    st.integers(2, 12),
    st.lists(st.sampled_from(["A", "B", "C", "D"]), unique=True, max_size=4),
    st.integers(1, 300),
    st.integers(0, 24 * 60 - 1),
    st.booleans(),
)
def test_a_generated_schedule_keeps_every_rule(
    rules: Rules, teams: int, venues: list[str], interval: int, start: int, double: bool
) -> None:
    fixtures = (double_round_robin if double else round_robin)(list(range(1, teams + 1)))
    timed = assign_times(fixtures, DAY + timedelta(minutes=start), interval, venues, rules)
    bookings = [
        Booking(i, None, f.home_team_id, f.away_team_id, f.starts_at, f.venue)
        for i, f in enumerate(timed)
    ]
    assert violations(rules, bookings) == []
    assert len(timed) == len(fixtures)


BOOKINGS = st.lists(
    st.tuples(
        st.integers(1, 5),
        st.integers(1, 5),
        st.one_of(st.none(), st.integers(0, 3 * 24 * 60).map(lambda m: DAY + timedelta(minutes=m))),
        st.one_of(st.none(), st.sampled_from(["A", "a", "B"])),
    ).filter(lambda g: g[0] != g[1]),
    max_size=12,
)


def naive(rules: Rules, bookings: list[Booking]) -> set[tuple[str, tuple[int, ...]]]:
    """The rules read literally, every pair compared."""
    out: set[tuple[str, tuple[int, ...]]] = set()
    length, rest = rules.length, rules.rest
    timed = [b for b in bookings if b.starts_at is not None]
    for b in timed:
        assert b.starts_at is not None
        if rules.playing_hours:
            opens = datetime.combine(b.starts_at.date(), rules.playing_hours[0], UTC)
            closes = datetime.combine(b.starts_at.date(), rules.playing_hours[1], UTC)
            if not (opens <= b.starts_at and b.starts_at + length <= closes):
                out.add(("playing_hours", (b.key,)))
        minute = b.starts_at
        while minute < b.starts_at + length:
            if minute.date() in rules.blackout_dates:
                out.add(("blackout_date", (b.key,)))
            minute += timedelta(minutes=1)
    for x, y in combinations(timed, 2):
        first, second = sorted([x, y], key=lambda b: (b.starts_at, b.key))
        assert first.starts_at is not None and second.starts_at is not None
        gap = second.starts_at - first.starts_at
        pair = (first.key, second.key)
        same_venue = first.venue and second.venue and first.venue.lower() == second.venue.lower()
        if same_venue and gap < length:
            out.add(("venue_double_booked", pair))
        if set(first.teams) & set(second.teams):
            if gap < length:
                out.add(("team_double_booked", pair))
            elif gap < length + rest:
                out.add(("min_rest", pair))
    return out


@FAST
@given(rule_sets(), BOOKINGS, st.sets(st.integers(0, 11)))
def test_violations_match_the_rules_read_literally(
    rules: Rules, raw: list[tuple[int, int, datetime | None, str | None]], focus: set[int]
) -> None:
    bookings = [
        Booking(i, i, home, away, when, venue) for i, (home, away, when, venue) in enumerate(raw)
    ]
    assert found(rules, bookings) == naive(rules, bookings)
    focused = {(v.rule, v.keys) for v in violations(rules, bookings, focus)}
    assert focused == {v for v in naive(rules, bookings) if focus & set(v[1])}


@FAST
@given(rule_sets(), st.integers(0, 20 * 24 * 60))
def test_next_start_is_the_first_allowed_kickoff(rules: Rules, minutes: int) -> None:
    earliest = DAY + timedelta(minutes=minutes)
    when = next_start(rules, earliest)
    lone = [Booking(0, None, 1, 2, when)]
    assert when >= earliest and violations(rules, lone) == []
    # Nothing earlier on the same minute grid was allowed.
    probe = earliest
    while probe < when and probe < earliest + timedelta(hours=6):
        assert violations(rules, [Booking(0, None, 1, 2, probe)]) != []
        probe += timedelta(minutes=7)
