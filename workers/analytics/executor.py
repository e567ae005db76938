"""Plan → parameterised SQLAlchemy query → JSON-ready rows: the analytics executor.

Safe by construction: a plan holds only allow-listed words, ids, integers and dates. Every
metric name is looked up in a dict of column expressions (never `getattr` on a string) and
every value reaches the database as a bound parameter, so `statements` (the `explain`
output) shows placeholders and their values, never a literal.

Meaning of the results (documented for the answers and the evaluation):
- Team metrics count every FINAL game of a team in the event; the `round`, `date`, `result`
  and `home` filters narrow the games, `group` picks the teams. A team without games has 0
  of everything and a `win_rate` of None (None sorts last, and is never a leader).
- `position` and `table` are the standings rules themselves (`table_for`): ranks per group,
  over games within the group, with the event's tiebreakers; game filters do not apply.
- `leader` and `top_n` return no rows while no final game is in scope: there is no leader yet.
- Game intents (`count`, `total`, `average`, `extreme`, `form`, `head_to_head`) count final
  games; `games` lists games of any status. With one team, values are from that team's side
  (`total`/`average` of goals = goals it scored), `outcome` is its result and `home` its venue;
  without a team, an `outcome` of win/loss means a decided game. `goals_per_team` without a
  team is the goals of the games in scope divided by the event's number of teams.
- `limit` applies to `top_n` and `form` (default 5); the row cap to everything.
- `group_by="round"` gives one row per round that has final games in scope, even when no
  game of it matches the `result`/`outcome` filter (then 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CTE,
    Float,
    Select,
    SQLColumnExpression,
    and_,
    bindparam,
    case,
    cast,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import Subquery

from models import Event, Game, Team
from models.domain.analytics.plan import Plan
from models.domain.standings import Result as GameResult
from models.domain.standings import Row as StandingsRow
from models.domain.standings import Scoring, TeamEntry, compute_standings

FINAL = "final"
DEFAULT_LIMIT = 5  # top_n and form without a limit
GAME_COLUMNS = [
    "game_id",
    "date",
    "round",
    "home_team",
    "away_team",
    "home_score",
    "away_score",
    "status",
]
RECORD_COLUMNS = [
    "team",
    "played",
    "won",
    "drawn",
    "lost",
    "score_for",
    "score_against",
    "score_diff",
    "points",
]
TABLE_COLUMNS = ["position", "team", "group", *RECORD_COLUMNS[1:]]
POSITION_COLUMNS = ["team", "group", "position", "points", "played"]

Rows = list[Sequence[Any]]
Result = tuple[list[str], Rows]
Expr = SQLColumnExpression[Any]
Query = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]  # JSON-ready: int, float (3 places), str, ISO dates, None
    statements: list[dict[str, Any]] = field(default_factory=list)  # {"sql", "params"}


def execute_plan(session: Session, plan: Plan, *, row_cap: int) -> QueryResult:
    """Run one plan in the caller's (read-only) session; never more than row_cap rows."""
    if row_cap < 1:
        raise ValueError("row_cap must be positive")
    run = _Runner(session, plan, row_cap)
    columns, rows = _INTENTS[plan.intent](run)
    return QueryResult(columns, [_json_row(columns, row) for row in rows[:row_cap]], run.statements)


# --- running and recording ------------------------------------------------------------------


class _Params:
    """The named parameters of one plan; one object per name, so a name has one value."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._made: dict[str, BindParameter[Any]] = {}

    def __call__(self, name: str, value: Any, type_: Any = None) -> BindParameter[Any]:
        made = self._made.get(name)
        if made is None:
            made = self._made[name] = bindparam(name, value, type_=type_)
        return made

    @property
    def event(self) -> BindParameter[Any]:
        return self("event_id", self._plan.event_id)

    def team(self, index: int) -> BindParameter[Any]:
        return self(f"team_{index + 1}", self._plan.teams[index])


class _Runner:
    """Executes statements in one session and records each for `explain`."""

    def __init__(self, session: Session, plan: Plan, row_cap: int) -> None:
        self.session = session
        self.plan = plan
        self.cap = row_cap
        self.p = _Params(plan)
        self.statements: list[dict[str, Any]] = []
        self._dialect = _named(session.get_bind().dialect)
        self._scoring: Scoring | None = None

    def rows(self, stmt: Query) -> Rows:
        self._record(stmt)
        return [tuple(row) for row in self.session.execute(stmt)]

    def scalars(self, stmt: Query) -> list[Any]:
        self._record(stmt)
        return list(self.session.scalars(stmt))

    def scoring(self) -> Scoring:
        """The event's points per win/draw/loss (defaults if the event is gone)."""
        if self._scoring is None:
            found = self.scalars(select(Event.scoring).where(Event.id == self.p.event))
            self._scoring = Scoring(**found[0]) if found else Scoring()
        return self._scoring

    @property
    def filters(self) -> dict[str, Any]:
        return self.plan.filters

    def _record(self, stmt: Query) -> None:
        compiled = stmt.compile(dialect=self._dialect)
        params = {name: _json_value(value) for name, value in compiled.params.items()}
        self.statements.append({"sql": str(compiled), "params": params})


def _named(dialect: Dialect) -> Dialect:
    # SQLite's "?" placeholders would not say which parameter is which; explain by name.
    if not dialect.positional:
        return dialect
    named: Any = type(dialect)
    return named(paramstyle="named")  # type: ignore[no-any-return]


def _json_row(columns: list[str], row: Sequence[Any]) -> list[Any]:
    return [
        _game_date(value) if name == "date" else _json_value(value)
        for name, value in zip(columns, row, strict=True)
    ]


def _game_date(value: Any) -> Any:
    if isinstance(value, datetime):  # a game's "date" is the UTC day it starts on
        return (value.astimezone(UTC) if value.tzinfo else value).date().isoformat()
    return _json_value(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal | float):
        return round(float(value), 3)
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return value


# --- filters shared by every query ----------------------------------------------------------


def _game_scope(run: _Runner, *, final_only: bool = True) -> list[Expr]:
    """The event's games, final ones only unless asked, narrowed by round and date."""
    p, f = run.p, run.filters
    clauses: list[Expr] = _final_games(run) if final_only else [Game.event_id == p.event]
    if "round" in f:
        clauses.append(Game.round == p("round", f["round"]))
    if "date" in f:
        start = datetime.combine(f["date"], time(), tzinfo=UTC)
        kind = Game.starts_at.type
        clauses.append(Game.starts_at >= p("day_start", start, kind))
        clauses.append(Game.starts_at < p("day_end", start + timedelta(days=1), kind))
    return clauses


def _final_games(run: _Runner) -> list[Expr]:
    return [
        Game.event_id == run.p.event,
        Game.status == run.p("status", FINAL),
        Game.home_score.is_not(None),
        Game.away_score.is_not(None),
    ]


_RESULTS: dict[str, Callable[[], Expr]] = {
    "draw": lambda: Game.home_score == Game.away_score,
    "home_win": lambda: Game.home_score > Game.away_score,
    "away_win": lambda: Game.home_score < Game.away_score,
    "decided": lambda: Game.home_score != Game.away_score,
    "goalless": lambda: and_(Game.home_score == 0, Game.away_score == 0),
}


def _in_group(run: _Runner, team_id: Any) -> list[Expr]:
    if "group" not in run.filters:
        return []
    group = run.p("group", run.filters["group"])
    return [
        team_id.in_(
            select(Team.id).where(
                Team.event_id == run.p.event, func.lower(Team.group) == func.lower(group)
            )
        )
    ]


@dataclass(frozen=True)
class _Side:
    """One team's view of a game: where it played, what it scored and conceded."""

    team: BindParameter[Any]

    @property
    def at_home(self) -> Expr:
        return Game.home_team_id == self.team

    @property
    def involved(self) -> Expr:
        return or_(Game.home_team_id == self.team, Game.away_team_id == self.team)

    @property
    def scored(self) -> Expr:
        return case((self.at_home, Game.home_score), else_=Game.away_score)

    @property
    def conceded(self) -> Expr:
        return case((self.at_home, Game.away_score), else_=Game.home_score)


def _side(run: _Runner) -> _Side | None:
    return _Side(run.p.team(0)) if run.plan.teams else None


def _selection(run: _Runner, side: _Side | None) -> list[Expr]:
    """The filters on a game's result: the result, the team's outcome and its venue."""
    f = run.filters
    clauses = _result(run)
    if "outcome" in f:
        clauses.append(_outcome(f["outcome"], side))
    if side is not None and "home" in f:
        clauses.append(side.at_home if f["home"] else not_(side.at_home))
    return clauses


def _result(run: _Runner) -> list[Expr]:
    result = run.filters.get("result")
    return [_RESULTS[result]()] if result is not None else []


def _outcome(outcome: str, side: _Side | None) -> Expr:
    if side is None:  # no team to win or lose: a win/loss is a decided game
        return _RESULTS["draw" if outcome == "draw" else "decided"]()
    if outcome == "win":
        return side.scored > side.conceded
    return side.scored == side.conceded if outcome == "draw" else side.scored < side.conceded


# --- team metrics: one query over both sides of every final game ----------------------------


def _sides(run: _Runner) -> Subquery:
    """Each final game in scope twice, once from each team's side."""
    scope = [*_game_scope(run), *_result(run)]  # a team's outcome/venue means nothing here
    home = select(
        Game.home_team_id.label("team_id"),
        Game.home_score.label("score_for"),
        Game.away_score.label("score_against"),
    ).where(*scope)
    away = select(
        Game.away_team_id.label("team_id"),
        Game.away_score.label("score_for"),
        Game.home_score.label("score_against"),
    ).where(*scope)
    venue = run.filters.get("home")
    if venue is None:
        return home.union_all(away).subquery("sides")
    return (home if venue else away).subquery("sides")


def _team_stats(run: _Runner, team_index: int | None) -> CTE:
    """Per team of the event (teams without games too): the standings counts."""
    sides = _sides(run)
    s = sides.c
    teams = [Team.event_id == run.p.event, *_in_group(run, Team.id)]
    if team_index is not None:
        teams.append(Team.id == run.p.team(team_index))
    stmt = (
        select(
            Team.id.label("team_id"),
            Team.name.label("team"),
            func.count(s.team_id).label("played"),
            _count_if(s.score_for > s.score_against).label("won"),
            _count_if(s.score_for == s.score_against).label("drawn"),
            _count_if(s.score_for < s.score_against).label("lost"),
            func.coalesce(func.sum(s.score_for), 0).label("score_for"),
            func.coalesce(func.sum(s.score_against), 0).label("score_against"),
            _count_if(s.score_against == 0).label("clean_sheets"),
        )
        .select_from(Team)
        .outerjoin(sides, s.team_id == Team.id)
        .where(*teams)
        .group_by(Team.id, Team.name)
    )
    return stmt.cte("stats")


def _count_if(condition: Expr) -> Expr:
    return func.count(case((condition, 1)))


def _points(c: Any, run: _Runner) -> Expr:
    scoring = run.scoring()
    p = run.p
    return (
        c.won * p("win_points", scoring.win)
        + c.drawn * p("draw_points", scoring.draw)
        + c.lost * p("loss_points", scoring.loss)
    )


_TEAM_METRICS: dict[str, Callable[[Any, _Runner], Expr]] = {
    "points": _points,
    "played": lambda c, _run: c.played,
    "won": lambda c, _run: c.won,
    "drawn": lambda c, _run: c.drawn,
    "lost": lambda c, _run: c.lost,
    "score_for": lambda c, _run: c.score_for,
    "score_against": lambda c, _run: c.score_against,
    "score_diff": lambda c, _run: c.score_for - c.score_against,
    "clean_sheets": lambda c, _run: c.clean_sheets,
    "win_rate": lambda c, _run: cast(c.won, Float) / func.nullif(c.played, 0),
}


def _valued(run: _Runner, team_index: int | None = None) -> CTE:
    assert run.plan.metric is not None  # the plan schema requires one for team metrics
    stats = _team_stats(run, team_index)
    value = _TEAM_METRICS[run.plan.metric](stats.c, run)
    c = stats.c
    return select(c.team_id, c.team, c.played, value.label("value")).cte("valued")


def _team_columns(metric: str) -> list[str]:
    return ["team", metric] if metric == "played" else ["team", metric, "played"]


def _team_out(v: Any, metric: str) -> list[Expr]:
    out = [v.team, v.value.label(metric)]
    return out if metric == "played" else [*out, v.played]


def _anyone_played(v: Any) -> Expr:
    return select(func.max(v.played)).correlate(None).scalar_subquery() > 0


def _leader(run: _Runner) -> Result:
    metric = run.plan.metric or ""
    if metric == "position":
        return _position_leader(run)
    v = _valued(run).c
    extreme = func.max(v.value) if run.plan.order == "desc" else func.min(v.value)
    stmt = (
        select(*_team_out(v, metric))
        .where(v.value == select(extreme).correlate(None).scalar_subquery(), _anyone_played(v))
        .order_by(func.lower(v.team), v.team_id)
        .limit(run.cap)
    )
    return _team_columns(metric), run.rows(stmt)


def _top_n(run: _Runner) -> Result:
    metric = run.plan.metric or ""
    limit = min(run.plan.limit or DEFAULT_LIMIT, run.cap)
    if metric == "position":
        return _position_top(run, limit)
    v = _valued(run).c
    by_value = v.value.desc() if run.plan.order == "desc" else v.value.asc()
    stmt = (
        select(*_team_out(v, metric))
        .where(_anyone_played(v))
        .order_by(by_value.nulls_last(), func.lower(v.team), v.team_id)
        .limit(limit)
    )
    return _team_columns(metric), run.rows(stmt)


def _team_value(run: _Runner) -> Result:
    metric = run.plan.metric or ""
    if metric == "position":
        rows = [r for r in _standings(run) if r.team_id == run.plan.teams[0]]
        return POSITION_COLUMNS, [_position_row(r) for r in rows]
    v = _valued(run, team_index=0).c
    return _team_columns(metric), run.rows(select(*_team_out(v, metric)))


def _team_record(run: _Runner) -> Result:
    c = _team_stats(run, team_index=0).c
    stmt = select(
        c.team,
        c.played,
        c.won,
        c.drawn,
        c.lost,
        c.score_for,
        c.score_against,
        (c.score_for - c.score_against).label("score_diff"),
        _points(c, run).label("points"),
    )
    return RECORD_COLUMNS, run.rows(stmt)


# --- the standings rules themselves: position and table -------------------------------------


def _standings(run: _Runner) -> list[StandingsRow]:
    """The event's table by the standings rules, from plain columns (no ORM objects: a
    64-team double round robin is 4,032 games)."""
    p = run.p
    events = run.rows(select(Event.scoring, Event.tiebreakers).where(Event.id == p.event))
    if not events:
        return []
    scoring, tiebreakers = events[0]
    teams = run.rows(
        select(Team.id, Team.name, Team.group)
        .where(Team.event_id == p.event, *_in_group(run, Team.id))
        .order_by(Team.id)
    )
    games = run.rows(
        select(Game.home_team_id, Game.away_team_id, Game.home_score, Game.away_score).where(
            *_final_games(run)
        )
    )
    return compute_standings(
        [TeamEntry(*team) for team in teams],
        [GameResult(*game) for game in games],
        Scoring(**scoring),
        tiebreakers,
    )


def _position_row(row: StandingsRow) -> list[Any]:
    return [row.team_name, row.group, row.rank, row.points, row.played]


def _nobody_played(rows: list[StandingsRow]) -> bool:
    return all(row.played == 0 for row in rows)


def _position_leader(run: _Runner) -> Result:
    """Rank 1 of each group (order asc), or the last rank of each group (desc)."""
    table = _standings(run)
    if _nobody_played(table):
        return POSITION_COLUMNS, []
    pick = max if run.plan.order == "desc" else min
    extreme = {g: pick(r.rank for r in table if r.group == g) for g in {r.group for r in table}}
    return POSITION_COLUMNS, [_position_row(r) for r in table if r.rank == extreme[r.group]]


def _position_top(run: _Runner, limit: int) -> Result:
    table = _standings(run)
    if _nobody_played(table):
        return POSITION_COLUMNS, []
    sign = -1 if run.plan.order == "desc" else 1
    ranked = sorted(table, key=lambda r: (sign * r.rank, r.team_name.casefold(), r.team_id))
    return POSITION_COLUMNS, [_position_row(r) for r in ranked[:limit]]


def _table(run: _Runner) -> Result:
    rows: Rows = [
        [
            r.rank,
            r.team_name,
            r.group,
            r.played,
            r.won,
            r.drawn,
            r.lost,
            r.score_for,
            r.score_against,
            r.score_diff,
            r.points,
        ]
        for r in _standings(run)
    ]
    return TABLE_COLUMNS, rows[: run.cap]


# --- game intents ----------------------------------------------------------------------------


def _game_select(*extra: Expr) -> Query:
    home = aliased(Team, name="home_side")
    away = aliased(Team, name="away_side")
    return (
        select(
            Game.id.label("game_id"),
            Game.starts_at.label("date"),
            Game.round,
            home.name.label("home_team"),
            away.name.label("away_team"),
            Game.home_score,
            Game.away_score,
            Game.status,
            *extra,
        )
        .select_from(Game)
        .join(home, Game.home_team_id == home.id)
        .join(away, Game.away_team_id == away.id)
    )


def _chronological(newest_first: bool = False) -> list[Any]:
    if newest_first:
        return [Game.starts_at.desc().nulls_last(), Game.id.desc()]
    return [Game.starts_at.asc().nulls_last(), Game.id.asc()]


def _games_of(
    run: _Runner, side: _Side | None, *, final_only: bool = True, relative: bool = True
) -> list[Expr]:
    """Scope, group, the plan's team(s) and (if `relative`) the team-relative filters."""
    clauses = [*_game_scope(run, final_only=final_only), *_in_group(run, Game.home_team_id)]
    if len(run.plan.teams) == 2:
        a, b = run.p.team(0), run.p.team(1)
        clauses.append(
            or_(
                and_(Game.home_team_id == a, Game.away_team_id == b),
                and_(Game.home_team_id == b, Game.away_team_id == a),
            )
        )
    elif side is not None:
        clauses.append(side.involved)
    return [*clauses, *_selection(run, side)] if relative else clauses


def _head_to_head(run: _Runner) -> Result:
    stmt = _game_select().where(*_games_of(run, _side(run)))
    return GAME_COLUMNS, run.rows(stmt.order_by(*_chronological()).limit(run.cap))


def _games(run: _Runner) -> Result:
    stmt = _game_select().where(*_games_of(run, _side(run), final_only=False))
    return GAME_COLUMNS, run.rows(stmt.order_by(*_chronological()).limit(run.cap))


def _form(run: _Runner) -> Result:
    side = _Side(run.p.team(0))
    won, drew = side.scored > side.conceded, side.scored == side.conceded
    letter = case((won, "W"), (drew, "D"), else_="L")
    limit = min(run.plan.limit or DEFAULT_LIMIT, run.cap)
    stmt = _game_select(letter.label("result")).where(*_games_of(run, side))
    return [*GAME_COLUMNS, "result"], run.rows(stmt.order_by(*_chronological(True)).limit(limit))


_EXTREMES: dict[str, Callable[[], Expr]] = {
    "total_goals": lambda: Game.home_score + Game.away_score,
    "margin": lambda: func.abs(Game.home_score - Game.away_score),
}


def _extreme(run: _Runner) -> Result:
    """Every game sharing the most (desc) or least (asc) total goals or margin."""
    metric = run.plan.metric or ""
    value = _EXTREMES[metric]()
    where = _games_of(run, _side(run))
    best = func.max(value) if run.plan.order == "desc" else func.min(value)
    top = select(best).where(*where).correlate(None).scalar_subquery()
    stmt = _game_select(value.label(metric)).where(*where, value == top)
    return [*GAME_COLUMNS, metric], run.rows(stmt.order_by(*_chronological()).limit(run.cap))


# --- counts, totals and averages over final games --------------------------------------------

_Measure = tuple[Expr, Expr | None]  # (value per game, which games it counts in; None = all)


def _goal_measures(side: _Side | None) -> dict[str, _Measure]:
    if side is None:
        both = Game.home_score + Game.away_score
        home, away = Game.home_score, Game.away_score
        return {
            **dict.fromkeys(("goals", "goals_per_game", "goals_per_team"), (both, None)),
            **dict.fromkeys(("home_goals", "home_goals_per_game"), (home, None)),
            **dict.fromkeys(("away_goals", "away_goals_per_game"), (away, None)),
        }
    scored = side.scored
    return {
        **dict.fromkeys(("goals", "goals_per_game", "goals_per_team"), (scored, None)),
        **dict.fromkeys(("home_goals", "home_goals_per_game"), (scored, side.at_home)),
        **dict.fromkeys(("away_goals", "away_goals_per_game"), (scored, not_(side.at_home))),
    }


def _aggregate(
    run: _Runner, outputs: Callable[[Expr | None, Expr], list[Expr]], measures: bool = True
) -> Rows:
    """One row (or one per round) of `outputs(mask, value)` over the final games in scope.

    Team-relative filters become a CASE mask rather than WHERE, so a round in which no game
    matches still gets its row (with 0) when grouping by round.
    """
    side = _side(run)
    scope = _games_of(run, side, relative=False)
    value, only = _goal_measures(side)[run.plan.metric or ""] if measures else (Game.id, None)
    masks = [*_selection(run, side), *([only] if only is not None else [])]
    mask = and_(*masks) if masks else None
    columns = outputs(mask, value)
    if run.plan.group_by != "round":
        return run.rows(select(*columns).where(*scope))
    stmt = (
        select(Game.round.label("round"), *columns)
        .where(*scope)
        .group_by(Game.round)
        .order_by(Game.round.asc().nulls_last())
        .limit(run.cap)
    )
    return run.rows(stmt)


def _masked(mask: Expr | None, value: Expr) -> Expr:
    return value if mask is None else case((mask, value))


def _games_counted(mask: Expr | None) -> Expr:
    return func.count(_masked(mask, Game.id)).label("games")


def _grouped(run: _Runner, columns: list[str]) -> list[str]:
    return ["round", *columns] if run.plan.group_by == "round" else columns


def _count(run: _Runner) -> Result:
    rows = _aggregate(run, lambda mask, _value: [_games_counted(mask)], measures=False)
    return _grouped(run, ["games"]), rows


def _total(run: _Runner) -> Result:
    metric = run.plan.metric or ""

    def outputs(mask: Expr | None, value: Expr) -> list[Expr]:
        total = func.coalesce(func.sum(_masked(mask, value)), 0)
        return [total.label(metric), _games_counted(mask)]

    return _grouped(run, [metric, "games"]), _aggregate(run, outputs)


def _average(run: _Runner) -> Result:
    metric = run.plan.metric or ""

    per_team = metric == "goals_per_team" and not run.plan.teams

    def outputs(mask: Expr | None, value: Expr) -> list[Expr]:
        if per_team:  # the goals of the games in scope shared out over the event's teams
            mean = cast(func.sum(_masked(mask, value)), Float) / func.nullif(_team_count(run), 0)
        else:
            mean = func.avg(cast(_masked(mask, value), Float))
        return [mean.label(metric), _games_counted(mask)]

    return _grouped(run, [metric, "games"]), _aggregate(run, outputs)


def _team_count(run: _Runner) -> Expr:
    count = select(func.count(Team.id)).where(Team.event_id == run.p.event)
    return count.correlate(None).scalar_subquery()


_INTENTS: dict[str, Callable[[_Runner], Result]] = {
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
}
