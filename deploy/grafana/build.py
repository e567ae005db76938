"""Writes the Grafana dashboards (deploy/grafana/dashboards/*.json) from the panel lists below:
`make dashboards`. Edit this file, not the JSON; tests/deploy/test_dashboards.py fails when
the committed JSON differs from what this writes, and tests/e2e/test_dashboard_metrics.py
when a query names a metric the running system does not export.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # provisioning/datasources
WIDTH = 24

Panel = dict[str, Any]


def ts(title: str, *queries: tuple[str, str], unit: str = "short", description: str = "") -> Panel:
    """A time series panel; each query is (PromQL, legend)."""
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["max"]}},
        "targets": [
            {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
            for i, (expr, legend) in enumerate(queries)
        ],
    }


def stat(title: str, expr: str, unit: str = "short", description: str = "") -> Panel:
    panel = ts(title, (expr, ""), unit=unit, description=description)
    panel["type"] = "stat"
    panel["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"}
    return panel


def quantiles(metric: str, by: str, window: str = "5m") -> list[tuple[str, str]]:
    """p50/p95/p99 of a histogram, per `by` label (empty: over everything)."""
    group = f"{by}, le" if by else "le"
    legend = f"p{{q}} {{{{{by}}}}}" if by else "p{q}"
    return [
        (
            f"histogram_quantile({q / 100}, sum by ({group}) (rate({metric}_bucket[{window}])))",
            legend.format(q=q),
        )
        for q in (50, 95, 99)
    ]


def dashboard(uid: str, title: str, rows: list[list[Panel]]) -> dict[str, Any]:
    """Rows of panels, each row split evenly across the width."""
    panels = []
    y = 0
    for row in rows:
        width = WIDTH // len(row)
        height = 4 if all(p["type"] == "stat" for p in row) else 8
        for i, panel in enumerate(row):
            panel = dict(panel, id=len(panels) + 1)
            panel["gridPos"] = {"x": i * width, "y": y, "w": width, "h": height}
            panels.append(panel)
        y += height
    return {
        "uid": uid,
        "title": title,
        "tags": ["matchday"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
    }


REQ = "matchday_http_requests_total"


def api() -> dict[str, Any]:
    return dashboard(
        "matchday-api",
        "Matchday / API",
        [
            [
                stat("Requests/s", f"sum(rate({REQ}[5m]))", "reqps"),
                stat(
                    "5xx ratio",
                    f'sum(rate({REQ}{{status=~"5.."}}[5m])) / sum(rate({REQ}[5m]))',
                    "percentunit",
                    "Alert HighErrorRate pages above 1%.",
                ),
                stat(
                    "p95 latency",
                    "max(job:matchday_http_request_duration_seconds:p95_5m)",
                    "s",
                    "Alert HighLatencyP95 above 200 ms.",
                ),
                stat("In flight", "sum(matchday_http_requests_in_flight)"),
            ],
            [
                ts(
                    "Requests by route",
                    (f"sum by (route) (rate({REQ}[5m]))", "{{route}}"),
                    unit="reqps",
                ),
                ts(
                    "Responses by status",
                    (f"sum by (status) (rate({REQ}[5m]))", "{{status}}"),
                    unit="reqps",
                ),
            ],
            [
                ts(
                    "Latency p50/p95/p99 by route",
                    *quantiles("matchday_http_request_duration_seconds", "route"),
                    unit="s",
                ),
            ],
            [
                ts(
                    "Errors by route (5xx)",
                    (
                        f'sum by (route, status) (rate({REQ}{{status=~"5.."}}[5m]))',
                        "{{route}} {{status}}",
                    ),
                    unit="reqps",
                ),
                ts(
                    "Refused: 4xx and rate limits",
                    (f'sum by (status) (rate({REQ}{{status=~"4.."}}[5m]))', "{{status}}"),
                    ("sum by (limit) (rate(matchday_rate_limited_total[5m]))", "429 {{limit}}"),
                    unit="reqps",
                ),
            ],
            [
                ts("In-flight requests", ("sum(matchday_http_requests_in_flight)", "in flight")),
                ts(
                    "Event loop lag",
                    ("max(matchday_event_loop_lag_max_seconds)", "max (worst process)"),
                    *quantiles("matchday_event_loop_lag_seconds", ""),
                    unit="s",
                ),
            ],
            [
                ts(
                    "Slow requests by route",
                    ("sum by (route) (rate(matchday_http_slow_requests_total[5m]))", "{{route}}"),
                    unit="reqps",
                ),
                ts(
                    "Response size p95 by route",
                    (
                        "histogram_quantile(0.95, sum by (route, le) "
                        "(rate(matchday_http_response_size_bytes_bucket[5m])))",
                        "{{route}}",
                    ),
                    unit="bytes",
                ),
            ],
        ],
    )


def database() -> dict[str, Any]:
    return dashboard(
        "matchday-database",
        "Matchday / Database",
        [
            [
                stat("PostgreSQL up", "min(pg_up)"),
                stat(
                    "Backends",
                    "sum(pg_stat_database_numbackends)",
                    description="Connections to PostgreSQL (PgBouncer's included).",
                ),
                stat(
                    "Pool waiters",
                    "sum(matchday_db_pool_requests_waiting)",
                    description="Above 0 for long: the pool is exhausted (DbPoolNearExhaustion).",
                ),
                stat("Query errors/s", "sum(rate(matchday_db_query_errors_total[5m]))", "ops"),
            ],
            [
                ts(
                    "Query latency by operation",
                    *quantiles("matchday_db_query_duration_seconds", "operation"),
                    unit="s",
                ),
                ts(
                    "Queries/s by operation",
                    (
                        "sum by (job, operation) "
                        "(rate(matchday_db_query_duration_seconds_count[5m]))",
                        "{{job}} {{operation}}",
                    ),
                    unit="ops",
                ),
            ],
            [
                ts(
                    "Pool connections by pool",
                    (
                        "sum by (job, pool) (matchday_db_pool_connections_in_use)",
                        "{{job}} {{pool}} in use",
                    ),
                    ("sum by (job, pool) (matchday_db_pool_connections)", "{{job}} {{pool}} open"),
                    (
                        "max by (job, pool) (matchday_db_pool_max_connections)",
                        "{{job}} {{pool}} max",
                    ),
                ),
                ts(
                    "Pool wait p95 and waiters",
                    (
                        "histogram_quantile(0.95, sum by (pool, le) "
                        "(rate(matchday_db_pool_wait_seconds_bucket[5m])))",
                        "p95 wait {{pool}}",
                    ),
                    ("sum by (pool) (matchday_db_pool_requests_waiting)", "waiting {{pool}}"),
                    unit="s",
                ),
            ],
            [
                ts(
                    "Errors, timeouts, lost connections",
                    (
                        "sum by (operation, error) (rate(matchday_db_query_errors_total[5m]))",
                        "{{operation}} {{error}}",
                    ),
                    (
                        "sum by (pool) (rate(matchday_db_pool_timeouts_total[5m]))",
                        "pool timeout {{pool}}",
                    ),
                    (
                        "sum by (pool) (rate(matchday_db_pool_connections_lost_total[5m]))",
                        "lost {{pool}}",
                    ),
                    unit="ops",
                ),
                ts(
                    "Slow queries by operation",
                    (
                        "sum by (operation) (rate(matchday_db_slow_queries_total[5m]))",
                        "{{operation}}",
                    ),
                    unit="ops",
                ),
            ],
            [
                ts(
                    "Transactions/s (postgres_exporter)",
                    (
                        "sum by (datname) (rate(pg_stat_database_xact_commit[5m]))",
                        "commit {{datname}}",
                    ),
                    (
                        "sum by (datname) (rate(pg_stat_database_xact_rollback[5m]))",
                        "rollback {{datname}}",
                    ),
                    unit="ops",
                ),
                ts(
                    "Cache hit ratio, deadlocks",
                    (
                        "sum(rate(pg_stat_database_blks_hit[5m]))"
                        " / (sum(rate(pg_stat_database_blks_hit[5m]))"
                        " + sum(rate(pg_stat_database_blks_read[5m])))",
                        "cache hit",
                    ),
                    ("sum(rate(pg_stat_database_deadlocks[5m]))", "deadlocks/s"),
                ),
                ts(
                    "Backends vs max_connections",
                    ("sum(pg_stat_database_numbackends)", "backends"),
                    ("max(pg_settings_max_connections)", "max_connections"),
                ),
            ],
            [
                ts(
                    "Database host CPU (node_exporter)",
                    (
                        "1 - avg by (instance) "
                        '(rate(node_cpu_seconds_total{role="database", mode="idle"}[5m]))',
                        "{{instance}}",
                    ),
                    unit="percentunit",
                    description="Alert DatabaseCpuHigh above 80%.",
                ),
                ts(
                    "Database host memory",
                    (
                        '1 - node_memory_MemAvailable_bytes{role="database"}'
                        ' / node_memory_MemTotal_bytes{role="database"}',
                        "{{instance}}",
                    ),
                    unit="percentunit",
                    description="Alert DatabaseMemoryHigh above 90%.",
                ),
            ],
        ],
    )


def live() -> dict[str, Any]:
    return dashboard(
        "matchday-live",
        "Matchday / Live",
        [
            [
                stat("Open streams", "sum(matchday_sse_connections)"),
                stat(
                    "Delivery lag p99",
                    "max(job:matchday_sse_delivery_lag_seconds:p99_5m)",
                    "s",
                    "Alert SseDeliveryLagHigh pages above 1 s.",
                ),
                stat(
                    "Server-ended streams (5m)",
                    "max(job:matchday_sse_disconnects:ratio_rate5m)",
                    "percentunit",
                    "Streams ended as slow or on an error per open stream. Alert above 10%.",
                ),
                stat(
                    "Outbox pending",
                    "max(matchday_outbox_pending)",
                    description="Live events committed but not yet published.",
                ),
            ],
            [
                ts("Open streams", ("sum(matchday_sse_connections)", "open")),
                ts(
                    "Delivery lag",
                    *quantiles("matchday_sse_delivery_lag_seconds", ""),
                    unit="s",
                    description="From publish (stream id time) to the end of the fan-out.",
                ),
            ],
            [
                ts(
                    "Disconnects by reason",
                    ("sum by (reason) (rate(matchday_sse_disconnects_total[5m]))", "{{reason}}"),
                    unit="ops",
                ),
                ts(
                    "Refused streams by reason",
                    ("sum by (reason) (rate(matchday_sse_rejected_total[5m]))", "{{reason}}"),
                    unit="ops",
                ),
            ],
            [
                ts(
                    "Resumes and resets",
                    ("sum(rate(matchday_sse_resumes_total[5m]))", "resumed (Last-Event-ID)"),
                    ("sum(rate(matchday_sse_resets_total[5m]))", "reset"),
                    unit="ops",
                ),
                ts(
                    "Messages",
                    (
                        "sum by (kind) (rate(matchday_sse_broadcasts_total[5m]))",
                        "fanned out {{kind}}",
                    ),
                    ("sum(rate(matchday_sse_messages_sent_total[5m]))", "written to clients"),
                    unit="ops",
                ),
            ],
            [
                ts(
                    "Outbox",
                    ("max(matchday_outbox_pending)", "pending"),
                    ("sum(rate(matchday_outbox_published_total[5m]))", "published/s"),
                ),
                ts(
                    "Stream read errors",
                    ("sum(rate(matchday_stream_read_errors_total[5m]))", "errors/s"),
                    unit="ops",
                ),
            ],
        ],
    )


def workers() -> dict[str, Any]:
    return dashboard(
        "matchday-workers",
        "Matchday / Workers",
        [
            [
                stat(
                    "Workers online (Flower)",
                    "sum(flower_worker_online)",
                    description="0: alert NoWorkerAlive pages.",
                ),
                stat("Broker up", "min(matchday_celery_broker_up)"),
                stat("Queued tasks", "sum(queue:matchday_celery_queue_length:max)"),
                stat(
                    "Task failures/s",
                    'sum(rate(matchday_tasks_total{outcome="error"}[5m]))',
                    "ops",
                ),
            ],
            [
                ts(
                    "Task runs by task and outcome",
                    (
                        "sum by (task, outcome) (rate(matchday_tasks_total[5m]))",
                        "{{task}} {{outcome}}",
                    ),
                    unit="ops",
                ),
                ts(
                    "Failures and retries",
                    (
                        "sum by (task, outcome) "
                        '(rate(matchday_tasks_total{outcome=~"error|retry"}[5m]))',
                        "{{task}} {{outcome}}",
                    ),
                    unit="ops",
                ),
            ],
            [
                ts(
                    "Task duration p50/p95/p99",
                    *quantiles("matchday_task_duration_seconds", "task"),
                    unit="s",
                ),
                ts(
                    "Queue depth",
                    ("queue:matchday_celery_queue_length:max", "{{queue}}"),
                    description="max over the workers scraped: each reads the same broker.",
                ),
            ],
            [
                ts(
                    "Executing and prefetched (Flower)",
                    (
                        "sum by (worker) (flower_worker_number_of_currently_executing_tasks)",
                        "executing {{worker}}",
                    ),
                    ("sum by (worker) (flower_worker_prefetched_tasks)", "prefetched {{worker}}"),
                ),
                ts(
                    "Task events (Flower)",
                    ("sum by (type) (rate(flower_events_total[5m]))", "{{type}}"),
                    unit="ops",
                ),
            ],
        ],
    )


def business() -> dict[str, Any]:
    return dashboard(
        "matchday-business",
        "Matchday / Business",
        [
            [
                stat("Scores (24h)", "sum(increase(matchday_scores_recorded_total[24h]))"),
                stat("Games finished (24h)", "sum(increase(matchday_games_finished_total[24h]))"),
                stat("Corrections (24h)", "sum(increase(matchday_corrections_total[24h]))"),
                stat("Events created (24h)", "sum(increase(matchday_events_created_total[24h]))"),
            ],
            [
                ts(
                    "Scores, games, corrections",
                    ("sum(rate(matchday_scores_recorded_total[5m])) * 60", "scores/min"),
                    ("sum(rate(matchday_games_finished_total[5m])) * 60", "games finished/min"),
                    ("sum(rate(matchday_corrections_total[5m])) * 60", "corrections/min"),
                    ("sum(rate(matchday_events_created_total[5m])) * 60", "events created/min"),
                ),
                ts(
                    "Spectators of the most watched events",
                    ("topk(10, sum by (event) (matchday_sse_spectators))", "event {{event}}"),
                    description="Each process reports its 10 most watched events.",
                ),
            ],
            [
                ts(
                    "Analytics questions by intent and outcome",
                    (
                        "sum by (intent, outcome) "
                        "(rate(matchday_analytics_questions_total[5m])) * 60",
                        "{{intent}} {{outcome}}",
                    ),
                    description="Per minute.",
                ),
                ts(
                    "Analytics answer time",
                    *quantiles("matchday_analytics_duration_seconds", "outcome"),
                    unit="s",
                ),
            ],
        ],
    )


DASHBOARDS = {
    "api": api,
    "database": database,
    "live": live,
    "workers": workers,
    "business": business,
}


def render() -> dict[str, str]:
    """File name -> the JSON text to commit."""
    return {
        f"{name}.json": json.dumps(build(), indent=2, sort_keys=True) + "\n"
        for name, build in DASHBOARDS.items()
    }


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)


if __name__ == "__main__":
    main()
