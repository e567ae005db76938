"""The metric names the dashboards (deploy/grafana/dashboards/) and the Prometheus rules
(deploy/prometheus/rules/) query, read from their PromQL: what tests/deploy/test_prometheus.py
and tests/e2e/test_dashboard_metrics.py check against the code and a running system."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
RULES = ROOT / "deploy" / "prometheus" / "rules"
# Names the exporters and Flower export (not ours: their scrapes are not run by the tests).
EXPORTERS = ROOT / "deploy" / "prometheus" / "exporter_metrics.txt"

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
# PromQL words that look like names: aggregations, functions, modifiers, keywords.
_KEYWORDS = """
    sum min max avg count stddev stdvar topk bottomk quantile count_values group
    by without on ignoring group_left group_right bool and or unless offset
    rate irate increase deriv delta idelta histogram_quantile clamp_min clamp_max abs
    absent absent_over_time max_over_time min_over_time avg_over_time sum_over_time
    time vector scalar label_replace predict_linear changes resets inf nan le
"""
_WORDS = frozenset(_KEYWORDS.split())


def metric_names(expr: str) -> set[str]:
    """Series names a PromQL expression selects (recording rules' names included)."""
    bare = _RANGES.sub(" ", _MATCHERS.sub(" ", _STRINGS.sub(" ", expr)))
    names = set()
    for match in _IDENT.finditer(bare):
        word = match.group()
        after = bare[match.end() :].lstrip()
        if word.lower() in _WORDS or after.startswith("("):
            continue
        # A label list: `by (job, le)` — the words inside a by/without/on clause's brackets.
        before = bare[: match.start()]
        clause = re.search(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*$", before)
        if clause:
            continue
        names.add(word)
    return names


def dashboard_exprs() -> dict[str, list[str]]:
    """Dashboard file name -> its panels' queries."""
    return {
        path.name: [
            target["expr"]
            for panel in json.loads(path.read_text())["panels"]
            for target in panel.get("targets", [])
        ]
        for path in sorted(DASHBOARDS.glob("*.json"))
    }


def rules() -> list[dict[str, str]]:
    return [
        rule
        for path in sorted(RULES.glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def recorded() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def used_names() -> set[str]:
    """Every series name queried by a dashboard or a rule, recording rules' own excluded."""
    exprs = [expr for exprs in dashboard_exprs().values() for expr in exprs]
    exprs += [rule["expr"] for rule in rules()]
    return {name for expr in exprs for name in metric_names(expr)} - recorded()


def exporter_names() -> set[str]:
    lines = EXPORTERS.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}
