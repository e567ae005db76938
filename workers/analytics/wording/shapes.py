"""Sentences for the set, comparison, split, share, opponent and yes/no plan shapes (pure).

A yes/no question's sentence begins with "Yes" or "No"; a set names every member, or says
plainly that there is none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.analytics.wording.phrases import (
    DASH,
    OP_WORDS,
    View,
    counted,
    event_scope,
    game_condition,
    join_names,
    metric_noun,
    metric_value,
    nothing_played,
    ordinal,
    percent,
    possessive,
    team_scope,
    threshold_value,
)
from workers.analytics.wording.teams import EXTREME_PHRASES, TEAM_VALUE


def _has(v: View, metric: str, value: Any) -> str:
    """'have conceded 5 goals', 'are 2nd' (the team's value, said as a verb phrase)."""
    if metric == "position":
        return f"are {ordinal(value)}"
    if value is None:
        return "have not played a game"
    return TEAM_VALUE[metric](v, value)


def _scope(v: View) -> str:
    return f"{team_scope(v)} {event_scope(v)}"


def filter_sentence(v: View) -> str:
    rule = v.filters["threshold"]
    noun = metric_noun(v.metric, v.words, rule["value"])
    bound = f"{OP_WORDS[rule['op']]} {threshold_value(v.metric, rule['value'])}"
    if not v.records:
        return f"No team has {bound} {noun}{_scope(v)}."
    items = [f"{r['team']} ({metric_value(v.metric, r[v.metric])})" for r in v.records]
    teams = "1 team has" if len(items) == 1 else f"{len(items)} teams have"
    return f"{teams} {bound} {noun}{_scope(v)}: {join_names(items)}."


def compare_sentence(v: View) -> str:
    if len(v.records) != 2 or any(r["value"] is None for r in v.records):
        return f"{v.team(0)} and {v.team(1)} cannot be compared on {metric_noun(v.metric)} yet."
    a, b = v.records
    if v.metric == "position":  # "higher" = a smaller place number
        yes = a["value"] < b["value"] if v.plan.order == "asc" else a["value"] > b["value"]
    else:
        yes = a["value"] > b["value"] if v.desc else a["value"] < b["value"]
    first = f"{a['team']} {_has(v, v.metric, a['value'])}"
    second = f"{b['team']} {_has(v, v.metric, b['value'])}"
    return f"{'Yes' if yes else 'No'}: {first} and {second}{_scope(v)}."


def difference_sentence(v: View) -> str:
    if len(v.records) != 2 or any(r["value"] is None for r in v.records):
        return f"There is no difference to give yet {event_scope(v)}."
    a, b = v.records
    gap = abs(a["value"] - b["value"])
    said = percent(gap) if v.metric == "win_rate" else str(gap)
    noun = metric_noun(v.metric, v.words)
    if "position" in a:
        first = f"{a['team']} ({ordinal(a['position'])}) {_has(v, v.metric, a['value'])}"
        second = f"{b['team']} ({ordinal(b['position'])}) {_has(v, v.metric, b['value'])}"
    else:
        first = f"{a['team']} {_has(v, v.metric, a['value'])}"
        second = f"{b['team']} {_has(v, v.metric, b['value'])}"
    return f"{first} and {second}{_scope(v)}: a difference of {said} in {noun}."


def split_sentence(v: View) -> str:
    if len(v.records) != 2:
        return f"There is no such team {event_scope(v)}."
    home, away = v.records
    parts = [
        f"{_venue_value(v, r)} {_VENUES[r['venue']]} ({counted(r['played'], 'game')})"
        for r in (home, away)
    ]
    noun = metric_noun(v.metric, v.words)
    return f"{possessive(home['team'])} {noun}: {' and '.join(parts)} {event_scope(v)}."


_VENUES = {"home": "at home", "away": "away"}


def _venue_value(v: View, record: Mapping[str, Any]) -> str:
    """The value over one venue's games; a win rate without games there is 'none'."""
    if record["played"]:
        return metric_value(v.metric, record["value"])
    return "none" if v.metric == "win_rate" else "0"


def share_sentence(v: View) -> str:
    record = v.records[0] if v.records else {"matched": 0, "games": 0}
    matched, games = record["matched"], record["games"]
    of = f"of {possessive(v.team(0))} games" if v.plan.teams else "of the games"
    if games == 0:
        return nothing_played(v)
    condition = game_condition(v) or "were played"
    share = percent(matched / games)
    return f"{share} {of} {condition} {event_scope(v)}: {matched} of {counted(games, 'game')}."


_OPPONENT_VERBS = {
    "win": ("have beaten", "have not beaten anyone yet"),
    "draw": ("have drawn with", "have not drawn with anyone yet"),
    "loss": ("have lost to", "have not lost to anyone yet"),
}


def _opponent(record: Mapping[str, Any], name: str) -> str:
    home, away = record["home_team"], record["away_team"]
    return str(away if home == name else home)


def opponents_sentence(v: View) -> str:
    name = v.team(0)
    found: list[str] = []
    for record in v.records:
        other = _opponent(record, name)
        if other not in found:
            found.append(other)
    if v.filters.get("pending"):
        if not found:
            return f"{name} have no games left to play {event_scope(v)}."
        return f"{name} have still to play {join_names(found)} {event_scope(v)}."
    done, none = _OPPONENT_VERBS[v.filters["outcome"]]
    if not found:
        return f"{name} {none}{_scope(v)}."
    return f"{name} {done} {join_names(found)}{_scope(v)}."


_LETTERS = {"win": "W", "draw": "D", "loss": "L"}
_DID = {"win": "beaten", "draw": "drawn with", "loss": "lost to"}


def check_sentence(v: View) -> str:
    if len(v.plan.teams) == 2:
        return _result_check(v)
    if not v.records:
        return f"There is no such team {event_scope(v)}."
    record = v.records[0]
    name, value, yes = record["team"], record["value"], record["yes"]
    answer = "Yes" if yes else "No"
    if "threshold" in v.filters or value is None:
        return f"{answer}: {name} {_has(v, v.metric, value)}{_scope(v)}."
    if v.metric == "position":
        end = "bottom" if v.desc else "top"
        if yes:
            return f"Yes: {name} are {end} of the {v.event} table."
        return f"No: {name} are {ordinal(value)} in {v.event}, not {end}."
    phrase = EXTREME_PHRASES[(v.metric, v.plan.order)].format(**v.words)
    said = metric_value(v.metric, value)
    if yes:
        return f"Yes: {name} {phrase}{_scope(v)} ({said})."
    return f"No: {name} do not {phrase.removeprefix('have ')}{_scope(v)}, with {said}."


def _result_check(v: View) -> str:
    first, second = v.team(0), v.team(1)
    wanted = _LETTERS[v.filters["outcome"]]
    if not v.records:
        return f"No: {first} and {second} have not played each other yet{_scope(v)}."
    results = [_said(r) for r in v.records]
    yes = any(r["result"] == wanted for r in v.records)
    if yes:
        return f"Yes: {join_names(results)}."
    return f"No: {first} have not {_DID[v.filters['outcome']]} {second}; {join_names(results)}."


def _said(record: Mapping[str, Any]) -> str:
    home, away = record["home_team"], record["away_team"]
    return f"{home} {record['home_score']}{DASH}{record['away_score']} {away} on {record['date']}"
