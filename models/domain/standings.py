"""League tables from final results: points first, then configurable tiebreakers.

Ordering is modelled as an ordered list of *tie classes* (lists of team ids that are
still level). Points produce the first split; each tiebreaker then splits only the
classes of size > 1, in place, so earlier criteria always dominate later ones.

Each class remembers the split that put the class above it ahead of it (its `cause`): the
first rule that separated them, since a class only ever splits further. That is what a
row's `decided_by` reports (models/domain/standings_wording.py words it).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from itertools import groupby
from typing import Self

from models.domain.standings_wording import Split, split_detail, tied_detail

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
class DecidedBy:
    """Why a row sits above the next row of its group.

    `rule` is "points", a tiebreaker name, or "tied" when the next row shares its rank;
    `over` the team ids of the next rank (for "tied": the next row's team)."""

    rule: str
    over: tuple[int, ...]
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "over": list(self.over), "detail": self.detail}


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
    decided_by: DecidedBy | None = None  # None: the last row of its group

    def as_dict(self) -> dict[str, object]:
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["decided_by"] = self.decided_by.as_dict() if self.decided_by else None
        return row


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


@dataclass
class _TieClass:
    members: list[int]
    cause: Split | None  # why the class above sits above this one; None for the first


TieClasses = list[_TieClass]
_Breaker = Callable[[list[int], _Context], TieClasses]


@dataclass(frozen=True)
class _Measure:
    """One compared value: its name in a Split, and its sign in the sort key (higher key
    is better, so "fewest against" sorts on minus the value)."""

    name: str
    sign: int = 1


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
    classes = _split_by(sorted(ids), lambda t: (ctx.table[t].points,), "points", (_POINTS,))
    for name in tiebreakers:
        classes = _refine(classes, _BREAKERS[name], ctx)
    return _rows(classes, members, ctx.table, tiebreakers)


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


def _split_by(
    team_ids: Sequence[int],
    key: Callable[[int], tuple[int, ...]],
    rule: str,
    measures: tuple[_Measure, ...],
    among: int = 2,
) -> TieClasses:
    """Ordered tie classes by ``key`` descending (higher key = better), each but the first
    caused by the first component of ``key`` that differs from the class above."""
    ordered = sorted(team_ids, key=key, reverse=True)
    classes: TieClasses = []
    above: tuple[int, ...] = ()
    for value, cls in groupby(ordered, key=key):
        cause = _split(rule, measures, above, value, among) if classes else None
        classes.append(_TieClass(list(cls), cause))
        above = value
    return classes


def _split(
    rule: str,
    measures: tuple[_Measure, ...],
    upper: tuple[int, ...],
    lower: tuple[int, ...],
    among: int,
) -> Split:
    index = next(i for i, (u, w) in enumerate(zip(upper, lower, strict=True)) if u != w)
    measure = measures[index]
    return Split(
        rule, measure.name, measure.sign * upper[index], measure.sign * lower[index], among
    )


def _refine(classes: TieClasses, breaker: _Breaker, ctx: _Context) -> TieClasses:
    """Apply one tiebreaker to every still-tied class, keeping class order. The first part
    of a split class inherits the class's cause: what put the class above it ahead."""
    refined: TieClasses = []
    for cls in classes:
        if len(cls.members) == 1:
            refined.append(cls)
            continue
        parts = breaker(cls.members, ctx)
        parts[0].cause = cls.cause
        refined.extend(parts)
    return refined


_POINTS = _Measure("points")
# The one-value tiebreakers: the tally value each compares (also what "tied" rows share).
_STATS: dict[str, tuple[_Measure, Callable[[_Tally], int]]] = {
    "score_diff": (_Measure("score_diff"), lambda t: t.score_diff),
    "score_for": (_Measure("score_for"), lambda t: t.score_for),
    "wins": (_Measure("wins"), lambda t: t.won),
    "fewest_score_against": (_Measure("score_against", sign=-1), lambda t: t.score_against),
}
_MINI_TABLE = (_Measure("points"), _Measure("score_diff"), _Measure("score_for"))


def _stat_breaker(name: str) -> _Breaker:
    measure, value = _STATS[name]

    def breaker(tied: list[int], ctx: _Context) -> TieClasses:
        return _split_by(tied, lambda t: (measure.sign * value(ctx.table[t]),), name, (measure,))

    return breaker


def _head_to_head(tied: list[int], ctx: _Context) -> TieClasses:
    """Mini-table of mutual games, recomputed on each still-tied subset until stable."""
    mini = _tally(frozenset(tied), ctx.results, ctx.scoring)
    classes = _split_by(
        tied,
        lambda t: (mini[t].points, mini[t].score_diff, mini[t].score_for),
        "head_to_head",
        _MINI_TABLE,
        among=len(tied),
    )
    if len(classes) == 1:
        return classes  # separates no one: the next tiebreaker takes over
    # Only the subset's own mutual games count on the next pass, hence the recursion.
    return _refine(classes, _head_to_head, ctx)


_BREAKERS: dict[str, _Breaker] = {
    **{name: _stat_breaker(name) for name in _STATS},
    "head_to_head": _head_to_head,
}


def _rows(
    classes: TieClasses,
    members: dict[int, TeamEntry],
    table: dict[int, _Tally],
    tiebreakers: Sequence[str],
) -> list[Row]:
    def by_name(cls: _TieClass) -> list[int]:
        return sorted(cls.members, key=lambda t: (members[t].name.casefold(), t))

    rows: list[Row] = []
    for index, cls in enumerate(classes):
        rank = len(rows) + 1  # competition ranking: 1, 2, 2, 4
        ordered = by_name(cls)
        nxt = classes[index + 1] if index + 1 < len(classes) else None
        for position, team_id in enumerate(ordered):
            tally = table[team_id]
            if position + 1 < len(ordered):
                level = _level_values(tally, tiebreakers)
                why = DecidedBy("tied", (ordered[position + 1],), tied_detail(level))
            elif nxt is not None:
                cause = _cause(nxt)
                why = DecidedBy(cause.rule, tuple(by_name(nxt)), split_detail(cause))
            else:
                why = None
            rows.append(_row(rank, members[team_id], tally, why))
    return rows


def _cause(cls: _TieClass) -> Split:
    # Every class but a group's first was split off by some rule, so it has a cause.
    if cls.cause is None:
        raise RuntimeError("a tie class below another has no cause")
    return cls.cause


def _level_values(tally: _Tally, tiebreakers: Sequence[str]) -> list[tuple[str, int | None]]:
    """What rows sharing a rank are level on: points, then each tiebreaker in order (with
    its value, except head-to-head, which has none of its own)."""
    level: list[tuple[str, int | None]] = [("points", tally.points)]
    for name in tiebreakers:
        if name in _STATS:
            measure, value = _STATS[name]
            level.append((measure.name, value(tally)))
        else:
            level.append((name, None))
    return level


def _row(rank: int, team: TeamEntry, tally: _Tally, decided_by: DecidedBy | None) -> Row:
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
        decided_by=decided_by,
    )
