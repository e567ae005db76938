"""Fixture generation: round robins, elimination brackets and time/venue assignment."""

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.domain.schedule import (
    Fixture,
    assign_times,
    bracket_order,
    bracket_size,
    double_round_robin,
    elimination_bracket,
    next_elimination_round,
    round_robin,
    single_elimination_first_round,
)

FAST = settings(max_examples=100, deadline=None)
TEAM_LISTS = st.lists(st.integers(1, 10_000), min_size=2, max_size=24, unique=True)
KICKOFF = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)


def home_away(fixtures: list[Fixture]) -> tuple[Counter[int], Counter[int]]:
    return Counter(f.home_team_id for f in fixtures), Counter(f.away_team_id for f in fixtures)


def rounds(fixtures: list[Fixture]) -> dict[int, list[Fixture]]:
    by_round: dict[int, list[Fixture]] = defaultdict(list)
    for f in fixtures:
        by_round[f.round].append(f)
    return by_round


# --- round robin -----------------------------------------------------------------------------


def test_round_robin_four_teams() -> None:
    fixtures = round_robin([1, 2, 3, 4])
    assert len(fixtures) == 6
    assert sorted(rounds(fixtures)) == [1, 2, 3]
    assert all(len(games) == 2 for games in rounds(fixtures).values())


def test_round_robin_odd_count_gives_each_team_one_bye() -> None:
    fixtures = round_robin([10, 20, 30, 40, 50])
    assert sorted(rounds(fixtures)) == [1, 2, 3, 4, 5]
    idle = Counter()
    for games in rounds(fixtures).values():
        playing = {t for f in games for t in (f.home_team_id, f.away_team_id)}
        idle.update({10, 20, 30, 40, 50} - playing)
    assert idle == Counter({10: 1, 20: 1, 30: 1, 40: 1, 50: 1})


@pytest.mark.parametrize("team_ids", [[], [7]])
def test_round_robin_needs_two_teams(team_ids: list[int]) -> None:
    assert round_robin(team_ids) == []
    assert double_round_robin(team_ids) == []


def test_round_robin_two_teams() -> None:
    assert round_robin([5, 9]) == [Fixture(1, 5, 9)]
    assert double_round_robin([5, 9]) == [Fixture(1, 5, 9), Fixture(2, 9, 5)]


def test_round_robin_rejects_duplicates() -> None:
    with pytest.raises(ValueError, match="unique"):
        round_robin([1, 2, 2])


def test_round_robin_fixtures_have_no_time_or_venue() -> None:
    assert all(f.starts_at is None and f.venue is None for f in round_robin([1, 2, 3]))


@FAST
@given(TEAM_LISTS)
def test_round_robin_properties(team_ids: list[int]) -> None:
    fixtures = round_robin(team_ids)
    n = len(team_ids)
    pairs = Counter(frozenset((f.home_team_id, f.away_team_id)) for f in fixtures)
    assert set(pairs) == {frozenset(p) for p in combinations(team_ids, 2)}
    assert set(pairs.values()) == {1}
    assert sorted(rounds(fixtures)) == list(range(1, (n if n % 2 else n - 1) + 1))
    for games in rounds(fixtures).values():
        playing = [t for f in games for t in (f.home_team_id, f.away_team_id)]
        assert len(playing) == len(set(playing))
    home, away = home_away(fixtures)
    assert all(abs(home[t] - away[t]) <= 1 for t in team_ids)


@FAST
@given(TEAM_LISTS)
def test_double_round_robin_properties(team_ids: list[int]) -> None:
    fixtures = double_round_robin(team_ids)
    first = round_robin(team_ids)
    half = max(f.round for f in first)
    assert fixtures[: len(first)] == first
    assert [(f.round - half, f.away_team_id, f.home_team_id) for f in fixtures[len(first) :]] == [
        (f.round, f.home_team_id, f.away_team_id) for f in first
    ]
    ordered = Counter((f.home_team_id, f.away_team_id) for f in fixtures)
    assert set(ordered.values()) == {1}
    assert len(ordered) == len(team_ids) * (len(team_ids) - 1)
    home, away = home_away(fixtures)
    assert all(home[t] == away[t] == len(team_ids) - 1 for t in team_ids)


# --- single elimination ----------------------------------------------------------------------


def test_bracket_order_standard_seeding() -> None:
    assert bracket_order(1) == [1]
    assert bracket_order(2) == [1, 2]
    assert bracket_order(4) == [1, 4, 2, 3]
    assert bracket_order(8) == [1, 8, 4, 5, 2, 7, 3, 6]
    assert bracket_order(16)[:4] == [1, 16, 8, 9]


@pytest.mark.parametrize("n_slots", [0, 3, 6, -4])
def test_bracket_order_needs_a_power_of_two(n_slots: int) -> None:
    with pytest.raises(ValueError, match="power of two"):
        bracket_order(n_slots)


@pytest.mark.parametrize(("n", "size"), [(1, 1), (2, 2), (3, 4), (4, 4), (5, 8), (9, 16)])
def test_bracket_size(n: int, size: int) -> None:
    assert bracket_size(n) == size


def test_eight_team_bracket() -> None:
    seeds = [101, 102, 103, 104, 105, 106, 107, 108]  # seed k is team 100 + k
    games, byes = single_elimination_first_round(seeds)
    assert byes == []
    assert [(f.round, f.home_team_id, f.away_team_id) for f in games] == [
        (1, 101, 108),
        (1, 104, 105),
        (1, 102, 107),
        (1, 103, 106),
    ]


def test_six_team_bracket_gives_byes_to_the_top_two_seeds() -> None:
    seeds = [11, 12, 13, 14, 15, 16]
    assert elimination_bracket(seeds) == [(11, None), (14, 15), (12, None), (13, 16)]
    games, byes = single_elimination_first_round(seeds)
    assert byes == [11, 12]
    assert [(f.home_team_id, f.away_team_id) for f in games] == [(14, 15), (13, 16)]


def test_three_team_bracket() -> None:
    games, byes = single_elimination_first_round([1, 2, 3])
    assert byes == [1]
    assert [(f.home_team_id, f.away_team_id) for f in games] == [(2, 3)]


def test_bracket_rounds_through_to_the_final() -> None:
    seeds = [11, 12, 13, 14, 15, 16]
    pairs = elimination_bracket(seeds)
    # Favourites win: the bye team advances, otherwise the better (home) seed.
    winners = [home for home, _ in pairs]
    semis = next_elimination_round(2, winners)
    assert [(f.round, f.home_team_id, f.away_team_id) for f in semis] == [(2, 11, 14), (2, 12, 13)]
    final = next_elimination_round(3, [11, 12])
    assert final == [Fixture(3, 11, 12)]


@pytest.mark.parametrize("seeds", [[], [1], [1, 1, 2]])
def test_elimination_rejects_too_few_or_duplicate_teams(seeds: list[int]) -> None:
    with pytest.raises(ValueError):
        single_elimination_first_round(seeds)


@pytest.mark.parametrize("winners", [[], [1], [1, 2, 3], [1, 1]])
def test_next_round_rejects_odd_or_bad_winner_lists(winners: list[int]) -> None:
    with pytest.raises(ValueError):
        next_elimination_round(2, winners)


def test_next_round_rejects_bad_round_number() -> None:
    with pytest.raises(ValueError, match="round_number"):
        next_elimination_round(0, [1, 2])


@FAST
@given(TEAM_LISTS)
def test_elimination_properties(seeds: list[int]) -> None:
    games, byes = single_elimination_first_round(seeds)
    size = bracket_size(len(seeds))
    playing = [t for f in games for t in (f.home_team_id, f.away_team_id)]
    assert sorted(playing + byes) == sorted(seeds)
    assert len(byes) == size - len(seeds)
    # Byes go to the top seeds, and the better seed is at home.
    assert byes == seeds[: len(byes)]
    assert all(seeds.index(f.home_team_id) < seeds.index(f.away_team_id) for f in games)
    pairs = elimination_bracket(seeds)
    slots = [t for pair in pairs for t in pair]
    top_half = set(slots[: len(slots) // 2])
    assert (seeds[0] in top_half) != (seeds[1] in top_half)


@FAST
@given(TEAM_LISTS)
def test_elimination_runs_to_a_single_champion(seeds: list[int]) -> None:
    winners = [home for home, _ in elimination_bracket(seeds)]
    round_number = 2
    while len(winners) > 1:
        games = next_elimination_round(round_number, winners)
        winners = [f.away_team_id for f in games]  # underdogs win every time
        round_number += 1
    assert winners[0] in seeds
    assert round_number - 1 == bracket_size(len(seeds)).bit_length() - 1  # log2(size) rounds


# --- times and venues ------------------------------------------------------------------------


def test_assign_times_splits_rounds_into_slots_of_venue_capacity() -> None:
    fixtures = round_robin([1, 2, 3, 4, 5, 6])  # 5 rounds of 3 games
    timed = assign_times(fixtures, KICKOFF, 90, ["North", "South"])
    round_one = [f for f in timed if f.round == 1]
    assert [f.starts_at for f in round_one] == [
        KICKOFF,
        KICKOFF,
        KICKOFF + timedelta(minutes=90),
    ]
    assert [f.venue for f in round_one] == ["North", "South", "North"]
    round_two = [f for f in timed if f.round == 2]
    assert round_two[0].starts_at == KICKOFF + timedelta(minutes=180)
    assert [f.venue for f in round_two] == ["South", "North", "South"]


def test_assign_times_keeps_order_and_pairings() -> None:
    fixtures = list(reversed(round_robin([1, 2, 3, 4])))
    timed = assign_times(fixtures, KICKOFF, 60, ["V"])
    assert [(f.round, f.home_team_id, f.away_team_id) for f in timed] == [
        (f.round, f.home_team_id, f.away_team_id) for f in fixtures
    ]
    # Rounds are played in ascending order even when listed backwards.
    first_round = [f.starts_at for f in timed if f.round == 1]
    assert min(first_round) == KICKOFF


def test_assign_times_without_venues_puts_a_whole_round_in_one_slot() -> None:
    timed = assign_times(round_robin([1, 2, 3, 4]), KICKOFF, 120, [])
    assert {(f.round, f.starts_at) for f in timed} == {
        (1, KICKOFF),
        (2, KICKOFF + timedelta(minutes=120)),
        (3, KICKOFF + timedelta(minutes=240)),
    }
    assert all(f.venue is None for f in timed)


def test_assign_times_without_start_still_assigns_venues() -> None:
    timed = assign_times(round_robin([1, 2, 3, 4]), None, 0, ["A", "B"])
    assert all(f.starts_at is None for f in timed)
    assert all(f.venue in ("A", "B") for f in timed)


def test_assign_times_venues_rotate_between_rounds() -> None:
    timed = assign_times(double_round_robin([1, 2, 3, 4]), KICKOFF, 30, ["X", "Y", "Z"])
    first_game_venues = [games[0].venue for _, games in sorted(rounds(timed).items())]
    assert first_game_venues == ["X", "Y", "Z", "X", "Y", "Z"]


def test_assign_times_empty() -> None:
    assert assign_times([], KICKOFF, 60, ["A"]) == []


@pytest.mark.parametrize("interval", [0, -5])
def test_assign_times_needs_a_positive_interval_when_timed(interval: int) -> None:
    with pytest.raises(ValueError, match="interval_minutes"):
        assign_times(round_robin([1, 2]), KICKOFF, interval, [])


def test_assign_times_rejects_duplicate_venues() -> None:
    with pytest.raises(ValueError, match="venues"):
        assign_times(round_robin([1, 2]), KICKOFF, 60, ["A", "A"])


@FAST
@given(
    TEAM_LISTS,
    st.lists(st.sampled_from("ABCDEFG"), max_size=5, unique=True),
    st.integers(1, 240),
    st.booleans(),
)
def test_assign_times_properties(team_ids, venues, interval, double) -> None:
    fixtures = (double_round_robin if double else round_robin)(team_ids)
    timed = assign_times(fixtures, KICKOFF, interval, venues)
    assert [(f.round, f.home_team_id, f.away_team_id) for f in timed] == [
        (f.round, f.home_team_id, f.away_team_id) for f in fixtures
    ]
    by_time: dict[datetime, list[Fixture]] = defaultdict(list)
    for f in timed:
        by_time[f.starts_at].append(f)
    for slot in by_time.values():
        teams = [t for f in slot for t in (f.home_team_id, f.away_team_id)]
        assert len(teams) == len(set(teams))  # nobody plays twice at once
        assert len({f.round for f in slot}) == 1
        if venues:
            assert len(slot) <= len(venues)
            assert len({f.venue for f in slot}) == len(slot)  # one game per venue
        else:
            assert all(f.venue is None for f in slot)
    assert all((f.starts_at - KICKOFF) % timedelta(minutes=interval) == timedelta() for f in timed)
    # Earlier rounds never start after later ones.
    starts = sorted((f.round, f.starts_at) for f in timed)
    assert [s for _, s in starts] == sorted(s for _, s in starts)
