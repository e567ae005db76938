"""League tables from final results: points first, then configurable tiebreakers.

Ordering is modelled as an ordered list of *tie classes* (lists of team ids that are
still level). Points produce the first split; each tiebreaker then splits only the
classes of size > 1, in place, so earlier criteria always dominate later ones.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from itertools import groupby
from typing import Self

TIEBREAKERS = ("score_diff", "score_for", "wins", "head_to_head", "fewest_score_against")
DEFAULT_TIEBREAKERS = ("score_diff", "score_for", "head_to_head")


@dataclass(frozen=True)
class Scoring:
    """Points awarded per game outcome (any ints, e.g. 2/1/0 or 3/1/0)."""

    win: int = 3
    draw: int = 1
    loss: int = 0

    def points_for(self, scored: int, conceded: int) -> int:
        if scored > conceded:
            return self.win
        return self.draw if scored == conceded else self.loss


@dataclass(frozen=True)
class TeamEntry:
    team_id: int
    name: str
    group: str | None


@dataclass(frozen=True)
class Result:
    """One FINAL game."""

    home_team_id: int
    away_team_id: int
    home_score: int
    away_score: int

    def __post_init__(self) -> None:
        if self.home_score < 0 or self.away_score < 0:
            raise ValueError("scores must be non-negative")


@dataclass(frozen=True)
class Row:
    rank: int
    group: str | None
    team_id: int
    team_name: str
    played: int
    won: int
    drawn: int
    lost: int
    score_for: int
    score_against: int
    score_diff: int
    points: int

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class _Tally:
    """Running totals for one team over some set of games."""

    played: int = 0
    won: int = 0
    drawn: int = 0
    lost: int = 0
    score_for: int = 0
    score_against: int = 0
    points: int = 0

    @property
    def score_diff(self) -> int:
        return self.score_for - self.score_against

    def add(self, scored: int, conceded: int, scoring: Scoring) -> Self:
        return replace(
            self,
            played=self.played + 1,
            won=self.won + (scored > conceded),
            drawn=self.drawn + (scored == conceded),
            lost=self.lost + (scored < conceded),
            score_for=self.score_for + scored,
            score_against=self.score_against + conceded,
            points=self.points + scoring.points_for(scored, conceded),
        )


@dataclass(frozen=True)
class _Context:
    """Everything a tiebreaker may look at for one group's table."""

    table: dict[int, _Tally]
    results: tuple[Result, ...]
    scoring: Scoring


TieClasses = list[list[int]]
_Breaker = Callable[[list[int], _Context], TieClasses]


def validate_tiebreakers(tiebreakers: Sequence[str]) -> list[str]:
    """Return human-readable problems with a tiebreaker list; empty means valid."""
    if isinstance(tiebreakers, str):
        # A bare string is a Sequence[str] too, but always a caller mistake.
        return ["tiebreakers must be a list of names, not a single string"]
    errors: list[str] = []
    seen: set[str] = set()
    for name in tiebreakers:
        if name not in TIEBREAKERS:
            errors.append(f"unknown tiebreaker {name!r}; expected one of {', '.join(TIEBREAKERS)}")
        elif name in seen:
            errors.append(f"duplicate tiebreaker {name!r}")
        seen.add(name)
    return errors


def compute_standings(
    teams: Iterable[TeamEntry],
    results: Iterable[Result],
    scoring: Scoring = Scoring(),
    tiebreakers: Sequence[str] = DEFAULT_TIEBREAKERS,
) -> list[Row]:
    """One ranked table per group, concatenated (group None first, then by name)."""
    errors = validate_tiebreakers(tiebreakers)
    if errors:
        raise ValueError("; ".join(errors))
    entries = _unique_entries(teams)
    all_results = tuple(results)
    rows: list[Row] = []
    for group in sorted({e.group for e in entries.values()}, key=_group_key):
        members = {tid: e for tid, e in entries.items() if e.group == group}
        rows.extend(_group_table(members, all_results, scoring, tiebreakers))
    return rows


def _unique_entries(teams: Iterable[TeamEntry]) -> dict[int, TeamEntry]:
    entries: dict[int, TeamEntry] = {}
    for team in teams:
        if team.team_id in entries:
            raise ValueError(f"duplicate team_id {team.team_id}")
        entries[team.team_id] = team
    return entries


def _group_key(group: str | None) -> tuple[bool, str, str]:
    # None sorts first; the raw name breaks ties between names equal under casefold.
    return (group is not None, (group or "").casefold(), group or "")


def _group_table(
    members: dict[int, TeamEntry],
    results: tuple[Result, ...],
    scoring: Scoring,
    tiebreakers: Sequence[str],
) -> list[Row]:
    ids = frozenset(members)
    own = tuple(r for r in results if _within(r, ids))
    ctx = _Context(_tally(ids, own, scoring), own, scoring)
    classes = _split_by(sorted(ids), lambda t: (ctx.table[t].points,))
    for name in tiebreakers:
        classes = _refine(classes, _BREAKERS[name], ctx)
    return _rows(classes, members, ctx.table)


def _within(result: Result, ids: frozenset[int]) -> bool:
    # A self-game is meaningless for a table, so it is ignored like an unknown team.
    home, away = result.home_team_id, result.away_team_id
    return home != away and home in ids and away in ids


def _tally(ids: frozenset[int], results: Iterable[Result], scoring: Scoring) -> dict[int, _Tally]:
    """Totals for ``ids`` over those results where both teams are in ``ids``."""
    table = dict.fromkeys(ids, _Tally())
    for r in results:
        if _within(r, ids):
            table[r.home_team_id] = table[r.home_team_id].add(r.home_score, r.away_score, scoring)
            table[r.away_team_id] = table[r.away_team_id].add(r.away_score, r.home_score, scoring)
    return table


def _split_by(team_ids: Sequence[int], key: Callable[[int], tuple[int, ...]]) -> TieClasses:
    """Ordered tie classes by ``key`` descending (higher key = better)."""
    ordered = sorted(team_ids, key=key, reverse=True)
    return [list(cls) for _, cls in groupby(ordered, key=key)]


def _refine(classes: TieClasses, breaker: _Breaker, ctx: _Context) -> TieClasses:
    """Apply one tiebreaker to every still-tied class, keeping class order."""
    refined: TieClasses = []
    for cls in classes:
        refined.extend(breaker(cls, ctx) if len(cls) > 1 else [cls])
    return refined


def _stat_breaker(key: Callable[[_Tally], int]) -> _Breaker:
    def breaker(tied: list[int], ctx: _Context) -> TieClasses:
        return _split_by(tied, lambda t: (key(ctx.table[t]),))

    return breaker


def _head_to_head(tied: list[int], ctx: _Context) -> TieClasses:
    """Mini-table of mutual games, recomputed on each still-tied subset until stable."""
    mini = _tally(frozenset(tied), ctx.results, ctx.scoring)
    classes = _split_by(tied, lambda t: (mini[t].points, mini[t].score_diff, mini[t].score_for))
    if len(classes) == 1:
        return classes  # separates no one: the next tiebreaker takes over
    # Only the subset's own mutual games count on the next pass, hence the recursion.
    return _refine(classes, _head_to_head, ctx)


_BREAKERS: dict[str, _Breaker] = {
    "score_diff": _stat_breaker(lambda t: t.score_diff),
    "score_for": _stat_breaker(lambda t: t.score_for),
    "wins": _stat_breaker(lambda t: t.won),
    "fewest_score_against": _stat_breaker(lambda t: -t.score_against),
    "head_to_head": _head_to_head,
}


def _rows(
    classes: TieClasses, members: dict[int, TeamEntry], table: dict[int, _Tally]
) -> list[Row]:
    rows: list[Row] = []
    for cls in classes:
        rank = len(rows) + 1  # competition ranking: 1, 2, 2, 4
        ordered = sorted(cls, key=lambda t: (members[t].name.casefold(), t))
        rows.extend(_row(rank, members[t], table[t]) for t in ordered)
    return rows


def _row(rank: int, team: TeamEntry, tally: _Tally) -> Row:
    return Row(
        rank=rank,
        group=team.group,
        team_id=team.team_id,
        team_name=team.name,
        played=tally.played,
        won=tally.won,
        drawn=tally.drawn,
        lost=tally.lost,
        score_for=tally.score_for,
        score_against=tally.score_against,
        score_diff=tally.score_diff,
        points=tally.points,
    )
