"""Sentences about games: head-to-head, lists, form, extremes; counts, totals, averages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workers.analytics.wording.phrases import (
    DASH,
    MAX_LISTED_GAMES,
    View,
    counted,
    decimal,
    event_scope,
    game_condition,
    have,
    join_names,
    not_played,
    nothing_played,
    possessive,
    team_scope,
)

# --- games ----------------------------------------------------------------------------------


def _score(record: Mapping[str, Any], reverse: bool = False) -> str:
    home, away = record["home_score"], record["away_score"]
    return f"{away}{DASH}{home}" if reverse else f"{home}{DASH}{away}"


def _on(record: Mapping[str, Any]) -> str:
    return f" on {record['date']}" if record.get("date") else ""


def _result(record: Mapping[str, Any], first: str | None = None) -> str:
    """'Lions beat Tigers 3-1 on 2026-05-02', 'Lions and Tigers drew 1-1 on ...' (en dashes)."""
    home, away = record["home_team"], record["away_team"]
    hs, as_ = record["home_score"], record["away_score"]
    if hs == as_:
        pair = (away, home) if first == away else (home, away)
        return f"{pair[0]} and {pair[1]} drew {_score(record)}{_on(record)}"
    if hs > as_:
        return f"{home} beat {away} {_score(record)}{_on(record)}"
    return f"{away} beat {home} {_score(record, reverse=True)}{_on(record)}"


def _fixture(record: Mapping[str, Any], with_date: bool) -> str:
    """A game of any status: 'Lions 3-1 Tigers', 'Bears v Lions (scheduled)'."""
    home, away, status = record["home_team"], record["away_team"], record["status"]
    if record["home_score"] is None or record["away_score"] is None:
        text = f"{home} v {away} ({status})"
    else:
        text = f"{home} {_score(record)} {away}" + ("" if status == "final" else f" ({status})")
    return text + (_on(record) if with_date else "")


def head_to_head_sentence(v: View) -> str:
    if not v.records:
        known = [v.names.get(team_id) for team_id in v.plan.teams]
        pair = f"{known[0]} and {known[1]}" if all(known) else "These two teams"
        return f"{pair} have not played each other yet {event_scope(v)}."
    first = v.team(0, v.records[0]["home_team"])
    second = v.team(1, v.records[0]["away_team"])
    if len(v.records) == 1:
        return f"{_result(v.records[0], first)}."
    pair = f"{first} and {second}"
    if len(v.records) > MAX_LISTED_GAMES:
        return f"{pair} have met {len(v.records)} times: {_tally(v.records, first, second)}."
    results = [_result(r, first) for r in v.records]
    return f"{pair} have met {len(v.records)} times: {join_names(results)}."


def _tally(records: list[dict[str, Any]], first: str, second: str) -> str:
    wins = dict.fromkeys((first, second), 0)
    draws = 0
    for r in records:
        hs, as_ = r["home_score"], r["away_score"]
        if hs == as_:
            draws += 1
        else:
            winner = r["home_team"] if hs > as_ else r["away_team"]
            wins[winner] = wins.get(winner, 0) + 1
    return f"{first} won {wins[first]}, {second} won {wins[second]}, {counted(draws, 'draw')}"


def extreme_sentence(v: View) -> str:
    if not v.records:
        return _no_extreme(v)
    title = _extreme_title(v)
    title = f"{possessive(v.team(0))} {title}" if v.plan.teams else f"The {title}"
    value = v.records[0][v.metric]
    if v.metric == "total_goals":
        games = [_fixture(r, with_date=True) for r in v.records]
        measure = f"with {v.goals(value)}"
    else:
        games = [_result(r, v.team(0, None) if v.plan.teams else None) for r in v.records]
        measure = f"by {v.goals(value)}" if value else ""  # a margin of 0 is a draw
    if len(games) == 1:
        return f"{title}: {games[0]}{f', {measure}' if measure else ''}."
    return f"{title}s{f', {measure} each' if measure else ''}: {join_names(games)}."


def _extreme_title(v: View) -> str:
    outcome = v.filters.get("outcome")
    if v.metric == "total_goals":
        return "highest-scoring game" if v.desc else "lowest-scoring game"
    if outcome == "loss":
        return "heaviest defeat" if v.desc else "narrowest defeat"
    if outcome == "win" or v.desc:
        return "biggest win" if v.desc else "narrowest win"
    return "closest game"


def _no_extreme(v: View) -> str:
    if not v.plan.teams:
        return nothing_played(v)
    name = v.team(0)
    outcome = v.filters.get("outcome")
    verbs = {"win": "won", "loss": "lost", "draw": "drawn"}
    if outcome in verbs:
        return f"{name} have not {verbs[outcome]} a game yet{team_scope(v)}."
    return not_played(v, name)


def form_sentence(v: View) -> str:
    name = v.team(0, _common_team(v.records))
    if not v.records:
        return not_played(v, name)
    letters = [r["result"] for r in v.records]
    counts = zip("WDL", ("win", "draw", "defeat"), strict=True)
    tally = [counted(letters.count(k), word) for k, word in counts if k in letters]
    if len(letters) == 1:
        return f"{possessive(name)} last result{team_scope(v)}: {letters[0]}."
    return (
        f"{possessive(name)} last {len(letters)} results{team_scope(v)}, newest first: "
        f"{', '.join(letters)} ({join_names(tally)})."
    )


def _common_team(records: list[dict[str, Any]]) -> str | None:
    """The team in every game (the one whose form it is), when the rows say so."""
    if len(records) < 2:
        return None
    common = {records[0]["home_team"], records[0]["away_team"]}
    for r in records[1:]:
        common &= {r["home_team"], r["away_team"]}
    return next(iter(common)) if len(common) == 1 else None


def games_sentence(v: View) -> str:
    where = _games_where(v)
    if not v.records:
        return f"There are no games {where}."
    n = len(v.records)
    is_are = "is" if n == 1 else "are"
    if n > MAX_LISTED_GAMES:
        statuses: dict[str, int] = {}
        for r in v.records:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        counts = [f"{count} {status}" for status, count in statuses.items()]
        return f"There are {n} games {where}: {join_names(counts)}."
    with_date = v.filters.get("date") is None
    games = [_fixture(r, with_date) for r in v.records]
    return f"There {is_are} {counted(n, 'game')} {where}: {join_names(games)}."


def _games_where(v: View) -> str:
    if len(v.plan.teams) == 2:
        return f"between {v.team(0)} and {v.team(1)}{team_scope(v)} {event_scope(v)}"
    if v.plan.teams:
        return f"for {v.team(0)}{team_scope(v)} {event_scope(v)}"
    return event_scope(v)


# --- counts, totals, averages ---------------------------------------------------------------

_RESULT_NOUNS = {
    "draw": ("draw", "draws"),
    "home_win": ("home win", "home wins"),
    "away_win": ("away win", "away wins"),
    "decided": ("decided game", "decided games"),
    "goalless": ("goalless game", "goalless games"),
}
_OUTCOME_VERBS = {"win": "won", "draw": "drawn", "loss": "lost"}


def _result_filter(v: View) -> str | None:
    """The result the games must have; a team-less win/loss is a decided game."""
    result = v.filters.get("result")
    outcome = v.filters.get("outcome")
    if result is None and outcome is not None and not v.plan.teams:
        return "draw" if outcome == "draw" else "decided"
    return result  # type: ignore[no-any-return]


def count_sentence(v: View) -> str:
    if v.plan.group_by == "round":
        return _per_round(v, "games", _count_label(v), str)
    n = v.records[0]["games"] if v.records else 0
    if "threshold" in v.filters:  # "5 games had at least 5 goals"
        games = f"of {possessive(v.team(0))} games" if v.plan.teams else "games"
        return f"{n} {games} {game_condition(v)} {event_scope(v)}."
    result = _result_filter(v)
    outcome = str(v.filters.get("outcome"))
    if v.plan.teams:
        name = v.team(0)
        if result is not None:
            noun = counted(n, *_RESULT_NOUNS[result])
            return f"There {have(n)} been {noun} in {possessive(name)} games{team_scope(v)}."
        verb = _OUTCOME_VERBS.get(outcome, "played")
        return f"{name} have {verb} {counted(n, 'game')}{team_scope(v)}."
    if result is not None:
        return f"There {have(n)} been {counted(n, *_RESULT_NOUNS[result])} {event_scope(v)}."
    if n == 0:
        return nothing_played(v)
    return f"{counted(n, 'game')} {have(n)} been played {event_scope(v)}."


def _count_label(v: View) -> str:
    result = _result_filter(v)
    if v.plan.teams:
        outcome = str(v.filters.get("outcome"))
        kind = {"win": "wins", "draw": "draws", "loss": "defeats"}.get(outcome, "games")
        if result is not None:
            kind = _RESULT_NOUNS[result][1]
        return f"{possessive(v.team(0))} {kind}"
    return _RESULT_NOUNS[result][1].capitalize() if result else "Games"


def _per_round(v: View, column: str, label: str, say: Callable[[Any], str]) -> str:
    """'Goals by round in Summer Cup: 4 in round 1, 8 in round 2 and 3 in round 3.'"""
    if not v.records:
        return nothing_played(v)
    items = [
        f"{say(r[column])} in round {r['round']}"
        if r["round"] is not None
        else say(r[column]) + " without a round"
        for r in v.records
    ]
    return f"{label} by round {event_scope(v)}: {join_names(items)}."


def _game_noun(v: View) -> tuple[str, str]:
    """What the games in a total/average are called: 'game', 'drawn game', 'home game', 'win'."""
    outcome = v.filters.get("outcome")
    if v.plan.teams and outcome in ("win", "draw", "loss"):
        return {"win": ("win", "wins"), "draw": ("draw", "draws"), "loss": ("defeat", "defeats")}[
            outcome
        ]
    result = _result_filter(v)
    if result == "draw":
        return ("drawn game", "drawn games")
    if result is not None:
        return _RESULT_NOUNS[result]
    return ("game", "games")


_TEAM_SIDE = {"home_goals": " at home", "away_goals": " away from home"}
_TOTAL_LABELS = {"goals": "{Goals}", "home_goals": "Home {goals}", "away_goals": "Away {goals}"}


def total_sentence(v: View) -> str:
    words = {**v.words, "Goals": v.words["goals"].capitalize()}
    if v.plan.group_by == "round":
        label = _TOTAL_LABELS[v.metric].format(**words)
        if v.plan.teams:
            label = f"{possessive(v.team(0))} {label[0].lower()}{label[1:]}"
        return _per_round(v, v.metric, label, str)
    record = v.records[0] if v.records else {v.metric: 0, "games": 0}
    n, games = record[v.metric], record["games"]
    if games == 0:
        return not_played(v, v.team(0)) if v.plan.teams else nothing_played(v)
    in_games = f"in {counted(games, *_game_noun(v))}"
    if v.plan.teams:
        side = _TEAM_SIDE.get(v.metric, "")
        return f"{v.team(0)} have scored {v.goals(n)}{side} {in_games}{team_scope(v)}."
    scorers = {"home_goals": "Home teams have", "away_goals": "Away teams have"}.get(v.metric)
    if scorers:
        return f"{scorers} scored {v.goals(n)} {in_games} {event_scope(v)}."
    return f"{v.goals(n)} {have(n)} been scored {in_games} {event_scope(v)}."


_AVERAGE_LABELS = {
    "goals_per_game": "{goals} per game",
    "home_goals_per_game": "home {goals} per game",
    "away_goals_per_game": "away {goals} per game",
    "goals_per_team": "{goals} per team",
}


def average_sentence(v: View) -> str:
    if v.plan.group_by == "round":
        label = "Average " + _AVERAGE_LABELS[v.metric].format(**v.words)
        if v.plan.teams:
            label = f"{possessive(v.team(0))} average {v.words['goals']} per game"
        return _per_round(v, v.metric, label, _say_decimal)
    value = v.records[0][v.metric] if v.records else None
    if value is None:
        return not_played(v, v.team(0)) if v.plan.teams else nothing_played(v)
    amount = f"{decimal(value)} {v.words['goals']}"
    if v.plan.teams:
        per = {"home_goals_per_game": "home game", "away_goals_per_game": "away game"}
        game = per.get(v.metric, _game_noun(v)[0])
        return f"{v.team(0)} have scored {amount} per {game} on average{team_scope(v)}."
    if v.metric == "goals_per_team":
        return f"Each team has scored {amount} on average {event_scope(v)}."
    scorers = {"home_goals_per_game": "Home teams", "away_goals_per_game": "Away teams"}
    who = scorers.get(v.metric)
    if who:
        return f"{who} have scored {amount} per game on average {event_scope(v)}."
    return f"There have been {amount} per {_game_noun(v)[0]} on average {event_scope(v)}."


def _say_decimal(value: Any) -> str:
    return "none" if value is None else decimal(value)
