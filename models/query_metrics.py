"""Every statement of every engine is timed: latency and errors by operation
(models/metrics.py), a WARNING with its timing above SLOW_QUERY_MS, and the time added to the
current request's total (`query_time`, which the access log reports)."""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

from models import metrics

log = logging.getLogger("matchday.db")
OPERATIONS = frozenset({"select", "insert", "update", "delete"})
STATEMENT_SHOWN = 300  # characters of a slow statement in its log line (never parameters)
_STARTED = "matchday.query_started"


@dataclass
class QueryTime:
    """The statements one request (or task) ran, and their total time."""

    count: int = 0
    seconds: float = 0.0


# Set per request by the server (server/base.py); None elsewhere.
query_time: ContextVar[QueryTime | None] = ContextVar("query_time", default=None)


def operation(statement: str) -> str:
    head = statement.lstrip(" \n\t(").split(None, 1)
    word = head[0].lower() if head else ""
    return word if word in OPERATIONS else "other"


class QueryMetrics:
    def __init__(self, slow_ms: float) -> None:
        self.slow_seconds = slow_ms / 1000.0

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "handle_error", self._error)

    def _before(self, _conn: Any, _cursor: Any, _statement: str, *_: Any) -> None:
        _conn.info.setdefault(_STARTED, []).append(time.perf_counter())

    def _after(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        started = conn.info.get(_STARTED)
        if not started:
            return
        elapsed = time.perf_counter() - started.pop()
        kind = operation(statement)
        metrics.DB_QUERY_DURATION.labels(kind).observe(elapsed)
        current = query_time.get()
        if current is not None:
            current.count += 1
            current.seconds += elapsed
        if self.slow_seconds and elapsed >= self.slow_seconds:
            metrics.DB_SLOW_QUERIES.labels(kind).inc()
            log.warning(
                "slow query: %.1f ms %s",
                elapsed * 1000,
                kind,
                extra={
                    "duration_ms": round(elapsed * 1000, 2),
                    "operation": kind,
                    "statement": " ".join(statement.split())[:STATEMENT_SHOWN],
                },
            )

    def _error(self, context: ExceptionContext) -> None:
        statement = context.statement or ""
        kind = operation(statement)
        if context.connection is not None:
            started = context.connection.info.get(_STARTED)
            if started:
                started.pop()
        error = type(context.sqlalchemy_exception or context.original_exception).__name__
        metrics.DB_QUERY_ERRORS.labels(kind, error).inc()
