"""The analytics plan: what a question asks, as data over allow-listed words only.

A plan is the single hand-off between whoever reads the question (the deterministic parser,
or an optional language model) and the executor that turns it into a parameterised query.
Nothing in a plan is free text: every field is an enum member, an integer, an ISO date or a
team id of the event, so no string from a question can ever reach SQL.

Intents and their fields:

- ``leader``: the team(s) at one extreme of a team metric; ties are all returned.
  ``order="desc"`` = the most (``points``: "who leads on points"), ``"asc"`` = the least
  ("fewest goals conceded", "bottom of the table" with ``position`` + ``desc``).
  ``position`` is the standings rank (1 = top), so "top of the table" is ``position``/``asc``.
- ``top_n``: the first ``limit`` teams by a team metric in ``order``.
- ``team_value``: one team's value of a team metric (``teams=[id]``).
- ``team_record``: one team's played/won/drawn/lost/for/against/points (``teams=[id]``).
- ``head_to_head``: the final games between two teams (``teams=[a, b]``).
- ``count``: how many final games match ``filters`` (metric ``games``); with ``teams=[id]``
  only that team's games.
- ``total``: a sum over final games: ``goals``, ``home_goals``, ``away_goals``.
- ``average``: ``goals_per_game``, ``home_goals_per_game``, ``away_goals_per_game``,
  ``goals_per_team``; with ``teams=[id]``, ``goals_per_game`` is that team's scored per game.
- ``extreme``: the game(s) with the most/least ``total_goals`` or the biggest ``margin``
  (``order``); with ``teams=[id]`` only that team's games, and ``filters.outcome`` ("win"/
  "loss") for "Lions' biggest win"/"heaviest defeat".
- ``table``: the standings table (``group`` filter optional).
- ``form``: one team's last ``limit`` (default 5) results, newest first.
- ``games``: the games on ``filters.date`` or in ``filters.round`` (any status), or a team's.
- ``filter``: every team whose ``metric`` passes ``filters.threshold`` ({metric, op, value});
  a set answer ("none" said plainly).
- ``compare``: two teams on a metric (``teams=[a, b]``): is a's value more (``order="desc"``) or
  less (``"asc"``) than b's? Yes/No first, then both values.
- ``difference``: how far apart two teams are on a metric (``teams=[a, b]``), or the teams at
  two standings ranks (``filters.ranks=[1, 2]``, -1 = last) on ``points`` or another metric.
- ``split``: one team's metric at home and away, side by side.
- ``share``: the share of final games matching the filters, as a percentage with both counts.
- ``opponents``: who a team beat / drew with / lost to (``filters.outcome``) or has still to
  play (``filters.pending``).
- ``check``: a yes/no question: one team at an extreme (``metric`` + ``order``, as ``leader``)
  or past a threshold (``filters.threshold``); or two teams' result (``filters.outcome``).

``filters.threshold`` ({metric, op, value}) also narrows ``count``/``share`` by a game measure
(``total_goals``, ``margin``). A win rate threshold is in percent.

``group_by`` ("round") splits count/total/average per round; ``None`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

INTENTS = (
    "leader",
    "top_n",
    "team_value",
    "team_record",
    "head_to_head",
    "count",
    "total",
    "average",
    "extreme",
    "table",
    "form",
    "games",
    "filter",
    "compare",
    "difference",
    "split",
    "share",
    "opponents",
    "check",
)

# Per-team aggregates over final games (the columns of a standings row, plus a few).
TEAM_METRICS = (
    "points",
    "played",
    "won",
    "drawn",
    "lost",
    "score_for",
    "score_against",
    "score_diff",
    "clean_sheets",
    "win_rate",
    "position",
)
COUNT_METRICS = ("games",)
TOTAL_METRICS = ("goals", "home_goals", "away_goals")
AVERAGE_METRICS = ("goals_per_game", "home_goals_per_game", "away_goals_per_game", "goals_per_team")
EXTREME_METRICS = ("total_goals", "margin")
GAME_MEASURES = EXTREME_METRICS  # what a threshold on games compares
VALUE_METRICS = tuple(m for m in TEAM_METRICS if m != "position")  # a team's own number
OPS = ("gt", "ge", "lt", "le", "eq")
LAST_RANK = -1  # filters.ranks: the bottom of the table

METRICS_BY_INTENT: dict[str, tuple[str, ...]] = {
    "leader": TEAM_METRICS,
    "top_n": TEAM_METRICS,
    "team_value": TEAM_METRICS,
    "count": COUNT_METRICS,
    "total": TOTAL_METRICS,
    "average": AVERAGE_METRICS,
    "extreme": EXTREME_METRICS,
    "filter": VALUE_METRICS,
    "compare": TEAM_METRICS,
    "difference": VALUE_METRICS,
    "split": VALUE_METRICS,
    "share": COUNT_METRICS,
    "check": TEAM_METRICS,
}
# How many teams each intent names: (fewest, most).
TEAMS_BY_INTENT: dict[str, tuple[int, int]] = {
    "leader": (0, 0),
    "top_n": (0, 0),
    "team_value": (1, 1),
    "team_record": (1, 1),
    "head_to_head": (2, 2),
    "count": (0, 1),
    "total": (0, 1),
    "average": (0, 1),
    "extreme": (0, 1),
    "table": (0, 0),
    "form": (1, 1),
    "games": (0, 2),
    "filter": (0, 0),
    "compare": (2, 2),
    "difference": (0, 2),
    "split": (1, 1),
    "share": (0, 1),
    "opponents": (1, 1),
    "check": (1, 2),
}
ORDERS = ("desc", "asc")
RESULTS = ("draw", "home_win", "away_win", "decided", "goalless")
OUTCOMES = ("win", "draw", "loss")
GROUP_BY = ("round",)
GROUPABLE_INTENTS = ("count", "total", "average")
MAX_LIMIT = 50
MAX_GROUP_LENGTH = 50
MAX_ROUND = 10_000
MAX_VALUE = 100_000


def coherence_problem(
    intent: str, metric: str | None, teams: Sequence[int], group_by: str | None
) -> tuple[str, str] | None:
    """(field, message) for the first rule across fields that the plan breaks, else None.
    The one statement of these rules: the schema below and the parser's fast path use it."""
    allowed = METRICS_BY_INTENT.get(intent)
    if allowed is None and metric is not None:
        return "metric", f"{intent} takes no metric"
    result_check = intent == "check" and len(teams) == 2 and metric is None  # "did A beat B"
    if allowed is not None and metric not in allowed and not result_check:
        return "metric", f"must be one of: {', '.join(allowed)}"
    fewest, most = TEAMS_BY_INTENT[intent]
    if not fewest <= len(teams) <= most:
        return "teams", f"{intent} names {fewest} to {most} teams"
    if len(set(teams)) != len(teams):
        return "teams", "teams must differ"
    if group_by and intent not in GROUPABLE_INTENTS:
        return "group_by", f"{intent} cannot be grouped"
    return None


def filters_problem(
    intent: str, metric: str | None, teams: Sequence[int], filters: dict[str, Any]
) -> tuple[str, str] | None:
    """(field, message) for the new shapes' rules on filters; None when they hold."""
    threshold = filters.get("threshold")
    on = threshold.get("metric") if isinstance(threshold, dict) else None
    if threshold is not None:
        allowed_on = {
            "filter": (metric,),
            "check": (metric,),
            "count": GAME_MEASURES,
            "share": GAME_MEASURES,
        }.get(intent, ())
        if on not in allowed_on:
            return "filters", f"{intent} takes no threshold on {on}"
    if intent == "filter" and threshold is None:
        return "filters", "filter needs a threshold"
    ranks = filters.get("ranks")
    if ranks is not None and 0 in ranks:
        return "filters", "ranks count from 1 (-1 = last)"
    if ranks is not None and (intent != "difference" or teams):
        return "filters", "ranks are for a difference without teams"
    if intent == "difference" and not teams and ranks is None:
        return "filters", "a difference needs two teams or two ranks"
    if intent == "difference" and teams and len(teams) != 2:
        return "teams", "a difference names two teams"
    if filters.get("pending") and intent != "opponents":
        return "filters", "pending is for opponents"
    if intent == "opponents" and not (filters.get("pending") or filters.get("outcome")):
        return "filters", "opponents needs an outcome or pending"
    if intent == "check":
        if len(teams) == 2 and (metric is not None or not filters.get("outcome")):
            return "filters", "a check of two teams is about their result (outcome)"
        if len(teams) == 1 and metric is None:
            return "metric", "a check of one team needs a metric"
    return None


class ThresholdSchema(Schema):
    metric = fields.String(required=True, validate=validate.OneOf(TEAM_METRICS + GAME_MEASURES))
    op = fields.String(required=True, validate=validate.OneOf(OPS))
    value = fields.Integer(
        required=True, strict=True, validate=validate.Range(-MAX_VALUE, MAX_VALUE)
    )


class PlanFiltersSchema(Schema):
    result = fields.String(validate=validate.OneOf(RESULTS), allow_none=True)
    outcome = fields.String(validate=validate.OneOf(OUTCOMES), allow_none=True)
    date = fields.Date(allow_none=True)
    round = fields.Integer(strict=True, validate=validate.Range(1, MAX_ROUND), allow_none=True)
    group = fields.String(validate=validate.Length(1, MAX_GROUP_LENGTH), allow_none=True)
    home = fields.Boolean(allow_none=True)  # team-scoped: only home (True) / away (False) games
    threshold = fields.Nested(ThresholdSchema, allow_none=True)
    ranks = fields.List(
        fields.Integer(strict=True, validate=validate.Range(LAST_RANK, MAX_LIMIT)),
        validate=validate.Length(2, 2),
        allow_none=True,
    )
    pending = fields.Boolean(allow_none=True)  # opponents: games not yet played


class PlanSchema(Schema):
    """The plan schema. A language model's proposal is accepted only if it loads here."""

    intent = fields.String(required=True, validate=validate.OneOf(INTENTS))
    event_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    metric = fields.String(allow_none=True, load_default=None)
    teams = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1)),
        load_default=list,
        validate=validate.Length(max=2),
    )
    filters = fields.Nested(PlanFiltersSchema, load_default=dict)
    group_by = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(GROUP_BY))
    order = fields.String(load_default="desc", validate=validate.OneOf(ORDERS))
    limit = fields.Integer(
        strict=True, allow_none=True, load_default=None, validate=validate.Range(1, MAX_LIMIT)
    )

    @validates_schema
    def _coherent(self, data: dict[str, Any], **_kwargs: Any) -> None:
        problem = coherence_problem(
            data["intent"], data.get("metric"), data.get("teams", []), data.get("group_by")
        )
        if problem is None:
            problem = filters_problem(
                data["intent"], data.get("metric"), data.get("teams", []), data.get("filters", {})
            )
        if problem is not None:
            field_name, message = problem
            raise ValidationError(message, field_name)


@dataclass(frozen=True)
class Plan:
    intent: str
    event_id: int
    metric: str | None = None
    teams: tuple[int, ...] = ()
    filters: dict[str, Any] = field(default_factory=dict)
    group_by: str | None = None
    order: str = "desc"
    limit: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; the API returns it as `plan`, the cache keys on it."""
        filters = {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in sorted(self.filters.items())
            if v is not None
        }
        return {
            "intent": self.intent,
            "event_id": self.event_id,
            "metric": self.metric,
            "teams": list(self.teams),
            "filters": filters,
            "group_by": self.group_by,
            "order": self.order,
            "limit": self.limit,
        }


class InvalidPlan(ValueError):
    def __init__(self, messages: dict[str, Any]) -> None:
        super().__init__(str(messages))
        self.messages = messages


def plan_from_dict(data: Any) -> Plan:
    """Validate untrusted plan data (a language model's reply, a test's YAML) into a Plan."""
    if not isinstance(data, dict):
        raise InvalidPlan({"_schema": ["a plan is a JSON object"]})
    try:
        loaded = PlanSchema().load(data)
    except ValidationError as exc:
        raise InvalidPlan(exc.normalized_messages()) from exc
    filters = {k: v for k, v in loaded["filters"].items() if v is not None}
    return Plan(
        intent=loaded["intent"],
        event_id=loaded["event_id"],
        metric=loaded["metric"],
        teams=tuple(loaded["teams"]),
        filters=filters,
        group_by=loaded["group_by"],
        order=loaded["order"],
        limit=loaded["limit"],
    )


def make_plan(intent: str, event_id: int, **fields_: Any) -> Plan:
    """Build a plan in code and validate it (the parser's constructor)."""
    raw = {"intent": intent, "event_id": event_id, **fields_}
    if "teams" in raw:
        raw["teams"] = list(raw["teams"])
    if "filters" in raw:
        raw["filters"] = {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in raw["filters"].items()
            if v is not None
        }
    if "teams" in raw:
        raw["teams"] = list(raw["teams"])
    return plan_from_dict(raw)
