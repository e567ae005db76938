"""Game intents: head-to-head, games, form and extremes; counts, totals and averages over
final games (optionally per round)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Float,
    and_,
    case,
    cast,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from models import Game, Team
from workers.analytics.queries.runner import (
    DEFAULT_LIMIT,
    GAME_COLUMNS,
    GAME_MEASURE_EXPRS,
    Expr,
    Query,
    Result,
    Rows,
    Runner,
    Side,
    game_scope,
    in_group,
    side_selection,
    team_side,
)

# --- game intents ----------------------------------------------------------------------------


def game_select(*extra: Expr) -> Query:
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


def games_of(
    run: Runner, side: Side | None, *, final_only: bool = True, relative: bool = True
) -> list[Expr]:
    """Scope, group, the plan's team(s) and (if `relative`) the team-relative filters."""
    clauses = [*game_scope(run, final_only=final_only), *in_group(run, Game.home_team_id)]
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
    return [*clauses, *side_selection(run, side)] if relative else clauses


def head_to_head_rows(run: Runner) -> Result:
    stmt = game_select().where(*games_of(run, team_side(run)))
    return GAME_COLUMNS, run.rows(stmt.order_by(*_chronological()).limit(run.cap))


def games_rows(run: Runner) -> Result:
    stmt = game_select().where(*games_of(run, team_side(run), final_only=False))
    return GAME_COLUMNS, run.rows(stmt.order_by(*_chronological()).limit(run.cap))


def result_letter(side: Side) -> Expr:
    """W/D/L from `side`'s view of a game."""
    won, drew = side.scored > side.conceded, side.scored == side.conceded
    return case((won, "W"), (drew, "D"), else_="L")


def form_rows(run: Runner) -> Result:
    side = Side(run.p.team(0))
    letter = result_letter(side)
    limit = min(run.plan.limit or DEFAULT_LIMIT, run.cap)
    stmt = game_select(letter.label("result")).where(*games_of(run, side))
    return [*GAME_COLUMNS, "result"], run.rows(stmt.order_by(*_chronological(True)).limit(limit))


_EXTREMES = GAME_MEASURE_EXPRS


def extreme_rows(run: Runner) -> Result:
    """Every game sharing the most (desc) or least (asc) total goals or margin."""
    metric = run.plan.metric or ""
    value = _EXTREMES[metric]()
    where = games_of(run, team_side(run))
    best = func.max(value) if run.plan.order == "desc" else func.min(value)
    top = select(best).where(*where).correlate(None).scalar_subquery()
    stmt = game_select(value.label(metric)).where(*where, value == top)
    return [*GAME_COLUMNS, metric], run.rows(stmt.order_by(*_chronological()).limit(run.cap))


# --- counts, totals and averages over final games --------------------------------------------

_Measure = tuple[Expr, Expr | None]  # (value per game, which games it counts in; None = all)


def _goal_measures(side: Side | None) -> dict[str, _Measure]:
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
    run: Runner, outputs: Callable[[Expr | None, Expr], list[Expr]], measures: bool = True
) -> Rows:
    """One row (or one per round) of `outputs(mask, value)` over the final games in scope.

    Team-relative filters become a CASE mask rather than WHERE, so a round in which no game
    matches still gets its row (with 0) when grouping by round.
    """
    side = team_side(run)
    scope = games_of(run, side, relative=False)
    value, only = _goal_measures(side)[run.plan.metric or ""] if measures else (Game.id, None)
    masks = [*side_selection(run, side), *([only] if only is not None else [])]
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


def _grouped(run: Runner, columns: list[str]) -> list[str]:
    return ["round", *columns] if run.plan.group_by == "round" else columns


def count_rows(run: Runner) -> Result:
    rows = _aggregate(run, lambda mask, _value: [_games_counted(mask)], measures=False)
    return _grouped(run, ["games"]), rows


def total_rows(run: Runner) -> Result:
    metric = run.plan.metric or ""

    def outputs(mask: Expr | None, value: Expr) -> list[Expr]:
        total = func.coalesce(func.sum(_masked(mask, value)), 0)
        return [total.label(metric), _games_counted(mask)]

    return _grouped(run, [metric, "games"]), _aggregate(run, outputs)


def average_rows(run: Runner) -> Result:
    metric = run.plan.metric or ""

    per_team = metric == "goals_per_team" and not run.plan.teams

    def outputs(mask: Expr | None, value: Expr) -> list[Expr]:
        if per_team:  # the goals of the games in scope shared out over the event's teams
            mean = cast(func.sum(_masked(mask, value)), Float) / func.nullif(_team_count(run), 0)
        else:
            mean = func.avg(cast(_masked(mask, value), Float))
        return [mean.label(metric), _games_counted(mask)]

    return _grouped(run, [metric, "games"]), _aggregate(run, outputs)


def _team_count(run: Runner) -> Expr:
    count = select(func.count(Team.id)).where(Team.event_id == run.p.event)
    return count.correlate(None).scalar_subquery()
