"""Worker metrics (Flower's /metrics covers the queues; these cover our task bodies)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TASKS = Counter("matchday_tasks_total", "Task runs by task and outcome", ["task", "outcome"])
TASK_SECONDS = Histogram("matchday_task_duration_seconds", "Task run time", ["task"])
ANALYTICS_QUESTIONS = Counter(
    "matchday_analytics_questions_total",
    "Analytics questions by outcome (answered, cached, unrecognized, timeout, error) and intent",
    ["outcome", "intent"],
)
ANALYTICS_SECONDS = Histogram(
    "matchday_analytics_duration_seconds", "Time to answer an analytics question", ["outcome"]
)
