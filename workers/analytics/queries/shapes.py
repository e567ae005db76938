"""The set-valued, comparative, split, share, opponent and yes/no plan shapes.

Each reuses the team-metric query of ``teams.py`` or the game scope of ``games.py``; every
threshold, team id and rank reaches the database as a bound parameter, and the comparison
operators come from an allow-list (``runner.OPS``).
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import and_, case, func, or_, select

from models import Game
from workers.analytics.plan import LAST_RANK
from workers.analytics.queries.games import game_select, games_of, result_letter
from workers.analytics.queries.runner import (
    GAME_COLUMNS,
    OPS,
    Result,
    Rows,
    Runner,
    Side,
    game_scope,
    in_group,
    side_selection,
)
from workers.analytics.queries.teams import leader_rows, standings_rows, valued

VALUE_COLUMNS = ["team", "value", "played"]
TO_PLAY = ("scheduled", "live")  # a cancelled game is not still to play


def filter_rows(run: Runner) -> Result:
    """Every team whose metric passes the threshold (over its home/away games with `home`)."""
    metric = run.plan.metric or ""
    rule = run.filters["threshold"]
    v = valued(run).c
    value = v.value * 100 if metric == "win_rate" else v.value  # a win rate bound is in percent
    stmt = (
        select(v.team, v.value.label(metric), v.played)
        .where(OPS[rule["op"]](value, run.p("threshold", rule["value"])))
        .order_by(v.value.desc(), func.lower(v.team), v.team_id)
        .limit(run.cap)
    )
    return ["team", metric, "played"], run.rows(stmt)


def _values_of(run: Runner, team_ids: list[int]) -> Rows:
    """[team, value, played] for each team id, in the order given."""
    if run.plan.metric == "position":
        table = {r.team_id: r for r in standings_rows(run)}
        return [
            [table[t].team_name, table[t].rank, table[t].played] for t in team_ids if t in table
        ]
    v = valued(run).c
    ids = [run.p(f"pick_{i + 1}", team) for i, team in enumerate(team_ids)]
    stmt = select(v.team_id, v.team, v.value, v.played).where(v.team_id.in_(ids))
    found = {row[0]: list(row[1:]) for row in run.rows(stmt)}
    return [found[t] for t in team_ids if t in found]


def compare_rows(run: Runner) -> Result:
    return VALUE_COLUMNS, _values_of(run, list(run.plan.teams))


def difference_rows(run: Runner) -> Result:
    """Two teams' values; without teams, the teams at two places of the table (and the place)."""
    if run.plan.teams:
        return VALUE_COLUMNS, _values_of(run, list(run.plan.teams))
    table = standings_rows(run)
    if not table:
        return [*VALUE_COLUMNS, "position"], []
    picked = [
        table[-1] if r == LAST_RANK else table[min(r, len(table)) - 1] for r in run.filters["ranks"]
    ]
    teams = [row.team_id for row in picked]
    places = [row.rank for row in picked]
    rows = _values_of(run, teams)
    return [*VALUE_COLUMNS, "position"], [
        [*row, place] for row, place in zip(rows, places, strict=True)
    ]


def split_rows(run: Runner) -> Result:
    """One team's metric over its home games, then over its away games."""
    rows: Rows = []
    for home in (True, False):
        venue = dataclasses.replace(run.plan, filters={**run.filters, "home": home})
        sub = Runner(run.session, venue, run.cap)
        v = valued(sub, team_index=0).c
        for team, value, played in sub.rows(select(v.team, v.value, v.played)):
            rows.append([team, "home" if home else "away", value, played])
        run.statements.extend(sub.statements)
    return ["team", "venue", "value", "played"], rows


def share_rows(run: Runner) -> Result:
    """How many final games in scope match the condition, and of how many."""
    side = Side(run.p.team(0)) if run.plan.teams else None
    scope = games_of(run, side, relative=False)
    condition = side_selection(run, side)
    matched = func.count(case((and_(*condition), Game.id))) if condition else func.count(Game.id)
    stmt = select(matched.label("matched"), func.count(Game.id).label("games")).where(*scope)
    return ["matched", "games"], run.rows(stmt)


def opponents_rows(run: Runner) -> Result:
    """The team's final games it won/drew/lost, or the games it has still to play."""
    side = Side(run.p.team(0))
    if run.filters.get("pending"):
        where = [
            *game_scope(run, final_only=False),
            *in_group(run, Game.home_team_id),
            side.involved,
            or_(*(Game.status == run.p(f"to_play_{i}", s) for i, s in enumerate(TO_PLAY))),
        ]
    else:
        where = games_of(run, side)
    stmt = game_select().where(*where).order_by(Game.starts_at.asc().nulls_last(), Game.id)
    return GAME_COLUMNS, run.rows(stmt.limit(run.cap))


def check_rows(run: Runner) -> Result:
    """A yes/no question: the rows behind the answer, with `yes` decided here."""
    if len(run.plan.teams) == 2:
        return _result_check(run)
    metric = run.plan.metric or ""
    columns = [*VALUE_COLUMNS, "yes"]
    own = _values_of(run, [run.plan.teams[0]])
    if not own:
        return columns, []
    name, value, played = own[0]
    rule = run.filters.get("threshold")
    if rule is not None:
        plain = value * 100 if metric == "win_rate" and value is not None else value
        yes = value is not None and bool(OPS[rule["op"]](plain, rule["value"]))
    else:  # at the extreme, as `leader` reads it (ties included)
        yes = name in {row[0] for row in leader_rows(run)[1]}
    return columns, [[name, value, played, yes]]


def _result_check(run: Runner) -> Result:
    """Every final game between the two teams, with the first team's W/D/L."""
    everything = dataclasses.replace(
        run.plan, filters={k: v for k, v in run.filters.items() if k != "outcome"}
    )
    sub = Runner(run.session, everything, run.cap)
    letter = result_letter(Side(sub.p.team(0)))
    stmt = game_select(letter.label("result")).where(*games_of(sub, Side(sub.p.team(0))))
    rows = sub.rows(stmt.order_by(Game.starts_at.asc().nulls_last(), Game.id).limit(run.cap))
    run.statements.extend(sub.statements)
    return [*GAME_COLUMNS, "result"], rows
