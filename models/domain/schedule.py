"""Fixture generation: round robins, single-elimination brackets, and kick-off times."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from models.domain.constraints import Rules, next_start


@dataclass(frozen=True)
class Fixture:
    round: int
    home_team_id: int
    away_team_id: int
    starts_at: datetime | None = None
    venue: str | None = None


# --- round robin ---------------------------------------------------------------------------


def round_robin(team_ids: Sequence[int]) -> list[Fixture]:
    """Every pair meets once (circle / Berger method); odd counts give each team one bye.

    Home/away alternates so that each team's home and away counts differ by at most one.
    """
    _require_unique(team_ids)
    if len(team_ids) < 2:
        return []
    # The bye (None) takes the fixed slot: that keeps odd-sized leagues exactly balanced.
    slots: list[int | None] = [None, *team_ids] if len(team_ids) % 2 else list(team_ids)
    fixtures: list[Fixture] = []
    for round_index in range(len(slots) - 1):
        fixtures.extend(_round_pairings(round_index, slots))
        slots = [slots[0], slots[-1], *slots[1:-1]]  # rotate everyone but the fixed slot
    return fixtures


def _round_pairings(round_index: int, slots: list[int | None]) -> list[Fixture]:
    n = len(slots)
    fixtures: list[Fixture] = []
    for board in range(n // 2):
        home, away = slots[board], slots[n - 1 - board]
        # The fixed slot alternates by round, other boards by position: this balances venues.
        if (round_index % 2 == 1) if board == 0 else (board % 2 == 1):
            home, away = away, home
        if home is not None and away is not None:
            fixtures.append(Fixture(round_index + 1, home, away))
    return fixtures


def double_round_robin(team_ids: Sequence[int]) -> list[Fixture]:
    """The single round robin, then the same pairings with home and away swapped."""
    first = round_robin(team_ids)
    rounds = max((f.round for f in first), default=0)
    second = [Fixture(f.round + rounds, f.away_team_id, f.home_team_id) for f in first]
    return first + second


def _require_unique(team_ids: Sequence[int]) -> None:
    if len(set(team_ids)) != len(team_ids):
        raise ValueError("team ids must be unique")


# --- single elimination --------------------------------------------------------------------


def bracket_order(n_slots: int) -> list[int]:
    """Seed numbers in bracket slot order, e.g. 8 -> [1, 8, 4, 5, 2, 7, 3, 6].

    Built by repeatedly replacing each seed s with (s, size + 1 - s), so seeds 1 and 2
    sit in opposite halves and can only meet in the final.
    """
    if n_slots < 1 or n_slots & (n_slots - 1):
        raise ValueError("n_slots must be a positive power of two")
    order = [1]
    while len(order) < n_slots:
        size = 2 * len(order)
        order = [seed for s in order for seed in (s, size + 1 - s)]
    return order


def bracket_size(n_teams: int) -> int:
    """Next power of two >= n_teams."""
    return 1 << max(n_teams - 1, 0).bit_length()


def elimination_bracket(seeded_team_ids: Sequence[int]) -> list[tuple[int, int | None]]:
    """Round-1 pairs in bracket order; ``None`` means the first team has a bye.

    Input order is seed order (seed 1 first). The better seed is always first. Round-2
    winners are listed in this same order (a bye team advances automatically), so
    ``next_elimination_round`` can pair them.
    """
    _require_unique(seeded_team_ids)
    n = len(seeded_team_ids)
    if n < 2:
        raise ValueError("an elimination bracket needs at least 2 teams")
    seeds = bracket_order(bracket_size(n))
    # Seeds beyond n are empty slots; they always face a top seed, who thus gets the bye.
    team = {s: seeded_team_ids[s - 1] for s in range(1, n + 1)}
    return [(team[seeds[i]], team.get(seeds[i + 1])) for i in range(0, len(seeds), 2)]


def single_elimination_first_round(
    seeded_team_ids: Sequence[int],
) -> tuple[list[Fixture], list[int]]:
    """Round-1 games (better seed at home) and the teams with a bye, in seed order."""
    pairs = elimination_bracket(seeded_team_ids)
    games = [Fixture(1, home, away) for home, away in pairs if away is not None]
    byes = {home for home, away in pairs if away is None}
    return games, [t for t in seeded_team_ids if t in byes]


def next_elimination_round(
    round_number: int, winners_in_bracket_order: Sequence[int]
) -> list[Fixture]:
    """Pair consecutive winners (w0 v w1, w2 v w3, ...), the first of each pair at home."""
    winners = winners_in_bracket_order
    _require_unique(winners)
    if len(winners) < 2 or len(winners) % 2:
        raise ValueError("a knockout round needs an even number (>= 2) of winners")
    if round_number < 1:
        raise ValueError("round_number must be >= 1")
    return [Fixture(round_number, winners[i], winners[i + 1]) for i in range(0, len(winners), 2)]


# --- times and venues ----------------------------------------------------------------------


def assign_times(
    fixtures: Sequence[Fixture],
    starts_at: datetime | None,
    interval_minutes: int,
    venues: Sequence[str],
    rules: Rules | None = None,
) -> list[Fixture]:
    """Give every fixture a kick-off time and venue, keeping the input order.

    Rounds are played in ascending round number. A round's games fill time slots of at
    most ``len(venues)`` games (one slot for the whole round if there are no venues). Slots
    never span rounds, so a team never has two games at the same time.

    Without ``rules``, slot k (counted across all rounds) starts at ``starts_at + k *
    interval_minutes``. With them, ``interval_minutes`` is the least time between kick-offs:
    a slot that reuses the venues waits for the last game to end, a new round also for the
    teams' rest, and every kick-off rolls forward into the playing hours and past blackout
    dates, so the schedule keeps every rule of ``models.domain.constraints``.
    """
    if starts_at is not None and interval_minutes < 1:
        raise ValueError("interval_minutes must be >= 1")
    if len(set(venues)) != len(venues):
        raise ValueError("venues must be unique")
    by_round: dict[int, list[int]] = defaultdict(list)
    for index, fixture in enumerate(fixtures):
        by_round[fixture.round].append(index)
    clock = _Clock(starts_at, interval_minutes, rules)
    placed: dict[int, tuple[datetime | None, str | None]] = {}
    for offset, round_number in enumerate(sorted(by_round)):
        indexes = by_round[round_number]
        per_slot = len(venues) or len(indexes)
        when: datetime | None = None
        for position, index in enumerate(indexes):
            if position % per_slot == 0:
                when = clock.next_slot(new_round=position == 0)
            # Rotating by the round offset spreads each venue across different pairings.
            venue = venues[(position + offset) % len(venues)] if venues else None
            placed[index] = (when, venue)
    return [replace(f, starts_at=placed[i][0], venue=placed[i][1]) for i, f in enumerate(fixtures)]


class _Clock:
    """Successive slot times: evenly spaced without rules; kept within them with rules."""

    def __init__(self, starts_at: datetime | None, interval: int, rules: Rules | None) -> None:
        self.starts_at = starts_at
        self.interval = timedelta(minutes=interval)
        self.rules = rules
        self.slots = 0
        self.last: datetime | None = None

    def next_slot(self, *, new_round: bool) -> datetime | None:
        if self.starts_at is None:
            return None
        if self.rules is None:
            when = self.starts_at + self.slots * self.interval
        elif self.last is None:
            when = next_start(self.rules, self.starts_at)
        else:
            # Slots of one round share venues; rounds share teams too (and owe them rest).
            wait = self.rules.length + (self.rules.rest if new_round else timedelta(0))
            when = next_start(self.rules, self.last + max(self.interval, wait))
        self.slots += 1
        self.last = when
        return when
