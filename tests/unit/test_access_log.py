"""The access log's levels (server/base.py log_request): a 500 is an ERROR; every other failure
is an answer given on purpose and a WARNING, with its cause when it has one."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from psycopg import OperationalError as DriverError
from sqlalchemy.exc import OperationalError

from server.base import _first_line, log_request


def _handler(status: int, failure: str | None = None) -> Any:
    request = SimpleNamespace(
        method="PUT", uri="/api/v1/games/7/score", remote_ip="10.0.0.1", request_time=lambda: 0.012
    )
    return SimpleNamespace(get_status=lambda: status, request=request, failure=failure)


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
    assert record.getMessage() == f"{status} PUT /api/v1/games/7/score (10.0.0.1) 12.00ms"


def test_a_503_says_why(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, "tornado.access"):
        log_request(_handler(503, "database unavailable: OperationalError: refused"))
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().endswith("12.00ms: database unavailable: OperationalError: refused")
    assert record.exc_info is None


def test_the_cause_is_the_drivers_first_line() -> None:
    driver = DriverError('connection to server at "db" failed: Connection refused\n\tIs it up?')
    wrapped = OperationalError("SELECT 1", {}, driver)
    assert _first_line(wrapped) == (
        'OperationalError: connection to server at "db" failed: Connection refused'
    )
