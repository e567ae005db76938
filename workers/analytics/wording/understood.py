"""The plan said back as one sentence (`understood_as`): what was answered, so a reader can see
at a glance whether the question was read as meant ("Teams with draws ≥ 3, in Summer Cup")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from workers.analytics.plan import LAST_RANK, Plan
from workers.analytics.wording.phrases import (
    OP_SIGNS,
    RESULT_PHRASES,
    metric_noun,
    ordinal,
    possessive,
    threshold_value,
)


def understood_as(plan: Plan, *, event_name: str, team_names: Mapping[int, str]) -> str:
    names = [team_names.get(t, f"team {t}") for t in plan.teams]
    head = _HEADS[plan.intent](plan, names)
    asked = head.endswith("?")  # a yes/no question is said back as one
    sentence = head.removesuffix("?")
    for condition in [*_conditions(plan), f"in {event_name}"]:
        joined = condition.startswith(("that ", "with ")) or asked
        sentence += f" {condition}" if joined else f", {condition}"
    return sentence + ("?" if asked else "")


def _most(plan: Plan) -> str:
    if plan.metric == "position":
        return "top of the table" if plan.order == "asc" else "bottom of the table"
    return f"{'most' if plan.order == 'desc' else 'fewest'} {metric_noun(plan.metric or '')}"


def _more(plan: Plan) -> str:
    if plan.metric == "position":
        return "higher in the table" if plan.order == "asc" else "lower in the table"
    return f"{'more' if plan.order == 'desc' else 'fewer'} {metric_noun(plan.metric or '')}"


def _threshold(plan: Plan) -> str:
    rule = plan.filters["threshold"]
    noun = metric_noun(rule["metric"])
    return f"{noun} {OP_SIGNS[rule['op']]} {threshold_value(rule['metric'], rule['value'])}"


def _rank(rank: int) -> str:
    return "last" if rank == LAST_RANK else ordinal(rank)


def _difference(plan: Plan, names: list[str]) -> str:
    noun = metric_noun(plan.metric or "")
    if names:
        return f"Difference in {noun} between {names[0]} and {names[1]}"
    first, second = plan.filters["ranks"]
    return f"Difference in {noun} between {_rank(first)} and {_rank(second)} place"


def _check(plan: Plan, names: list[str]) -> str:
    if len(names) == 2:
        verb = {"win": "beat", "draw": "draw with", "loss": "lose to"}[plan.filters["outcome"]]
        return f"Did {names[0]} {verb} {names[1]}?"
    if "threshold" in plan.filters:
        return f"{names[0]}: {_threshold(plan)}?"
    if plan.metric == "position":
        return f"Are {names[0]} {_most(plan)}?"
    return f"Do {names[0]} have the {_most(plan)}?"


def _opponents(plan: Plan, names: list[str]) -> str:
    if plan.filters.get("pending"):
        return f"Teams {names[0]} have still to play"
    verb = {"win": "beat", "draw": "drew with", "loss": "lost to"}[plan.filters["outcome"]]
    return f"Teams {names[0]} {verb}"


_HEADS: dict[str, Callable[[Plan, list[str]], str]] = {
    "leader": lambda p, _n: f"The team(s) with the {_most(p)}",
    "top_n": lambda p, _n: f"The {p.limit or 5} teams with the {_most(p)}",
    "team_value": lambda p, n: f"{possessive(n[0])} {metric_noun(p.metric or '')}",
    "team_record": lambda _p, n: f"{possessive(n[0])} record",
    "head_to_head": lambda _p, n: f"Results between {n[0]} and {n[1]}",
    "count": lambda p, n: "Number of games" + (f" of {n[0]}" if n else ""),
    "total": lambda p, n: f"Total {p.metric}".replace("_", " ") + (f" of {n[0]}" if n else ""),
    "average": lambda p, n: f"Average {p.metric}".replace("_", " ") + (f" of {n[0]}" if n else ""),
    "extreme": lambda p, n: (
        f"The game(s) with the {'most' if p.order == 'desc' else 'least'} "
        f"{metric_noun(p.metric or '')}" + (f" involving {n[0]}" if n else "")
    ),
    "table": lambda _p, _n: "The table",
    "form": lambda p, n: f"{possessive(n[0])} last {p.limit or 5} results",
    "games": lambda _p, n: "Games" + (f" of {' and '.join(n)}" if n else ""),
    "filter": lambda p, _n: f"Teams with {_threshold(p)}",
    "compare": lambda p, n: f"{n[0]}: {_more(p)} than {n[1]}?",
    "difference": _difference,
    "split": lambda p, n: f"{possessive(n[0])} {metric_noun(p.metric or '')} at home and away",
    "share": lambda p, n: "Share of games" + (f" of {n[0]}" if n else ""),
    "opponents": _opponents,
    "check": _check,
}


def _conditions(plan: Plan) -> list[str]:
    f = plan.filters
    said: list[str] = []
    if f.get("result") is not None:
        said.append(f"that {RESULT_PHRASES[f['result']]}")
    if f.get("outcome") is not None and plan.intent not in ("opponents", "check"):
        said.append(f"{f['outcome']}s only")
    if "threshold" in f and plan.intent not in ("filter", "check"):
        said.append(f"with {_threshold(plan)}")
    if f.get("home") is not None:
        said.append("at home" if f["home"] else "away")
    if f.get("round") is not None:
        said.append(f"in round {f['round']}")
    if f.get("date") is not None:
        said.append(f"on {_iso(f['date'])}")
    if f.get("group") is not None:
        said.append(f"in group {f['group']}")
    if plan.group_by == "round":
        said.append("per round")
    return said


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
