"""The access line (server/access_log.py): its level — a 500 is an ERROR; every other failure
is an answer given on purpose and a WARNING, with its cause when it has one — its fields
(one JSON object per request), the slow-request line, and the HTTP metrics it feeds."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY
from psycopg import OperationalError as DriverError
from sqlalchemy.exc import OperationalError

from config.logging import JsonFormatter, add_field_source, extra_fields
from models.query_metrics import QueryTime
from server.access_log import log_request, route_template
from server.base import _first_line

SCORE_ROUTE = "/api/v1/games/{id}/score"


def _handler(
    status: int, failure: str | None = None, *, seconds: float = 0.012, slow_ms: float = 0
) -> Any:
    request = SimpleNamespace(
        method="PUT",
        uri="/api/v1/games/7/score?access_token=secret",
        path="/api/v1/games/7/score",
        remote_ip="10.0.0.1",
        request_time=lambda: seconds,
        route_template="/api/v1/games/{id}/score",
    )
    return SimpleNamespace(
        get_status=lambda: status,
        request=request,
        failure=failure,
        request_id="req-1",
        user_id=42,
        bytes_sent=321,
        query_time=QueryTime(count=3, seconds=0.004),
        application=SimpleNamespace(config=SimpleNamespace(slow_request_ms=slow_ms)),
    )


@pytest.mark.parametrize(
    ("status", "level"),
    [
        (200, logging.INFO),
        (304, logging.INFO),
        (404, logging.WARNING),
        (429, logging.WARNING),
        (500, logging.ERROR),
        (503, logging.WARNING),
        (504, logging.WARNING),
    ],
)
def test_levels(status: int, level: int, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, "tornado.access"):
        log_request(_handler(status))
    [record] = caplog.records
    assert record.levelno == level
    # The path, never the query string (an SSE client may pass its token there).
    assert record.getMessage() == f"{status} PUT /api/v1/games/7/score (10.0.0.1) 12.00ms"


def test_a_503_says_why_in_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        log_request(_handler(503, "database unavailable: OperationalError: refused"))
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().endswith("12.00ms: database unavailable: OperationalError: refused")
    assert record.exc_info is None


def test_the_json_line_has_every_field(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, "tornado.access"):
        log_request(_handler(200))
    [record] = caplog.records
    line = json.loads(JsonFormatter().format(record))
    assert line["message"].startswith("200 PUT")
    assert {k: line[k] for k in ("request_id", "user_id", "route", "status", "bytes")} == {
        "request_id": "req-1",
        "user_id": 42,
        "route": "/api/v1/games/{id}/score",
        "status": 200,
        "bytes": 321,
    }
    assert line["duration_ms"] == 12.0
    assert (line["db_queries"], line["db_ms"]) == (3, 4.0)
    assert "trace_id" in line and line["trace_id"] is None


def test_a_field_source_fills_the_trace_id(caplog: pytest.LogCaptureFixture) -> None:
    def tracing() -> dict[str, str]:
        return {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}

    add_field_source(tracing)
    try:
        with caplog.at_level(logging.DEBUG, "tornado.access"):
            log_request(_handler(200))
        line = json.loads(JsonFormatter().format(caplog.records[0]))
        assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    finally:
        from config import logging as config_logging

        config_logging._field_sources.remove(tracing)
    assert "trace_id" not in extra_fields()


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_are_counted_and_timed_by_route_template() -> None:
    labels = {"method": "PUT", "route": "/api/v1/games/{id}/score"}
    count = _sample("matchday_http_requests_total", **labels, status="409")
    fast = _sample("matchday_http_request_duration_seconds_bucket", **labels, le="0.025")
    log_request(_handler(409))
    assert _sample("matchday_http_requests_total", **labels, status="409") == count + 1
    assert _sample("matchday_http_request_duration_seconds_bucket", **labels, le="0.025") == (
        fast + 1
    )


def test_an_unknown_method_is_no_new_label() -> None:
    handler = _handler(405)
    handler.request.method = "BREW"
    before = _sample(
        "matchday_http_requests_total", method="other", route=SCORE_ROUTE, status="405"
    )
    log_request(handler)
    after = _sample("matchday_http_requests_total", method="other", route=SCORE_ROUTE, status="405")
    assert after == before + 1


def test_a_slow_request_is_logged_with_its_timings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        log_request(_handler(200, seconds=0.120, slow_ms=100))
        log_request(_handler(200, seconds=0.080, slow_ms=100))
    slow = [r for r in caplog.records if r.name == "matchday.http"]
    assert [r.getMessage() for r in slow] == [
        "slow request: PUT /api/v1/games/{id}/score 120.0 ms (database 4.0 ms in 3 statements)"
    ]
    assert slow[0].levelno == logging.WARNING


def test_route_templates_are_bounded_labels() -> None:
    assert route_template(r"/api/v1/events/([0-9]+)/export\.csv") == (
        "/api/v1/events/{id}/export.csv"
    )
    assert route_template(r"/static/(.*)") == "/static/{path}"


def test_the_cause_is_the_drivers_first_line() -> None:
    driver = DriverError('connection to server at "db" failed: Connection refused\n\tIs it up?')
    wrapped = OperationalError("SELECT 1", {}, driver)
    assert _first_line(wrapped) == (
        'OperationalError: connection to server at "db" failed: Connection refused'
    )


def test_json_lines_are_stamped_in_utc_with_milliseconds() -> None:
    import json as json_module
    import logging as logging_module
    from datetime import UTC, datetime

    from config.logging import JsonFormatter

    record = logging_module.makeLogRecord({"msg": "hello", "created": 1796313600.0425})
    line = json_module.loads(JsonFormatter().format(record))
    assert line["at"] == "2026-12-03T16:00:00.042Z"
    stamped = datetime.fromisoformat(line["at"].replace("Z", "+00:00"))
    assert stamped.tzinfo == UTC
    later = json_module.loads(
        JsonFormatter().format(logging_module.makeLogRecord({"created": 1796313601.9995}))
    )
    assert later["at"] == "2026-12-03T16:00:01.999Z"  # the next second, not the cached one
