"""A plan and its result rows → one plain sentence that states the answer (pure).

The sentence names the team(s) and the number(s) asked for, ties as ties, and no team that is
not part of the answer: a leader sentence names only the leaders, a count names no team at all.
The supporting data stays in `columns`/`rows`. Rows are read by column name, as the executor
(workers/analytics/executor.py) returns them.

`team_names` ({team id: name}) lets a sentence name the plan's teams when the rows do not (no
head-to-head games yet, a team's count). `metric_words` may rename the scoring unit for other
sports: {"goal": "run", "goals": "runs"}.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from models.domain.analytics.plan import Plan

DASH = "\u2013"  # an en dash: scores read "3\u20131"
MAX_LISTED_GAMES = 10
DEFAULT_WORDS = {"goal": "goal", "goals": "goals"}


def answer_sentence(
    plan: Plan,
    columns: list[str],
    rows: list[list[Any]],
    *,
    event_name: str,
    metric_words: Mapping[str, str] | None = None,
    team_names: Mapping[int, str] | None = None,
) -> str:
    view = _View(
        plan=plan,
        records=[dict(zip(columns, row, strict=True)) for row in rows],
        event=event_name,
        words={**DEFAULT_WORDS, **(metric_words or {})},
        names=dict(team_names or {}),
    )
    return _SENTENCES[plan.intent](view)


@dataclass(frozen=True)
class _View:
    plan: Plan
    records: list[dict[str, Any]]
    event: str
    words: dict[str, str]
    names: dict[int, str]

    @property
    def metric(self) -> str:
        return self.plan.metric or ""

    @property
    def desc(self) -> bool:
        return self.plan.order == "desc"

    @property
    def filters(self) -> dict[str, Any]:
        return self.plan.filters

    def team(self, index: int = 0, fallback: str | None = None) -> str:
        """The name of the plan's index-th team (from team_names, else `fallback`)."""
        team_id = self.plan.teams[index] if len(self.plan.teams) > index else None
        name = self.names.get(team_id) if team_id is not None else None
        return name or fallback or "the team"

    def goals(self, n: Any) -> str:
        return _count(n, self.words["goal"], self.words["goals"])


# --- wording helpers ------------------------------------------------------------------------


def _join(items: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _count(n: Any, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _have(n: Any) -> str:
    return "has" if n == 1 else "have"


def _percent(value: float) -> str:
    return f"{round(value * 100, 1):g}%"


def _decimal(value: float) -> str:
    return f"{value:.2f}"


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _value(metric: str, value: Any) -> str:
    if value is None:
        return "not played"
    if metric == "win_rate":
        return _percent(value)
    return _signed(value) if metric == "score_diff" else str(value)


def _where(v: _View) -> str:
    """'in Summer Cup', 'in round 3 of Summer Cup', 'on 2026-05-02 in Summer Cup'."""
    f = v.filters
    pieces = []
    if f.get("date") is not None:
        pieces.append(f"on {_iso(f['date'])}")
    if f.get("round") is not None:
        pieces.append(f"in round {f['round']}")
    if f.get("group") is not None:
        pieces.append(f"in group {f['group']}")
    if pieces and pieces[-1].startswith("in "):
        return f"{' '.join(pieces)} of {v.event}"
    return " ".join([*pieces, f"in {v.event}"])


def _team_scope(v: _View) -> str:
    """' at home', ' away from home', ' in round 3', ' on 2026-05-02' (for team sentences)."""
    f = v.filters
    pieces = []
    if f.get("home") is not None:
        pieces.append("at home" if f["home"] else "away from home")
    if f.get("round") is not None:
        pieces.append(f"in round {f['round']}")
    if f.get("date") is not None:
        pieces.append(f"on {_iso(f['date'])}")
    return "".join(f" {piece}" for piece in pieces)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _nothing_played(v: _View) -> str:
    return f"No games have been played yet {_where(v)}."


def _not_played(v: _View, name: str) -> str:
    return f"{name} have not played a game yet{_team_scope(v)}."


# --- team metrics ---------------------------------------------------------------------------

# (metric, order) → how the extreme is said: "Lions have the most wins: 5."
_EXTREME_PHRASES: dict[tuple[str, str], str] = {
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


def _phrase(v: _View, metric: str) -> str:
    return _EXTREME_PHRASES[(metric, v.plan.order)].format(**v.words)


def _leader(v: _View) -> str:
    if not v.records:
        return _nothing_played(v)
    if v.metric == "position":
        return _table_ends(v, v.records, bottom=v.desc)
    names = [r["team"] for r in v.records]
    value = v.records[0][v.metric]
    each = " each" if len(names) > 1 else ""
    scope = _team_scope(v)
    if v.metric == "points" and v.desc:
        return f"{_join(names)} lead{scope} with {_count(value, 'point')}{each}."
    return f"{_join(names)} {_phrase(v, v.metric)}{scope}: {_value(v.metric, value)}{each}."


def _top_n(v: _View) -> str:
    if not v.records:
        return _nothing_played(v)
    n = len(v.records)
    if v.metric == "position":
        end = "bottom" if v.desc else "top"
        items = [f"{r['team']} ({_placing(r)}, {_count(r['points'], 'point')})" for r in v.records]
        return f"The {end} {n} of the table {_where(v)}: {_join(items)}."
    items = [f"{r['team']} ({_value(v.metric, r[v.metric])})" for r in v.records]
    phrase = _phrase(v, v.metric)  # "have the most wins" → "with the most wins"
    if phrase.startswith("have the "):
        which = f"with {phrase[5:]}"
    else:  # "the team that has scored", "the 3 teams that have scored"
        which = f"that {'has' if n == 1 else 'have'} {phrase[5:]}"
    teams = "The team" if n == 1 else f"The {n} teams"
    return f"{teams} {which}{_team_scope(v)}: {_join(items)}."


def _placing(record: Mapping[str, Any]) -> str:
    group = record.get("group")
    place = _ordinal(record["position"])
    return f"{place} in group {group}" if group is not None else place


_TEAM_VALUE: dict[str, Callable[[_View, Any], str]] = {
    "points": lambda v, n: f"have {_count(n, 'point')}",
    "played": lambda v, n: f"have played {_count(n, 'game')}",
    "won": lambda v, n: f"have won {_count(n, 'game')}",
    "drawn": lambda v, n: f"have drawn {_count(n, 'game')}",
    "lost": lambda v, n: f"have lost {_count(n, 'game')}",
    "score_for": lambda v, n: f"have scored {v.goals(n)}",
    "score_against": lambda v, n: f"have conceded {v.goals(n)}",
    "score_diff": lambda v, n: f"have a {v.words['goal']} difference of {_signed(n)}",
    "clean_sheets": lambda v, n: f"have kept {_count(n, 'clean sheet')}",
    "win_rate": lambda v, n: f"have won {_percent(n)} of their games",
}


def _team_value(v: _View) -> str:
    if not v.records:
        return f"There is no such team {_where(v)}."
    record = v.records[0]
    name = record["team"]
    if v.metric == "position":
        where = f"group {record['group']}" if record.get("group") is not None else v.event
        points = _count(record["points"], "point")
        return f"{name} are {_ordinal(record['position'])} in {where} with {points}."
    value = record[v.metric]
    if value is None:  # a win rate without games
        return _not_played(v, name)
    return f"{name} {_TEAM_VALUE[v.metric](v, value)}{_team_scope(v)}."


def _team_record(v: _View) -> str:
    if not v.records:
        return f"There is no such team {_where(v)}."
    r = v.records[0]
    if r["played"] == 0:
        return _not_played(v, r["team"])
    return (
        f"{_possessive(r['team'])} record{_team_scope(v)}: played {r['played']}, "
        f"won {r['won']}, drawn {r['drawn']}, lost {r['lost']}, {_count(r['points'], 'point')}."
    )


# --- the table ------------------------------------------------------------------------------


def _table(v: _View) -> str:
    if not v.records:
        return f"{v.event} has no teams yet."
    if all(r["played"] == 0 for r in v.records):
        return _nothing_played(v)
    return _table_ends(v, v.records, bottom=False)


def _table_ends(v: _View, records: list[dict[str, Any]], *, bottom: bool) -> str:
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
    return f"{_join(clauses)}."


def _table_end_clause(v: _View, group: Any, teams: list[dict[str, Any]], bottom: bool) -> str:
    table = f"group {group}" if group is not None else f"the {v.event} table"
    names = _join([r["team"] for r in teams])
    points = _count(teams[0]["points"], "point")
    end = "bottom" if bottom else "top"
    if len(teams) > 1:
        return f"{names} are joint {end} of {table} with {points} each"
    return f"{names} are {end} of {table} with {points}"


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


def _head_to_head(v: _View) -> str:
    if not v.records:
        known = [v.names.get(team_id) for team_id in v.plan.teams]
        pair = f"{known[0]} and {known[1]}" if all(known) else "These two teams"
        return f"{pair} have not played each other yet {_where(v)}."
    first = v.team(0, v.records[0]["home_team"])
    second = v.team(1, v.records[0]["away_team"])
    if len(v.records) == 1:
        return f"{_result(v.records[0], first)}."
    pair = f"{first} and {second}"
    if len(v.records) > MAX_LISTED_GAMES:
        return f"{pair} have met {len(v.records)} times: {_tally(v.records, first, second)}."
    results = [_result(r, first) for r in v.records]
    return f"{pair} have met {len(v.records)} times: {_join(results)}."


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
    return f"{first} won {wins[first]}, {second} won {wins[second]}, {_count(draws, 'draw')}"


def _extreme(v: _View) -> str:
    if not v.records:
        return _no_extreme(v)
    title = _extreme_title(v)
    title = f"{_possessive(v.team(0))} {title}" if v.plan.teams else f"The {title}"
    value = v.records[0][v.metric]
    if v.metric == "total_goals":
        games = [_fixture(r, with_date=True) for r in v.records]
        measure = f"with {v.goals(value)}"
    else:
        games = [_result(r, v.team(0, None) if v.plan.teams else None) for r in v.records]
        measure = f"by {v.goals(value)}" if value else ""  # a margin of 0 is a draw
    if len(games) == 1:
        return f"{title}: {games[0]}{f', {measure}' if measure else ''}."
    return f"{title}s{f', {measure} each' if measure else ''}: {_join(games)}."


def _extreme_title(v: _View) -> str:
    outcome = v.filters.get("outcome")
    if v.metric == "total_goals":
        return "highest-scoring game" if v.desc else "lowest-scoring game"
    if outcome == "loss":
        return "heaviest defeat" if v.desc else "narrowest defeat"
    if outcome == "win" or v.desc:
        return "biggest win" if v.desc else "narrowest win"
    return "closest game"


def _no_extreme(v: _View) -> str:
    if not v.plan.teams:
        return _nothing_played(v)
    name = v.team(0)
    outcome = v.filters.get("outcome")
    verbs = {"win": "won", "loss": "lost", "draw": "drawn"}
    if outcome in verbs:
        return f"{name} have not {verbs[outcome]} a game yet{_team_scope(v)}."
    return _not_played(v, name)


def _form(v: _View) -> str:
    name = v.team(0, _common_team(v.records))
    if not v.records:
        return _not_played(v, name)
    letters = [r["result"] for r in v.records]
    counts = zip("WDL", ("win", "draw", "defeat"), strict=True)
    tally = [_count(letters.count(k), word) for k, word in counts if k in letters]
    if len(letters) == 1:
        return f"{_possessive(name)} last result{_team_scope(v)}: {letters[0]}."
    return (
        f"{_possessive(name)} last {len(letters)} results{_team_scope(v)}, newest first: "
        f"{', '.join(letters)} ({_join(tally)})."
    )


def _common_team(records: list[dict[str, Any]]) -> str | None:
    """The team in every game (the one whose form it is), when the rows say so."""
    if len(records) < 2:
        return None
    common = {records[0]["home_team"], records[0]["away_team"]}
    for r in records[1:]:
        common &= {r["home_team"], r["away_team"]}
    return next(iter(common)) if len(common) == 1 else None


def _games(v: _View) -> str:
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
        return f"There are {n} games {where}: {_join(counts)}."
    with_date = v.filters.get("date") is None
    games = [_fixture(r, with_date) for r in v.records]
    return f"There {is_are} {_count(n, 'game')} {where}: {_join(games)}."


def _games_where(v: _View) -> str:
    if len(v.plan.teams) == 2:
        return f"between {v.team(0)} and {v.team(1)}{_team_scope(v)} {_where(v)}"
    if v.plan.teams:
        return f"for {v.team(0)}{_team_scope(v)} {_where(v)}"
    return _where(v)


# --- counts, totals, averages ---------------------------------------------------------------

_RESULT_NOUNS = {
    "draw": ("draw", "draws"),
    "home_win": ("home win", "home wins"),
    "away_win": ("away win", "away wins"),
    "decided": ("decided game", "decided games"),
    "goalless": ("goalless game", "goalless games"),
}
_OUTCOME_VERBS = {"win": "won", "draw": "drawn", "loss": "lost"}


def _result_filter(v: _View) -> str | None:
    """The result the games must have; a team-less win/loss is a decided game."""
    result = v.filters.get("result")
    outcome = v.filters.get("outcome")
    if result is None and outcome is not None and not v.plan.teams:
        return "draw" if outcome == "draw" else "decided"
    return result  # type: ignore[no-any-return]


def _count_sentence(v: _View) -> str:
    if v.plan.group_by == "round":
        return _per_round(v, "games", _count_label(v), str)
    n = v.records[0]["games"] if v.records else 0
    result = _result_filter(v)
    outcome = str(v.filters.get("outcome"))
    if v.plan.teams:
        name = v.team(0)
        if result is not None:
            noun = _count(n, *_RESULT_NOUNS[result])
            return f"There {_have(n)} been {noun} in {_possessive(name)} games{_team_scope(v)}."
        verb = _OUTCOME_VERBS.get(outcome, "played")
        return f"{name} have {verb} {_count(n, 'game')}{_team_scope(v)}."
    if result is not None:
        return f"There {_have(n)} been {_count(n, *_RESULT_NOUNS[result])} {_where(v)}."
    if n == 0:
        return _nothing_played(v)
    return f"{_count(n, 'game')} {_have(n)} been played {_where(v)}."


def _count_label(v: _View) -> str:
    result = _result_filter(v)
    if v.plan.teams:
        outcome = str(v.filters.get("outcome"))
        kind = {"win": "wins", "draw": "draws", "loss": "defeats"}.get(outcome, "games")
        if result is not None:
            kind = _RESULT_NOUNS[result][1]
        return f"{_possessive(v.team(0))} {kind}"
    return _RESULT_NOUNS[result][1].capitalize() if result else "Games"


def _per_round(v: _View, column: str, label: str, say: Callable[[Any], str]) -> str:
    """'Goals by round in Summer Cup: 4 in round 1, 8 in round 2 and 3 in round 3.'"""
    if not v.records:
        return _nothing_played(v)
    items = [
        f"{say(r[column])} in round {r['round']}"
        if r["round"] is not None
        else say(r[column]) + " without a round"
        for r in v.records
    ]
    return f"{label} by round {_where(v)}: {_join(items)}."


def _game_noun(v: _View) -> tuple[str, str]:
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


def _total(v: _View) -> str:
    words = {**v.words, "Goals": v.words["goals"].capitalize()}
    if v.plan.group_by == "round":
        label = _TOTAL_LABELS[v.metric].format(**words)
        if v.plan.teams:
            label = f"{_possessive(v.team(0))} {label[0].lower()}{label[1:]}"
        return _per_round(v, v.metric, label, str)
    record = v.records[0] if v.records else {v.metric: 0, "games": 0}
    n, games = record[v.metric], record["games"]
    if games == 0:
        return _not_played(v, v.team(0)) if v.plan.teams else _nothing_played(v)
    in_games = f"in {_count(games, *_game_noun(v))}"
    if v.plan.teams:
        side = _TEAM_SIDE.get(v.metric, "")
        return f"{v.team(0)} have scored {v.goals(n)}{side} {in_games}{_team_scope(v)}."
    scorers = {"home_goals": "Home teams have", "away_goals": "Away teams have"}.get(v.metric)
    if scorers:
        return f"{scorers} scored {v.goals(n)} {in_games} {_where(v)}."
    return f"{v.goals(n)} {_have(n)} been scored {in_games} {_where(v)}."


_AVERAGE_LABELS = {
    "goals_per_game": "{goals} per game",
    "home_goals_per_game": "home {goals} per game",
    "away_goals_per_game": "away {goals} per game",
    "goals_per_team": "{goals} per team",
}


def _average(v: _View) -> str:
    if v.plan.group_by == "round":
        label = "Average " + _AVERAGE_LABELS[v.metric].format(**v.words)
        if v.plan.teams:
            label = f"{_possessive(v.team(0))} average {v.words['goals']} per game"
        return _per_round(v, v.metric, label, _say_decimal)
    value = v.records[0][v.metric] if v.records else None
    if value is None:
        return _not_played(v, v.team(0)) if v.plan.teams else _nothing_played(v)
    amount = f"{_decimal(value)} {v.words['goals']}"
    if v.plan.teams:
        per = {"home_goals_per_game": "home game", "away_goals_per_game": "away game"}
        game = per.get(v.metric, _game_noun(v)[0])
        return f"{v.team(0)} have scored {amount} per {game} on average{_team_scope(v)}."
    if v.metric == "goals_per_team":
        return f"Each team has scored {amount} on average {_where(v)}."
    scorers = {"home_goals_per_game": "Home teams", "away_goals_per_game": "Away teams"}
    who = scorers.get(v.metric)
    if who:
        return f"{who} have scored {amount} per game on average {_where(v)}."
    return f"There have been {amount} per {_game_noun(v)[0]} on average {_where(v)}."


def _say_decimal(value: Any) -> str:
    return "none" if value is None else _decimal(value)


_SENTENCES: dict[str, Callable[[_View], str]] = {
    "leader": _leader,
    "top_n": _top_n,
    "team_value": _team_value,
    "team_record": _team_record,
    "head_to_head": _head_to_head,
    "count": _count_sentence,
    "total": _total,
    "average": _average,
    "extreme": _extreme,
    "table": _table,
    "form": _form,
    "games": _games,
}
