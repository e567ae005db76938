"""Schedule constraints: the rules a set of timed games must keep, and who breaks them.

Pure functions, no I/O. Times are UTC (the API's), so playing hours and blackout dates are
UTC too. A game occupies its venue and both its teams from its kick-off for `game_minutes`;
games without a kick-off time (postponed, or not timed yet) break no rule.

Rules (the `rule` of a violation):
- ``venue_double_booked``: two games overlap at one venue (venue names compared
  case-insensitively, as the schedule request's);
- ``team_double_booked``: a team's two games overlap;
- ``min_rest``: a team has less than `min_rest_minutes` between one game's end and the next's
  kick-off;
- ``playing_hours``: a game starts before the day's first kick-off or ends after its close;
- ``blackout_date``: a game is played (in part) on a blackout date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

DEFAULT_GAME_MINUTES = 120
RULES = ("venue_double_booked", "team_double_booked", "min_rest", "playing_hours", "blackout_date")


@dataclass(frozen=True)
class Rules:
    """An event's schedule rules. `playing_hours` is (first kick-off, close) within one UTC
    day, start before end; None: any time of day."""

    game_minutes: int = DEFAULT_GAME_MINUTES
    min_rest_minutes: int = 0
    playing_hours: tuple[time, time] | None = None
    blackout_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.game_minutes < 1 or self.min_rest_minutes < 0:
            raise ValueError("game_minutes must be >= 1 and min_rest_minutes >= 0")
        if self.playing_hours is not None:
            start, end = self.playing_hours
            if _minutes(end) - _minutes(start) < self.game_minutes:
                raise ValueError("the playing hours must hold at least one game")

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.game_minutes)

    @property
    def rest(self) -> timedelta:
        return timedelta(minutes=self.min_rest_minutes)

    @classmethod
    def from_json(cls, stored: Mapping[str, Any] | None) -> Rules:
        """The rules as stored on an event (JSON: "HH:MM" times, ISO dates); None: defaults."""
        if not stored:
            return cls()
        hours = stored.get("playing_hours")
        return cls(
            game_minutes=int(stored.get("game_minutes", DEFAULT_GAME_MINUTES)),
            min_rest_minutes=int(stored.get("min_rest_minutes", 0)),
            playing_hours=(
                None
                if not hours
                else (time.fromisoformat(hours["start"]), time.fromisoformat(hours["end"]))
            ),
            blackout_dates=frozenset(
                date.fromisoformat(d) for d in stored.get("blackout_dates", [])
            ),
        )


@dataclass(frozen=True)
class Booking:
    """A game as the rules see it. `key` identifies it in the caller's terms (a game id, or a
    position for games not stored yet); `game_id` is None for an unsaved game."""

    key: int
    game_id: int | None
    home_team_id: int
    away_team_id: int
    starts_at: datetime | None
    venue: str | None = None

    @property
    def teams(self) -> tuple[int, int]:
        return (self.home_team_id, self.away_team_id)


@dataclass(frozen=True)
class Violation:
    rule: str
    keys: tuple[int, ...]
    game_ids: tuple[int | None, ...]
    team_ids: tuple[int, ...]
    venue: str | None
    starts_at: datetime | None  # the later kick-off of a pair, or the game's own

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "game_ids": list(self.game_ids),
            "team_ids": list(self.team_ids),
            "venue": self.venue,
            "starts_at": self.starts_at,
        }


def violations(
    rules: Rules, bookings: Sequence[Booking], focus: Iterable[int] | None = None
) -> list[Violation]:
    """Every rule broken by `bookings`; with `focus` (keys), only those involving one of them
    (a move is judged by what it breaks, not by an older clash elsewhere in the event)."""
    timed = [b for b in bookings if b.starts_at is not None]
    wanted = None if focus is None else set(focus)
    if wanted is not None:
        timed = _neighbours(timed, wanted)
    found = [
        *_single_game(rules, timed),
        *_venue_clashes(rules, timed),
        *_team_clashes(rules, timed),
    ]
    if wanted is not None:
        found = [v for v in found if wanted.intersection(v.keys)]
    return sorted(found, key=_order)


def _neighbours(timed: list[Booking], wanted: set[int]) -> list[Booking]:
    """The bookings that share a team or a venue with a wanted one: every rule is about one
    game or a pair through a team or a venue, so the rest cannot matter (a move in a season
    of 10,000 games looks at a few hundred)."""
    chosen = [b for b in timed if b.key in wanted]
    teams = {team for b in chosen for team in b.teams}
    venues = {b.venue.casefold() for b in chosen if b.venue}
    return [
        b
        for b in timed
        if b.key in wanted
        or teams.intersection(b.teams)
        or (b.venue is not None and b.venue.casefold() in venues)
    ]


def _order(v: Violation) -> tuple[Any, ...]:
    return (v.starts_at, RULES.index(v.rule), v.keys)


def _single_game(rules: Rules, timed: Iterable[Booking]) -> list[Violation]:
    found = []
    for b in timed:
        assert b.starts_at is not None
        if not within_hours(rules, b.starts_at):
            found.append(_violation("playing_hours", [b], b.teams, b.venue))
        if on_blackout(rules, b.starts_at):
            found.append(_violation("blackout_date", [b], b.teams, b.venue))
    return found


def within_hours(rules: Rules, starts_at: datetime) -> bool:
    if rules.playing_hours is None:
        return True
    first, close = rules.playing_hours
    day = starts_at.date()
    opens = datetime.combine(day, first, starts_at.tzinfo)
    closes = datetime.combine(day, close, starts_at.tzinfo)
    return opens <= starts_at and starts_at + rules.length <= closes


def on_blackout(rules: Rules, starts_at: datetime) -> bool:
    """Whether any part of a game kicking off at `starts_at` falls on a blackout date."""
    if not rules.blackout_dates:
        return False
    last = starts_at + rules.length - timedelta(microseconds=1)
    day, end = starts_at.date(), last.date()
    while day <= end:
        if day in rules.blackout_dates:
            return True
        day += timedelta(days=1)
    return False


def _venue_clashes(rules: Rules, timed: Sequence[Booking]) -> list[Violation]:
    by_venue: dict[str, list[Booking]] = defaultdict(list)
    for b in timed:
        if b.venue:
            by_venue[b.venue.casefold()].append(b)
    found = []
    for games in by_venue.values():
        for first, second in _close_pairs(games, rules.length):
            teams = sorted({*first.teams, *second.teams})
            found.append(_violation("venue_double_booked", [first, second], teams, second.venue))
    return found


def _team_clashes(rules: Rules, timed: Sequence[Booking]) -> list[Violation]:
    by_team: dict[int, list[Booking]] = defaultdict(list)
    for b in timed:
        for team in b.teams:
            by_team[team].append(b)
    pairs: dict[tuple[str, int, int], list[int]] = defaultdict(list)
    found_pairs: dict[tuple[str, int, int], tuple[Booking, Booking]] = {}
    for team, games in by_team.items():
        for first, second in _close_pairs(games, rules.length + rules.rest):
            assert first.starts_at is not None and second.starts_at is not None
            overlap = second.starts_at < first.starts_at + rules.length
            rule = "team_double_booked" if overlap else "min_rest"
            pair = (rule, first.key, second.key)
            pairs[pair].append(team)  # both teams of a rematch share one violation
            found_pairs[pair] = (first, second)
    return [
        _violation(rule, list(found_pairs[(rule, a, b)]), sorted(teams), None)
        for (rule, a, b), teams in pairs.items()
    ]


def _close_pairs(games: list[Booking], reach: timedelta) -> Iterable[tuple[Booking, Booking]]:
    """Pairs (earlier, later) whose kick-offs are less than `reach` apart."""
    ordered = sorted(games, key=lambda b: (b.starts_at, b.key))
    for i, first in enumerate(ordered):
        assert first.starts_at is not None
        limit = first.starts_at + reach
        for second in ordered[i + 1 :]:
            assert second.starts_at is not None
            if second.starts_at >= limit:
                break
            yield first, second


def _violation(
    rule: str, games: Sequence[Booking], teams: Iterable[int], venue: str | None
) -> Violation:
    return Violation(
        rule=rule,
        keys=tuple(b.key for b in games),
        game_ids=tuple(b.game_id for b in games),
        team_ids=tuple(teams),
        venue=venue,
        starts_at=games[-1].starts_at,
    )


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


# --- when games may kick off -----------------------------------------------------------------


def next_start(rules: Rules, earliest: datetime) -> datetime:
    """The first kick-off at or after `earliest` that keeps the playing hours and misses the
    blackout dates (the generator's clock)."""
    when = earliest
    for _ in range(len(rules.blackout_dates) + 3 * 366):  # bounded: blackouts are finite
        when = _into_hours(rules, when)
        if not on_blackout(rules, when):
            return when
        when = datetime.combine(when.date() + timedelta(days=1), time(0), when.tzinfo)
    raise ValueError("no playing time left after the blackout dates")


def _into_hours(rules: Rules, when: datetime) -> datetime:
    if rules.playing_hours is None or within_hours(rules, when):
        return when
    first, _close = rules.playing_hours
    opens = datetime.combine(when.date(), first, when.tzinfo)
    if when < opens:
        return opens
    return datetime.combine(when.date() + timedelta(days=1), first, when.tzinfo)
