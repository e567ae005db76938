"""What every answer sentence is made of: the view of one result and the wording helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from workers.analytics.plan import Plan

DASH = "\u2013"  # an en dash: scores read "3\u20131"
MAX_LISTED_GAMES = 10
DEFAULT_WORDS = {"goal": "goal", "goals": "goals"}


@dataclass(frozen=True)
class View:
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
        return counted(n, self.words["goal"], self.words["goals"])


# --- wording helpers ------------------------------------------------------------------------


def join_names(items: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def counted(n: Any, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def have(n: Any) -> str:
    return "has" if n == 1 else "have"


def percent(value: float) -> str:
    return f"{round(value * 100, 1):g}%"


def decimal(value: float) -> str:
    return f"{value:.2f}"


def signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def metric_value(metric: str, value: Any) -> str:
    if value is None:
        return "not played"
    if metric == "win_rate":
        return percent(value)
    return signed(value) if metric == "score_diff" else str(value)


def event_scope(v: View) -> str:
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


def team_scope(v: View) -> str:
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


def nothing_played(v: View) -> str:
    return f"No games have been played yet {event_scope(v)}."


def not_played(v: View, name: str) -> str:
    return f"{name} have not played a game yet{team_scope(v)}."


# --- thresholds and conditions (the newer plan shapes) --------------------------------------

OP_WORDS = {
    "gt": "more than",
    "ge": "at least",
    "lt": "fewer than",
    "le": "at most",
    "eq": "exactly",
}
OP_SIGNS = {"gt": ">", "ge": "\u2265", "lt": "<", "le": "\u2264", "eq": "="}
METRIC_NOUNS = {
    "points": "points",
    "played": "games played",
    "won": "wins",
    "drawn": "draws",
    "lost": "losses",
    "score_for": "{goals} scored",
    "score_against": "{goals} conceded",
    "score_diff": "{goal} difference",
    "clean_sheets": "clean sheets",
    "win_rate": "win rate",
    "position": "position",
    "total_goals": "{goals} in the game",
    "margin": "winning margin",
}
RESULT_PHRASES = {
    "draw": "ended in a draw",
    "home_win": "were home wins",
    "away_win": "were away wins",
    "decided": "had a winner",
    "goalless": "were goalless",
}


# One of a column, after a count of 1 ("exactly 1 win", "fewer than 1 clean sheet").
_ONE_NOUNS = {
    "points": "point",
    "played": "game played",
    "won": "win",
    "drawn": "draw",
    "lost": "loss",
    "score_for": "{goal} scored",
    "score_against": "{goal} conceded",
    "clean_sheets": "clean sheet",
}


def metric_noun(metric: str, words: dict[str, str] | None = None, count: Any = None) -> str:
    nouns = _ONE_NOUNS if count == 1 and metric in _ONE_NOUNS else METRIC_NOUNS
    return nouns.get(metric, metric).format(**(words or DEFAULT_WORDS))


def threshold_value(metric: str, value: Any) -> str:
    return f"{value}%" if metric == "win_rate" else str(value)


def game_condition(v: View) -> str | None:
    """What the counted games had: 'had at least 5 goals', 'were won by exactly 1 goal'."""
    rule = v.filters.get("threshold")
    pieces = []
    if v.filters.get("result") is not None:
        pieces.append(RESULT_PHRASES[v.filters["result"]])
    if v.plan.teams and v.filters.get("outcome") is not None:
        verb = {"win": "were wins", "draw": "were draws", "loss": "were defeats"}
        pieces.append(f"{verb[v.filters['outcome']]} for {v.team(0)}")
    if v.plan.teams and v.filters.get("home") is not None:
        pieces.append("were at home" if v.filters["home"] else "were away")
    if rule is not None and rule["metric"] in ("total_goals", "margin"):
        bound = counted(rule["value"], v.words["goal"], v.words["goals"])
        said = f"{OP_WORDS[rule['op']]} {bound}"
        pieces.append(f"had {said}" if rule["metric"] == "total_goals" else f"were won by {said}")
    return join_names(pieces) if pieces else None
