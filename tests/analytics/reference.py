"""An independent computation of every statistic the analytics question sets ask about.

Plain Python over fixture.yaml: nothing from the project's executor, answers or standings code is
imported, so an answer that agrees with this module was reached twice, by two different routes.
`expected_answer(fixture, event, plan)` gives what a correct answer sentence must contain; the
question-set test checks every expected answer in the YAML files against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

FIXTURE_PATH = Path(__file__).with_name("fixture.yaml")


@dataclass(frozen=True)
class FixtureGame:
    round: int
    starts_at: datetime
    home: str
    away: str
    home_score: int | None
    away_score: int | None
    status: str

    @property
    def final(self) -> bool:
        return self.status == "final"

    @property
    def total_goals(self) -> int:
        return (self.home_score or 0) + (self.away_score or 0)

    @property
    def margin(self) -> int:
        return abs((self.home_score or 0) - (self.away_score or 0))

    def involves(self, team: str) -> bool:
        return team in (self.home, self.away)

    def scored_by(self, team: str) -> tuple[int, int]:
        """(scored, conceded) from `team`'s side of a final game."""
        home, away = self.home_score or 0, self.away_score or 0
        return (home, away) if team == self.home else (away, home)


@dataclass(frozen=True)
class FixtureEvent:
    name: str
    sport: str
    scoring: dict[str, int]
    tiebreakers: tuple[str, ...]
    starts_on: date
    ends_on: date
    teams: tuple[str, ...]
    games: tuple[FixtureGame, ...]

    def final_games(self, team: str | None = None) -> list[FixtureGame]:
        return [g for g in self.games if g.final and (team is None or g.involves(team))]


@dataclass(frozen=True)
class Fixture:
    today: date
    events: tuple[FixtureEvent, ...]

    def event(self, name: str) -> FixtureEvent:
        for event in self.events:
            if event.name == name:
                return event
        raise KeyError(name)


def load_fixture(path: Path = FIXTURE_PATH) -> Fixture:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Fixture(today=raw["today"], events=tuple(_event(e) for e in raw["events"]))


def _event(raw: dict[str, Any]) -> FixtureEvent:
    games = tuple(
        FixtureGame(rnd, datetime.fromisoformat(at), home, away, hs, as_, status)
        for rnd, at, home, away, hs, as_, status in raw["games"]
    )
    return FixtureEvent(
        name=raw["name"],
        sport=raw["sport"],
        scoring=dict(raw["scoring"]),
        tiebreakers=tuple(raw["tiebreakers"]),
        starts_on=raw["starts_on"],
        ends_on=raw["ends_on"],
        teams=tuple(raw["teams"]),
        games=games,
    )


# --- per-team aggregates -------------------------------------------------------------------


@dataclass(frozen=True)
class TeamStats:
    played: int = 0
    won: int = 0
    drawn: int = 0
    lost: int = 0
    score_for: int = 0
    score_against: int = 0
    points: int = 0
    clean_sheets: int = 0

    @property
    def score_diff(self) -> int:
        return self.score_for - self.score_against

    @property
    def win_rate(self) -> float:
        return self.won / self.played if self.played else 0.0


def team_stats(
    event: FixtureEvent, team: str, games: Iterable[FixtureGame] | None = None
) -> TeamStats:
    """`team`'s totals over its final games (or over `games`, for head-to-head mini tables)."""
    played = won = drawn = lost = scored_total = conceded_total = points = clean = 0
    pool = event.final_games() if games is None else list(games)
    for game in pool:
        if not game.final or not game.involves(team):
            continue
        scored, conceded = game.scored_by(team)
        played += 1
        scored_total += scored
        conceded_total += conceded
        clean += conceded == 0
        if scored > conceded:
            won, points = won + 1, points + event.scoring["win"]
        elif scored == conceded:
            drawn, points = drawn + 1, points + event.scoring["draw"]
        else:
            lost, points = lost + 1, points + event.scoring["loss"]
    return TeamStats(played, won, drawn, lost, scored_total, conceded_total, points, clean)


def all_stats(event: FixtureEvent) -> dict[str, TeamStats]:
    return {team: team_stats(event, team) for team in event.teams}


def standings(event: FixtureEvent) -> list[tuple[int, str]]:
    """(rank, team), best first: points, then the event's tiebreakers; full ties share a rank.

    Only score_diff, score_for and a one-pass head-to-head are implemented: the fixture is built
    so that no tie reaches head-to-head, and `test_question_sets` asserts that it stays so.
    """
    stats = all_stats(event)
    keys: dict[str, tuple[int, ...]] = {}
    for team, s in stats.items():
        key = [s.points]
        for breaker in event.tiebreakers:
            if breaker == "score_diff":
                key.append(s.score_diff)
            elif breaker == "score_for":
                key.append(s.score_for)
        keys[team] = tuple(key)
    ordered = sorted(event.teams, key=lambda t: (tuple(-k for k in keys[t]), t.casefold()))
    table: list[tuple[int, str]] = []
    for index, team in enumerate(ordered):
        tied_with_previous = index > 0 and keys[ordered[index - 1]] == keys[team]
        table.append((table[-1][0] if tied_with_previous else index + 1, team))
    return table


def ties_needing_head_to_head(event: FixtureEvent) -> list[list[str]]:
    """Groups of teams level on points, goal difference and goals scored."""
    ranks: dict[int, list[str]] = {}
    for rank, team in standings(event):
        ranks.setdefault(rank, []).append(team)
    return [teams for teams in ranks.values() if len(teams) > 1]


def metric_value(
    event: FixtureEvent, team: str, metric: str, filters: dict[str, Any] | None = None
) -> float:
    """`team`'s value of a team metric; filters.home keeps only its home (or away) games."""
    if metric == "position":
        return dict((t, r) for r, t in standings(event))[team]
    home = (filters or {}).get("home")
    games = None if home is None else matching_games(event, {"home": home}, team)
    value: float = getattr(team_stats(event, team, games), metric)
    return value


def ranked(
    event: FixtureEvent, metric: str, order: str, filters: dict[str, Any] | None = None
) -> list[tuple[str, float]]:
    """Teams by `metric`, best first for `order` (team name breaks ties, for stable lists)."""
    home = (filters or {}).get("home")
    # A team with no game in scope (never at home, say) has no value to rank, not a zero.
    teams = [
        t
        for t in event.teams
        if metric == "position" or home is None or matching_games(event, {"home": home}, t)
    ]
    values = [(team, metric_value(event, team, metric, filters)) for team in teams]
    sign = -1 if order == "desc" else 1
    return sorted(values, key=lambda tv: (sign * tv[1], tv[0].casefold()))


def leader(
    event: FixtureEvent, metric: str, order: str, filters: dict[str, Any] | None = None
) -> tuple[list[str], float]:
    """Every team at the extreme of `metric` (over home or away games only, with filters.home),
    and that value."""
    values = ranked(event, metric, order, filters)
    best = values[0][1]
    return [team for team, value in values if value == best], best


def top_n(event: FixtureEvent, metric: str, order: str, n: int) -> list[tuple[str, float]]:
    return ranked(event, metric, order)[:n]


def top_n_is_clean(event: FixtureEvent, metric: str, order: str, n: int) -> bool:
    """False when the n-th and (n+1)-th teams are level: the list would be arbitrary there."""
    values = ranked(event, metric, order)
    return n >= len(values) or values[n - 1][1] != values[n][1]


# --- games --------------------------------------------------------------------------------


def _matches(game: FixtureGame, filters: dict[str, Any], team: str | None) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "result": lambda v: _result_matches(game, v),
        "outcome": lambda v: team is not None and _outcome(game, team) == v,
        "home": lambda v: team is not None and (game.home == team) == v,
        "date": lambda v: game.starts_at.date() == _as_date(v),
        "round": lambda v: game.round == v,
        "group": lambda _v: True,  # the fixture has no groups
        "threshold": lambda v: passes(getattr(game, v["metric"]), v["op"], v["value"]),
    }
    return all(checks[name](value) for name, value in filters.items() if value is not None)


def passes(value: float, op: str, bound: float) -> bool:
    """`value op bound`, op one of the plan's gt/ge/lt/le/eq (spelt out, no operator module)."""
    if op == "gt":
        return value > bound
    if op == "ge":
        return value >= bound
    if op == "lt":
        return value < bound
    if op == "le":
        return value <= bound
    return value == bound


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _result_matches(game: FixtureGame, result: str) -> bool:
    home, away = game.home_score or 0, game.away_score or 0
    return {
        "draw": home == away,
        "home_win": home > away,
        "away_win": away > home,
        "decided": home != away,
        "goalless": home == away == 0,
    }[result]


def _outcome(game: FixtureGame, team: str) -> str:
    scored, conceded = game.scored_by(team)
    return "win" if scored > conceded else "draw" if scored == conceded else "loss"


def matching_games(
    event: FixtureEvent, filters: dict[str, Any], team: str | None = None
) -> list[FixtureGame]:
    return [g for g in event.final_games(team) if _matches(g, filters, team)]


def count_games(event: FixtureEvent, filters: dict[str, Any], team: str | None = None) -> int:
    return len(matching_games(event, filters, team))


def _goal_sum(games: Iterable[FixtureGame], metric: str) -> int:
    games = list(games)
    if metric == "home_goals":
        return sum(g.home_score or 0 for g in games)
    if metric == "away_goals":
        return sum(g.away_score or 0 for g in games)
    return sum(g.total_goals for g in games)


def total(event: FixtureEvent, metric: str, filters: dict[str, Any] | None = None) -> int:
    return _goal_sum(matching_games(event, filters or {}), metric)


def average(
    event: FixtureEvent, metric: str, filters: dict[str, Any] | None = None, team: str | None = None
) -> float:
    games = matching_games(event, filters or {}, team)
    if not games:
        return 0.0
    if team is not None:  # a team's goals scored per game
        return sum(g.scored_by(team)[0] for g in games) / len(games)
    if metric == "goals_per_team":
        return _goal_sum(games, "goals") / len(event.teams)
    base = {"goals_per_game": "goals", "home_goals_per_game": "home_goals"}
    return _goal_sum(games, base.get(metric, "away_goals")) / len(games)


def per_round(values: Callable[[dict[str, Any]], float], event: FixtureEvent) -> dict[int, float]:
    """`values` for each round that has final games, as a group_by=round result would list."""
    rounds = sorted({g.round for g in event.final_games()})
    return {r: values({"round": r}) for r in rounds}


def extreme(
    event: FixtureEvent,
    metric: str,
    order: str,
    team: str | None = None,
    outcome: str | None = None,
) -> list[FixtureGame]:
    games = event.final_games(team)
    if team is not None and outcome is not None:
        games = [g for g in games if _outcome(g, team) == outcome]
    if not games:
        return []
    key: Callable[[FixtureGame], int] = (
        (lambda g: g.total_goals) if metric == "total_goals" else (lambda g: g.margin)
    )
    pick = max if order == "desc" else min
    best = pick(key(g) for g in games)
    return [g for g in games if key(g) == best]


def form(event: FixtureEvent, team: str, n: int = 5) -> list[tuple[FixtureGame, str]]:
    """`team`'s last n final results, newest first, as (game, "W"/"D"/"L")."""
    games = sorted(event.final_games(team), key=lambda g: g.starts_at, reverse=True)[:n]
    return [(g, _outcome(g, team)[0].upper()) for g in games]


def games(
    event: FixtureEvent, filters: dict[str, Any], teams: tuple[str, ...] = ()
) -> list[FixtureGame]:
    """Games of any status on a date / in a round / of one team / between two teams."""
    found = []
    for game in sorted(event.games, key=lambda g: (g.starts_at, g.home)):
        if "date" in filters and game.starts_at.date() != _as_date(filters["date"]):
            continue
        if "round" in filters and game.round != filters["round"]:
            continue
        if any(not game.involves(team) for team in teams):
            continue
        found.append(game)
    return found


# --- expected answers ---------------------------------------------------------------------


def number(value: float) -> float | int | str:
    """How an expected number is written in the YAML: ints stay ints, ratios get 3 decimals."""
    if isinstance(value, int) or float(value).is_integer():
        return int(value)
    return round(float(value), 3)


def percent(value: float) -> str:
    return f"{round(value * 100, 1):g}%"


def _value_number(metric: str, value: float) -> float | int | str:
    return percent(value) if metric == "win_rate" else number(abs(value))


def _scores(found: Iterable[FixtureGame]) -> list[float | int | str]:
    numbers: list[float | int | str] = []
    for game in found:
        if game.final:
            numbers += [game.home_score or 0, game.away_score or 0]
    return numbers


def _teams_of(found: Iterable[FixtureGame]) -> list[str]:
    teams: list[str] = []
    for game in found:
        teams += [t for t in (game.home, game.away) if t not in teams]
    return teams


def expected_answer(fixture: Fixture, event_name: str, plan: dict[str, Any]) -> dict[str, Any]:
    """What the answer sentence to `plan` must contain: {teams, numbers[, partial]}.

    `plan` is a question-set plan (teams by name). `teams` are exactly the fixture teams the
    sentence names (with `partial`, at least these); `numbers` must all appear in it.
    """
    event = fixture.event(event_name)
    handler = _ANSWERS[plan["intent"]]
    return handler(event, plan, tuple(plan.get("teams") or ()), dict(plan.get("filters") or {}))


_Answer = dict[str, Any]


def _leader(
    event: FixtureEvent, plan: dict[str, Any], _teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    metric = plan["metric"]
    home = {"home": filters["home"]} if "home" in filters else None
    teams, value = leader(event, metric, plan.get("order") or "desc", home)
    if metric == "position":  # "top/bottom of the table": the rank itself is rarely said
        return {"teams": teams, "numbers": []}
    return {"teams": teams, "numbers": [_value_number(metric, value)]}


def _top_n(event: FixtureEvent, plan: dict[str, Any], *_: Any) -> _Answer:
    metric = plan["metric"]
    rows = top_n(event, metric, plan.get("order") or "desc", plan["limit"])
    numbers = [] if metric == "position" else [_value_number(metric, v) for _, v in rows]
    return {"teams": [t for t, _ in rows], "numbers": _unique(numbers)}


def _team_value(
    event: FixtureEvent, plan: dict[str, Any], teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    metric = plan["metric"]
    value = metric_value(event, teams[0], metric, filters)
    return {"teams": list(teams), "numbers": [_value_number(metric, value)]}


def _team_record(
    event: FixtureEvent, _plan: dict[str, Any], teams: tuple[str, ...], *_: Any
) -> _Answer:
    s = team_stats(event, teams[0])
    return {"teams": list(teams), "numbers": _unique([s.won, s.drawn, s.lost, s.points])}


def _head_to_head(
    event: FixtureEvent, _plan: dict[str, Any], teams: tuple[str, ...], *_: Any
) -> _Answer:
    found = [g for g in event.final_games() if all(g.involves(t) for t in teams)]
    return {"teams": list(teams), "numbers": _unique(_scores(found))}


def _count(
    event: FixtureEvent, plan: dict[str, Any], teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    team = teams[0] if teams else None
    if plan.get("group_by") == "round":
        values = per_round(lambda f: count_games(event, {**filters, **f}, team), event)
        return {"teams": list(teams), "numbers": _unique([number(v) for v in values.values() if v])}
    return {"teams": list(teams), "numbers": [count_games(event, filters, team)]}


def _total(
    event: FixtureEvent, plan: dict[str, Any], teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    if plan.get("group_by") == "round":
        values = per_round(lambda f: total(event, plan["metric"], {**filters, **f}), event)
        return {"teams": list(teams), "numbers": _unique([number(v) for v in values.values() if v])}
    return {"teams": list(teams), "numbers": [total(event, plan["metric"], filters)]}


def _average(
    event: FixtureEvent, plan: dict[str, Any], teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    team = teams[0] if teams else None
    if plan.get("group_by") == "round":
        values = per_round(lambda f: average(event, plan["metric"], {**filters, **f}, team), event)
        return {"teams": list(teams), "numbers": _unique([number(v) for v in values.values()])}
    return {
        "teams": list(teams),
        "numbers": [number(average(event, plan["metric"], filters, team))],
    }


def _extreme(
    event: FixtureEvent, plan: dict[str, Any], teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    team = teams[0] if teams else None
    found = extreme(
        event, plan["metric"], plan.get("order") or "desc", team, filters.get("outcome")
    )
    return {"teams": _teams_of(found) or list(teams), "numbers": _unique(_scores(found))}


def _table(event: FixtureEvent, *_: Any) -> _Answer:
    top = [t for r, t in standings(event) if r == 1]
    return {"teams": top, "numbers": [team_stats(event, top[0]).points], "partial": True}


def _form(event: FixtureEvent, plan: dict[str, Any], teams: tuple[str, ...], *_: Any) -> _Answer:
    return {"teams": list(teams), "numbers": [], "partial": True}


def _games(
    event: FixtureEvent, _plan: dict[str, Any], teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    found = games(event, filters, teams)
    return {"teams": _teams_of(found) or list(teams), "numbers": _unique(_scores(found))}


def _plain_value(event: FixtureEvent, team: str, metric: str, filters: dict[str, Any]) -> float:
    """A team's value as thresholds compare it: a win rate in percent."""
    value = metric_value(event, team, metric, filters)
    return value * 100 if metric == "win_rate" else value


def _filter(
    event: FixtureEvent, plan: dict[str, Any], _teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    rule = filters["threshold"]
    found = [
        team
        for team in event.teams
        if passes(_plain_value(event, team, plan["metric"], filters), rule["op"], rule["value"])
    ]
    return {"teams": found, "numbers": []}


def _compare(
    event: FixtureEvent, plan: dict[str, Any], teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    metric = plan["metric"]
    a, b = (metric_value(event, t, metric, filters) for t in teams)
    yes = a > b if (plan.get("order") or "desc") == "desc" else a < b
    return {
        "teams": list(teams),
        "numbers": _unique([_value_number(metric, a), _value_number(metric, b)]),
        "first": "Yes" if yes else "No",
    }


def _difference(
    event: FixtureEvent, plan: dict[str, Any], teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    metric = plan["metric"]
    if not teams:
        table = [t for _, t in standings(event)]
        teams = tuple(table[r - 1] if r > 0 else table[-1] for r in filters["ranks"])
    a, b = (metric_value(event, t, metric, filters) for t in teams)
    gap = abs(a - b)
    return {
        "teams": list(teams),
        "numbers": [percent(gap) if metric == "win_rate" else number(gap)],
    }


def _split(event: FixtureEvent, plan: dict[str, Any], teams: tuple[str, ...], *_: Any) -> _Answer:
    metric = plan["metric"]
    values = [metric_value(event, teams[0], metric, {"home": home}) for home in (True, False)]
    return {"teams": list(teams), "numbers": _unique([_value_number(metric, v) for v in values])}


_SCOPE = ("date", "round", "group")  # what a share is a share of; the rest is the condition


def _share(
    event: FixtureEvent, _plan: dict[str, Any], teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    team = teams[0] if teams else None
    matched = count_games(event, filters, team)
    scope = count_games(event, {k: v for k, v in filters.items() if k in _SCOPE}, team)
    share = matched / scope if scope else 0.0
    return {"teams": list(teams), "numbers": _unique([percent(share), matched, scope])}


def opponents(event: FixtureEvent, team: str, filters: dict[str, Any]) -> list[str]:
    """Who `team` beat / drew with / lost to (filters.outcome), or has still to play."""
    if filters.get("pending"):
        pool = [g for g in event.games if g.status in ("scheduled", "live") and g.involves(team)]
    else:
        pool = matching_games(event, {"outcome": filters["outcome"]}, team)
    found = [g.away if g.home == team else g.home for g in sorted(pool, key=lambda g: g.starts_at)]
    return _unique(found)


def _opponents(
    event: FixtureEvent, _plan: dict[str, Any], teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    return {"teams": [teams[0], *opponents(event, teams[0], filters)], "numbers": []}


def _check(
    event: FixtureEvent, plan: dict[str, Any], teams: tuple[str, ...], filters: dict[str, Any]
) -> _Answer:
    if len(teams) == 2:
        found = [
            g
            for g in event.final_games(teams[0])
            if g.involves(teams[1]) and _outcome(g, teams[0]) == filters["outcome"]
        ]
        return {"teams": list(teams), "numbers": [], "first": "Yes" if found else "No"}
    metric, team = plan["metric"], teams[0]
    rule = filters.get("threshold")
    if rule is not None:
        value = _plain_value(event, team, metric, filters)
        yes = passes(value, rule["op"], rule["value"])
        return {
            "teams": [team],
            "numbers": [_value_number(metric, metric_value(event, team, metric, filters))],
            "first": "Yes" if yes else "No",
        }
    leaders, _value = leader(event, metric, plan.get("order") or "desc")
    return {"teams": [team], "numbers": [], "first": "Yes" if team in leaders else "No"}


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


_ANSWERS: dict[str, Callable[..., _Answer]] = {
    "leader": _leader,
    "top_n": _top_n,
    "team_value": _team_value,
    "team_record": _team_record,
    "head_to_head": _head_to_head,
    "count": _count,
    "total": _total,
    "average": _average,
    "extreme": _extreme,
    "table": _table,
    "form": _form,
    "games": _games,
    "filter": _filter,
    "compare": _compare,
    "difference": _difference,
    "split": _split,
    "share": _share,
    "opponents": _opponents,
    "check": _check,
}


def describe(fixture: Fixture, event_name: str) -> str:
    """A printable summary of the fixture's statistics (for writing and checking questions)."""
    event = fixture.event(event_name)
    lines = [f"{event.name}: rank team P W D L F A GD Pts CS win%"]
    for rank, team in standings(event):
        s = team_stats(event, team)
        lines.append(
            f"{rank:>2} {team:<18} {s.played} {s.won} {s.drawn} {s.lost} {s.score_for:>2} "
            f"{s.score_against:>2} {s.score_diff:>+3} {s.points:>2} {s.clean_sheets} "
            f"{percent(s.win_rate)}"
        )
    finals = event.final_games()
    lines.append(
        f"final games {len(finals)}, goals {total(event, 'goals')}, "
        f"home {total(event, 'home_goals')}, away {total(event, 'away_goals')}, "
        f"draws {count_games(event, {'result': 'draw'})}, "
        f"goalless {count_games(event, {'result': 'goalless'})}, "
        f"home wins {count_games(event, {'result': 'home_win'})}, "
        f"away wins {count_games(event, {'result': 'away_win'})}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    loaded = load_fixture()
    for fixture_event in loaded.events:
        print(describe(loaded, fixture_event.name))
