"""One access line per request, and the HTTP metrics, from one place: Tornado's
`log_function` (MatchdayApp sets it), which replaces Tornado's own access line.

`access_fields()` builds the line's fields — the one function to extend (tracing's
`trace_id` arrives through config.logging.add_field_source). In JSON (LOG_FORMAT=json) the
line is one object; in text, the message reads `200 GET /api/v1/games/7 (10.0.0.1) 3.20ms`.
A 500 is a bug and logs at ERROR; every other failure is an answer the API gives on purpose
(a 503 while PostgreSQL restarts, a 429…) and logs at WARNING, with its cause when it has
one: one line per request, so one WARNING per 503.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from tornado.log import access_log
from tornado.web import RequestHandler

from config.logging import extra_fields
from models.query_metrics import QueryTime
from server import metrics

log = logging.getLogger("matchday.http")
UNMATCHED = "unmatched"  # the route label of paths no route serves (404s)
# A client may send any method (answered 405): only these become label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(pattern: str) -> str:
    """``/api/v1/games/([0-9]+)/score`` → ``/api/v1/games/{id}/score``: a bounded label."""
    path = pattern.removesuffix("$").replace("\\.", ".")
    path = re.sub(r"\(\[0-9\]\+\)", "{id}", path)
    return re.sub(r"\([^)]*\)", "{path}", path)


def route_of(handler: RequestHandler) -> str:
    """The route template the application noted on the request (MatchdayApp)."""
    return getattr(handler.request, "route_template", UNMATCHED)


def _bytes_sent(handler: RequestHandler) -> int:
    counted = getattr(handler, "bytes_sent", None)  # BaseHandler counts what it flushes
    if counted is not None:
        return int(counted)
    try:
        return int(handler._headers.get("Content-Length", 0))  # static files
    except ValueError:
        return 0


def access_fields(handler: RequestHandler) -> dict[str, Any]:
    """The fields of the access line (JSON keys; the text line shows the message)."""
    request = handler.request
    timing: QueryTime | None = getattr(handler, "query_time", None)
    fields: dict[str, Any] = {
        "request_id": getattr(handler, "request_id", None),
        "user_id": getattr(handler, "user_id", None),
        "method": request.method,
        "route": route_of(handler),
        "path": request.path,
        "status": handler.get_status(),
        "duration_ms": round(1000.0 * request.request_time(), 2),
        "bytes": _bytes_sent(handler),
        "client_ip": request.remote_ip,
        "db_queries": timing.count if timing else 0,
        "db_ms": round(timing.seconds * 1000.0, 2) if timing else 0.0,
    }
    fields.update(extra_fields())
    cause: str | None = getattr(handler, "failure", None)
    if cause:
        fields["cause"] = cause
    return fields


TRACE_FIELDS = frozenset({"trace_id", "span_id"})


def log_request(handler: RequestHandler) -> None:
    """Tornado's `log_function`: the access line and the HTTP metrics of one request."""
    fields = access_fields(handler)
    status = fields["status"]
    level = logging.INFO if status < 400 else logging.ERROR if status == 500 else logging.WARNING
    if access_log.isEnabledFor(level):  # else no line to build (LOG_LEVEL=WARNING and a 200)
        line = f"{status} {fields['method']} {fields['path']} ({fields['client_ip']})"
        line += f" {fields['duration_ms']:.2f}ms"
        if "cause" in fields:
            line += f": {fields['cause']}"
        # The trace id comes with the record itself (config/logging.py: a record factory, or
        # a field source); passing it again as `extra` would collide with the factory's.
        extra = fields
        if not TRACE_FIELDS.isdisjoint(fields):
            extra = {k: v for k, v in fields.items() if k not in TRACE_FIELDS}
        access_log.log(level, line, extra=extra)
    _observe(handler, fields)


# The metric children of each (method, route, status) seen: `labels()` takes a lock and
# builds its key on every call. Bounded like the labels themselves (METHODS by route
# templates by status codes), and the same objects prometheus-client keeps for them.
_Children = tuple[Any, Any, Any]
_children: dict[tuple[str, str, int], _Children] = {}


def _children_of(method: str, route: str, status: int) -> _Children:
    key = (method, route, status)
    found = _children.get(key)
    if found is None:
        found = _children[key] = (
            metrics.HTTP_REQUESTS.labels(method, route, str(status)),
            metrics.HTTP_REQUEST_DURATION.labels(method, route),
            metrics.HTTP_RESPONSE_SIZE.labels(method, route),
        )
    return found


def _observe(handler: RequestHandler, fields: dict[str, Any]) -> None:
    method = fields["method"] if fields["method"] in METHODS else "other"
    route = fields["route"]
    requests, duration, size = _children_of(method, route, fields["status"])
    requests.inc()
    if getattr(handler, "streaming", False):
        return  # a live stream lasts as long as its spectator: no latency to speak of
    seconds = fields["duration_ms"] / 1000.0
    duration.observe(seconds)
    size.observe(fields["bytes"])
    slow_ms = _slow_request_ms(handler)
    if slow_ms and fields["duration_ms"] >= slow_ms:
        metrics.SLOW_REQUESTS.labels(route).inc()
        log.warning(
            "slow request: %s %s %.1f ms (database %.1f ms in %d statements)",
            method,
            route,
            fields["duration_ms"],
            fields["db_ms"],
            fields["db_queries"],
            extra={k: fields[k] for k in ("route", "duration_ms", "db_ms", "db_queries", "status")},
        )


def _slow_request_ms(handler: RequestHandler) -> float:
    config = getattr(handler.application, "config", None)
    return float(getattr(config, "slow_request_ms", 0.0))
