"""Structured logs: one JSON object per line (or plain text for local reading).

With tracing on, every record made while a sampled span is current carries `trace_id` and
`span_id` (``install_trace_ids``: a record factory, so every handler and formatter sees them,
whatever writes the line)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Fields every log line of the current task or request carries (task_id, request_id…).
log_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)

FieldSource = Callable[[], Mapping[str, Any]]
# Sources of fields for every line, registered once at start-up (add_field_source): tracing
# adds the current `trace_id` this way. A source returns {} when it has nothing to add.
_field_sources: list[FieldSource] = []


def add_field_source(source: FieldSource) -> None:
    """Every log line (and the access line, server/access_log.py) carries `source()`'s
    fields from now on. Idempotent for the same source."""
    if source not in _field_sources:
        _field_sources.append(source)


def extra_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for source in _field_sources:
        fields.update(source())
    return fields


_second: list[Any] = [None, ""]  # the last whole second formatted, and its text


def _timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds; the date and time part is formatted once a second
    (every request writes a line: the access log's cost counts)."""
    second = int(created)
    if _second[0] != second:
        text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second[:] = [second, text]
    return f"{_second[1]}.{int((created - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(extra_fields())
        entry.update(log_context.get() or {})
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        entry.setdefault("trace_id", None)  # on every line: null when tracing is off
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Plain lines for reading locally; the task/request context follows as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = {**extra_fields(), **(log_context.get() or {})}
        trace_id = getattr(record, "trace_id", None)
        if trace_id:
            context["trace_id"] = trace_id
        return line + "".join(f" {k}={v}" for k, v in context.items() if v is not None)


def install_trace_ids() -> None:
    """Every log record made in a sampled span gets its `trace_id` and `span_id` (hex, as
    trace backends show them). Idempotent; installed by config.telemetry when tracing is on."""
    from opentelemetry import trace

    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_trace_ids", False):
        return

    def with_trace_ids(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        context = trace.get_current_span().get_span_context()
        if context.is_valid and context.trace_flags.sampled:
            record.trace_id = f"{context.trace_id:032x}"
            record.span_id = f"{context.span_id:016x}"
        return record

    with_trace_ids.adds_trace_ids = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(with_trace_ids)


def configure_logging(level: str, fmt: str) -> None:
    # No line carries the caller's file, thread or process names: without them the logging
    # module skips a walk up the stack and three lookups per record (~10 µs a line, and
    # every request writes one).
    logging._srcfile = None  # type: ignore[attr-defined]  # the documented switch
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic narrates every start at INFO (plugin set-up, dialect, each step): keep it for
    # DEBUG; otherwise models/migrate.py logs the one line an operator needs.
    quiet = logging.getLevelName(level) != logging.DEBUG
    logging.getLogger("alembic").setLevel(logging.WARNING if quiet else logging.NOTSET)
    # psycopg_pool logs every connection lent and returned at INFO.
    logging.getLogger("psycopg.pool").setLevel(logging.WARNING if quiet else logging.NOTSET)
