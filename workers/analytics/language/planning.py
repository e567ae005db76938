"""What every rule of the parser builds plans with: the metric a question names, its filters,
and the plan constructor that holds each plan to the schema's rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workers.analytics.language import vocabulary as v
from workers.analytics.language.reading import NoPlan, Reading
from workers.analytics.plan import (
    MAX_GROUP_LENGTH,
    MAX_LIMIT,
    MAX_ROUND,
    OUTCOMES,
    RESULTS,
    Plan,
    coherence_problem,
    filters_problem,
)

# Metrics where a smaller value is the better one ("best defence" = fewest conceded).
LOWER_IS_BETTER = frozenset({"lost", "score_against", "position"})


def team_metric(r: Reading) -> str | None:
    """The standings column the question is about, most specific wording first."""
    if r.has(v.RATE) or (r.has(v.PERCENT) and r.has(v.WIN)):
        return "win_rate"
    if r.has(v.CLEAN):
        return "clean_sheets"
    if r.has(v.DIFF):
        return "score_diff"
    if r.has(v.AGAINST, v.DEFENCE):
        return "score_against"
    if r.has(v.FOR) or (r.has(v.POINTS) and r.has(v.SCORED)):
        return "score_for"
    if r.has(v.POINTS):
        return "points"
    if r.has(v.GOALS, v.SCORED, v.HIGHSCORING, v.LOWSCORING):
        return "score_for"
    for tag, metric in ((v.WIN, "won"), (v.DRAW, "drawn"), (v.LOSS, "lost")):
        if r.has(tag):
            return metric
    if r.has(v.PLAYED):
        return "played"
    if r.has(v.POSITION, v.TABLE, v.TOP, v.BOTTOM, v.LEAD):
        return "position"
    return None


def filters_of(r: Reading, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"date": r.date, "round": r.round, "group": r.group}
    found.update(extra)
    return {key: value for key, value in found.items() if value is not None}


def make(
    r: Reading,
    intent: str,
    *,
    metric: str | None = None,
    teams: Sequence[int] = (),
    filters: dict[str, Any] | None = None,
    group_by: str | None = None,
    order: str = "desc",
    limit: int | None = None,
) -> Plan:
    plan = Plan(intent, r.event.id, metric, tuple(teams), filters or {}, group_by, order, limit)
    problem = plan_problem(plan)
    if problem:
        raise NoPlan(f"That question does not make a valid {intent} query ({problem}).")
    return plan


def plan_problem(plan: Plan) -> str | None:
    """The plan schema's rules, checked directly: PlanSchema.load costs ~0.1 ms a question.

    The unit tests hold every plan the parser makes to ``plan_from_dict`` as well.
    """
    coherent = coherence_problem(plan.intent, plan.metric, plan.teams, plan.group_by)
    if coherent is not None:
        return f"metric {plan.metric}" if coherent[0] == "metric" else coherent[0]
    shaped = filters_problem(plan.intent, plan.metric, plan.teams, plan.filters)
    if shaped is not None:
        return shaped[0]
    if plan.limit is not None and not 1 <= plan.limit <= MAX_LIMIT:
        return "limit"
    filters = plan.filters
    if filters.get("result", RESULTS[0]) not in RESULTS:
        return "result"
    if filters.get("outcome", OUTCOMES[0]) not in OUTCOMES:
        return "outcome"
    if not 1 <= filters.get("round", 1) <= MAX_ROUND:
        return "round"
    if not 1 <= len(filters.get("group", "A")) <= MAX_GROUP_LENGTH:
        return "group"
    return None


def direction(r: Reading, metric: str) -> str:
    """desc/asc for the first superlative; "best"/"top" depend on which way is better."""
    better = "asc" if metric in LOWER_IS_BETTER else "desc"
    worse = "desc" if better == "asc" else "asc"
    # A defence is ranked like a position: its "top" is its best.
    rank_like = metric == "position" or r.has(v.DEFENCE)
    for _word, tags in r.terms:
        if v.BEST in tags or (rank_like and tags & _UP):
            return better
        if v.WORST in tags or (rank_like and tags & _DOWN):
            return worse
        if tags & _UP:
            return "desc"
        if tags & _DOWN:
            return "asc"
    return better


_UP = frozenset({v.MOST, v.BIG, v.TOP, v.LEAD})
_DOWN = frozenset({v.LEAST, v.SMALL, v.BOTTOM, v.LAST})


def game_result(r: Reading) -> str | None:
    """The filters.result a count over all games asks for."""
    if r.has(v.GOALLESS):
        return "goalless"
    if r.has(v.DECIDED) or (r.has(v.DRAW) and r.has(v.NEGATION)):
        return "decided"
    if r.has(v.DRAW, v.SCORE_DRAW):
        return "draw"
    if r.has(v.WIN, v.LOSS):
        if r.home is None:
            return "decided"
        home_won = r.home == r.has(v.WIN)
        return "home_win" if home_won else "away_win"
    return None
