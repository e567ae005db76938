"""The "Metrics" table of docs/operations.md, generated from the metrics every process
declares (`make metrics-doc` rewrites it; tests/unit/test_metrics_doc.py checks it is current).

Run: python -m tests.metrics_doc > table.md
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
BLOCK = re.compile(r"(<!-- metrics:start[^>]*-->\n).*?(\n<!-- metrics:end -->)", re.S)
WHERE = {"server": "serve", "models": "serve, worker", "workers": "worker (embedded: serve)"}
WHERE_ONLY = {"matchday_tasks": "worker", "matchday_task_duration_seconds": "worker"}

# Read from the broker at scrape time by the worker's endpoint (no metric object declares
# them): workers/metrics_endpoint.py QueueDepthCollector.
COLLECTED = [
    (
        "matchday_celery_queue_length",
        "gauge",
        ["queue"],
        "Tasks waiting in each Celery queue",
        "worker",
    ),
    ("matchday_celery_broker_up", "gauge", [], "1 if the broker answered the scrape", "worker"),
]


def declared() -> list[tuple[str, str, list[str], str, str]]:
    """(name, type, labels, help, served by) of every metric object of our modules."""
    from models import metrics as models_metrics
    from server import metrics as server_metrics
    from workers import metrics as workers_metrics

    rows = []
    for module in (server_metrics, models_metrics, workers_metrics):
        layer = WHERE[module.__name__.split(".")[0]]
        for value in vars(module).values():
            name: Any = getattr(value, "_name", None)
            if name is None or not hasattr(value, "_type"):
                continue
            # prometheus-client keeps these only as private attributes.
            where = WHERE_ONLY.get(name, layer)
            rows.append((name, value._type, list(value._labelnames), value._documentation, where))
    return rows + COLLECTED


def metrics_table() -> str:
    lines = ["| metric | type | labels | served by | meaning |", "|---|---|---|---|---|"]
    for name, kind, labels, help_text, where in sorted(declared()):
        shown = {
            "counter": f"`{name}_total`",
            "histogram": f"`{name}` (`_bucket`, `_sum`, `_count`)",
        }.get(kind, f"`{name}`")
        label_text = ", ".join(f"`{label}`" for label in labels) or "—"
        lines.append(f"| {shown} | {kind} | {label_text} | {where} | {help_text} |")
    return "\n".join(lines)


def exported_names() -> set[str]:
    """Every sample name a scrape may carry (counters with _total, histograms' series)."""
    names = set()
    for name, kind, _labels, _help, _where in declared():
        if kind == "counter":
            names.add(f"{name}_total")
        elif kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        else:
            names.add(name)
    return names


def rewrite() -> None:
    text = DOC.read_text()
    DOC.write_text(BLOCK.sub(lambda m: m.group(1) + metrics_table() + m.group(2), text))


if __name__ == "__main__":
    rewrite()
