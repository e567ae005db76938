"""Team intents: one query over both sides of every final game (leader, top_n, team_value,
team_record), and the standings rules themselves (position, table)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    CTE,
    Float,
    case,
    cast,
    func,
    select,
)
from sqlalchemy.sql.selectable import Subquery

from models import Event, Game, Team
from models.domain.standings import Result as GameResult
from models.domain.standings import Row as StandingsRow
from models.domain.standings import Scoring, TeamEntry, compute_standings
from workers.analytics.queries.runner import (
    DEFAULT_LIMIT,
    POSITION_COLUMNS,
    RECORD_COLUMNS,
    TABLE_COLUMNS,
    Expr,
    Result,
    Rows,
    Runner,
    final_games,
    game_scope,
    in_group,
    result_filter,
)

# --- team metrics: one query over both sides of every final game ----------------------------


def _sides(run: Runner) -> Subquery:
    """Each final game in scope twice, once from each team's side."""
    scope = [*game_scope(run), *result_filter(run)]  # a team's outcome/venue means nothing here
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


def _team_stats(run: Runner, team_index: int | None) -> CTE:
    """Per team of the event (teams without games too): the standings counts."""
    sides = _sides(run)
    s = sides.c
    teams = [Team.event_id == run.p.event, *in_group(run, Team.id)]
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


def _points(c: Any, run: Runner) -> Expr:
    scoring = run.scoring()
    p = run.p
    return (
        c.won * p("win_points", scoring.win)
        + c.drawn * p("draw_points", scoring.draw)
        + c.lost * p("loss_points", scoring.loss)
    )


_TEAM_METRICS: dict[str, Callable[[Any, Runner], Expr]] = {
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


def valued(run: Runner, team_index: int | None = None) -> CTE:
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


def _ranked(run: Runner, v: Any) -> list[Expr]:
    """Over home (or away) games only, a team with none there has no value to rank: it is
    not "the best defence at home" for never having played at home."""
    return [v.played > 0] if run.filters.get("home") is not None else []


def leader_rows(run: Runner) -> Result:
    metric = run.plan.metric or ""
    if metric == "position":
        return _position_leader(run)
    v = valued(run).c
    extreme = func.max(v.value) if run.plan.order == "desc" else func.min(v.value)
    ranked = _ranked(run, v)
    stmt = (
        select(*_team_out(v, metric))
        .where(
            v.value == select(extreme).where(*ranked).correlate(None).scalar_subquery(),
            _anyone_played(v),
            *ranked,
        )
        .order_by(func.lower(v.team), v.team_id)
        .limit(run.cap)
    )
    return _team_columns(metric), run.rows(stmt)


def top_n_rows(run: Runner) -> Result:
    metric = run.plan.metric or ""
    limit = min(run.plan.limit or DEFAULT_LIMIT, run.cap)
    if metric == "position":
        return _position_top(run, limit)
    v = valued(run).c
    by_value = v.value.desc() if run.plan.order == "desc" else v.value.asc()
    stmt = (
        select(*_team_out(v, metric))
        .where(_anyone_played(v), *_ranked(run, v))
        .order_by(by_value.nulls_last(), func.lower(v.team), v.team_id)
        .limit(limit)
    )
    return _team_columns(metric), run.rows(stmt)


def team_value_rows(run: Runner) -> Result:
    metric = run.plan.metric or ""
    if metric == "position":
        rows = [r for r in standings_rows(run) if r.team_id == run.plan.teams[0]]
        return POSITION_COLUMNS, [_position_row(r) for r in rows]
    v = valued(run, team_index=0).c
    return _team_columns(metric), run.rows(select(*_team_out(v, metric)))


def team_record_rows(run: Runner) -> Result:
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


def standings_rows(run: Runner) -> list[StandingsRow]:
    """The event's table by the standings rules, from plain columns (no ORM objects: a
    64-team double round robin is 4,032 games)."""
    p = run.p
    events = run.rows(select(Event.scoring, Event.tiebreakers).where(Event.id == p.event))
    if not events:
        return []
    scoring, tiebreakers = events[0]
    teams = run.rows(
        select(Team.id, Team.name, Team.group)
        .where(Team.event_id == p.event, *in_group(run, Team.id))
        .order_by(Team.id)
    )
    games = run.rows(
        select(Game.home_team_id, Game.away_team_id, Game.home_score, Game.away_score).where(
            *final_games(run)
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


def _position_leader(run: Runner) -> Result:
    """Rank 1 of each group (order asc), or the last rank of each group (desc)."""
    table = standings_rows(run)
    if _nobody_played(table):
        return POSITION_COLUMNS, []
    pick = max if run.plan.order == "desc" else min
    extreme = {g: pick(r.rank for r in table if r.group == g) for g in {r.group for r in table}}
    return POSITION_COLUMNS, [_position_row(r) for r in table if r.rank == extreme[r.group]]


def _position_top(run: Runner, limit: int) -> Result:
    table = standings_rows(run)
    if _nobody_played(table):
        return POSITION_COLUMNS, []
    sign = -1 if run.plan.order == "desc" else 1
    ranked = sorted(table, key=lambda r: (sign * r.rank, r.team_name.casefold(), r.team_id))
    return POSITION_COLUMNS, [_position_row(r) for r in ranked[:limit]]


def table_rows(run: Runner) -> Result:
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
        for r in standings_rows(run)
    ]
    return TABLE_COLUMNS, rows[: run.cap]
