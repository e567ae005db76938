"""Worker metrics (Flower's /metrics covers the queues; these cover our task bodies)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TASKS = Counter("matchday_tasks_total", "Task runs by task and outcome", ["task", "outcome"])
TASK_SECONDS = Histogram("matchday_task_duration_seconds", "Task run time", ["task"])
