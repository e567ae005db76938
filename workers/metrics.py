"""Worker metrics, declared once: task runs by outcome, durations, analytics questions.
Served by `matchday worker --metrics-port` (workers/metrics_endpoint.py), summed over the
worker's processes, with each queue's depth read from the broker at scrape time."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

TASKS = Counter(
    "matchday_tasks_total",
    "Task runs by task and outcome: ok, error (failed for good), retry (a transient error; "
    "retried with backoff)",
    ["task", "outcome"],
)
TASK_SECONDS = Histogram(
    "matchday_task_duration_seconds", "Task run time, by task", ["task"], buckets=TASK_BUCKETS
)
ANALYTICS_QUESTIONS = Counter(
    "matchday_analytics_questions_total",
    "Analytics questions by outcome (answered, cached, unrecognized, timeout, error) and intent",
    ["outcome", "intent"],
)
ANALYTICS_SECONDS = Histogram(
    "matchday_analytics_duration_seconds", "Time to answer an analytics question", ["outcome"]
)
