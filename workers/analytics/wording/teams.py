"""Sentences about teams: leaders, top-N lists, one team's value or record, the table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workers.analytics.wording.phrases import (
    View,
    counted,
    event_scope,
    join_names,
    metric_value,
    not_played,
    nothing_played,
    ordinal,
    percent,
    possessive,
    signed,
    team_scope,
)

# --- team metrics ---------------------------------------------------------------------------

# (metric, order) → how the extreme is said: "Lions have the most wins: 5."
EXTREME_PHRASES: dict[tuple[str, str], str] = {
    ("played", "desc"): "have played the most games",
    ("played", "asc"): "have played the fewest games",
    ("won", "desc"): "have the most wins",
    ("won", "asc"): "have the fewest wins",
    ("drawn", "desc"): "have the most draws",
    ("drawn", "asc"): "have the fewest draws",
    ("lost", "desc"): "have the most losses",
    ("lost", "asc"): "have the fewest losses",
    ("score_for", "desc"): "have scored the most {goals}",
    ("score_for", "asc"): "have scored the fewest {goals}",
    ("score_against", "desc"): "have conceded the most {goals}",
    ("score_against", "asc"): "have conceded the fewest {goals}",
    ("score_diff", "desc"): "have the best {goal} difference",
    ("score_diff", "asc"): "have the worst {goal} difference",
    ("clean_sheets", "desc"): "have kept the most clean sheets",
    ("clean_sheets", "asc"): "have kept the fewest clean sheets",
    ("win_rate", "desc"): "have the best win rate",
    ("win_rate", "asc"): "have the lowest win rate",
    ("points", "desc"): "have the most points",
    ("points", "asc"): "have the fewest points",
}


def _phrase(v: View, metric: str) -> str:
    return EXTREME_PHRASES[(metric, v.plan.order)].format(**v.words)


def leader_sentence(v: View) -> str:
    if not v.records:
        return nothing_played(v)
    if v.metric == "position":
        return _table_ends(v, v.records, bottom=v.desc)
    names = [r["team"] for r in v.records]
    value = v.records[0][v.metric]
    each = " each" if len(names) > 1 else ""
    scope = team_scope(v)
    if v.metric == "points" and v.desc:
        return f"{join_names(names)} lead{scope} with {counted(value, 'point')}{each}."
    return (
        f"{join_names(names)} {_phrase(v, v.metric)}{scope}: {metric_value(v.metric, value)}{each}."
    )


def top_n_sentence(v: View) -> str:
    if not v.records:
        return nothing_played(v)
    n = len(v.records)
    if v.metric == "position":
        end = "bottom" if v.desc else "top"
        items = [f"{r['team']} ({_placing(r)}, {counted(r['points'], 'point')})" for r in v.records]
        return f"The {end} {n} of the table {event_scope(v)}: {join_names(items)}."
    items = [f"{r['team']} ({metric_value(v.metric, r[v.metric])})" for r in v.records]
    phrase = _phrase(v, v.metric)  # "have the most wins" → "with the most wins"
    if phrase.startswith("have the "):
        which = f"with {phrase[5:]}"
    else:  # "the team that has scored", "the 3 teams that have scored"
        which = f"that {'has' if n == 1 else 'have'} {phrase[5:]}"
    teams = "The team" if n == 1 else f"The {n} teams"
    return f"{teams} {which}{team_scope(v)}: {join_names(items)}."


def _placing(record: Mapping[str, Any]) -> str:
    group = record.get("group")
    place = ordinal(record["position"])
    return f"{place} in group {group}" if group is not None else place


TEAM_VALUE: dict[str, Callable[[View, Any], str]] = {
    "points": lambda v, n: f"have {counted(n, 'point')}",
    "played": lambda v, n: f"have played {counted(n, 'game')}",
    "won": lambda v, n: f"have won {counted(n, 'game')}",
    "drawn": lambda v, n: f"have drawn {counted(n, 'game')}",
    "lost": lambda v, n: f"have lost {counted(n, 'game')}",
    "score_for": lambda v, n: f"have scored {v.goals(n)}",
    "score_against": lambda v, n: f"have conceded {v.goals(n)}",
    "score_diff": lambda v, n: f"have a {v.words['goal']} difference of {signed(n)}",
    "clean_sheets": lambda v, n: f"have kept {counted(n, 'clean sheet')}",
    "win_rate": lambda v, n: f"have won {percent(n)} of their games",
}


def team_value_sentence(v: View) -> str:
    if not v.records:
        return f"There is no such team {event_scope(v)}."
    record = v.records[0]
    name = record["team"]
    if v.metric == "position":
        where = f"group {record['group']}" if record.get("group") is not None else v.event
        points = counted(record["points"], "point")
        return f"{name} are {ordinal(record['position'])} in {where} with {points}."
    value = record[v.metric]
    if value is None:  # a win rate without games
        return not_played(v, name)
    return f"{name} {TEAM_VALUE[v.metric](v, value)}{team_scope(v)}."


def team_record_sentence(v: View) -> str:
    if not v.records:
        return f"There is no such team {event_scope(v)}."
    r = v.records[0]
    if r["played"] == 0:
        return not_played(v, r["team"])
    return (
        f"{possessive(r['team'])} record{team_scope(v)}: played {r['played']}, "
        f"won {r['won']}, drawn {r['drawn']}, lost {r['lost']}, "
        # Goals too: "Lions' goals scored and conceded" is answered by the record.
        f"scored {r['score_for']}, conceded {r['score_against']}, "
        f"{counted(r['points'], 'point')}."
    )


# --- the table ------------------------------------------------------------------------------


def table_sentence(v: View) -> str:
    if not v.records:
        return f"{v.event} has no teams yet."
    if all(r["played"] == 0 for r in v.records):
        return nothing_played(v)
    return _table_ends(v, v.records, bottom=False)


def _table_ends(v: View, records: list[dict[str, Any]], *, bottom: bool) -> str:
    """Who is top (or bottom) of the table, or of each group."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(record.get("group"), []).append(record)
    clauses = []
    for group, members in groups.items():
        pick = max if bottom else min
        end = pick(r["position"] for r in members)
        at_end = [r for r in members if r["position"] == end]
        clauses.append(_table_end_clause(v, group, at_end, bottom))
    return f"{join_names(clauses)}."


def _table_end_clause(v: View, group: Any, teams: list[dict[str, Any]], bottom: bool) -> str:
    table = f"group {group}" if group is not None else f"the {v.event} table"
    names = join_names([r["team"] for r in teams])
    points = counted(teams[0]["points"], "point")
    end = "bottom" if bottom else "top"
    if len(teams) > 1:
        return f"{names} are joint {end} of {table} with {points} each"
    return f"{names} are {end} of {table} with {points}"
