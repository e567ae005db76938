"""Analytics errors cross the queue as codes; the server alone picks the HTTP status."""

from __future__ import annotations

import json
import logging

import pytest

from server.handlers.analytics import STATUS_BY_CODE, error_for_reply
from workers.analytics.errors import AnalyticsError, ErrorCode, unavailable_error
from workers.analytics.language.parser import UnrecognizedQuestion
from workers.analytics.service import unrecognized_error

STATUSES = {
    "unrecognized_question": 422,
    "off_topic": 422,
    "unknown_team": 422,
    "ambiguous_event": 422,
    "unsupported_question": 422,
    "not_found": 404,
    "query_timeout": 504,
    "analytics_unavailable": 503,
}


def test_every_code_the_workers_send_has_its_status() -> None:
    assert {code.value for code in ErrorCode} == set(STATUS_BY_CODE)
    assert STATUS_BY_CODE == STATUSES


@pytest.mark.parametrize("code", list(ErrorCode))
def test_a_reply_becomes_the_api_error_of_its_code(code: ErrorCode) -> None:
    reply = json.loads(json.dumps(AnalyticsError(code, "why", {"hint": 1}).to_dict()))

    error = error_for_reply(reply)

    assert (error.status, error.code, error.message, error.details) == (
        STATUSES[code.value],
        code.value,
        "why",
        {"hint": 1},
    )


def test_an_error_carries_no_http_status() -> None:
    reply = unavailable_error().to_dict()

    assert reply == {
        "code": "analytics_unavailable",
        "message": "the question could not be answered right now; retry shortly",
        "details": {},
    }


def test_an_unrecognized_question_keeps_its_examples_and_suggestion() -> None:
    error = unrecognized_error(UnrecognizedQuestion("not understood", "who leads?", ["Q1?"]))

    assert error.to_dict() == {
        "code": "unrecognized_question",
        "message": "not understood",
        "details": {"examples": ["Q1?"], "did_you_mean": "who leads?"},
    }


def test_an_unknown_code_is_a_503_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="matchday.analytics"):
        error = error_for_reply({"code": "brand_new", "message": "m", "details": {}})

    assert (error.status, error.code) == (503, "brand_new")
    assert [r.getMessage() for r in caplog.records] == ["analytics error code without a status"]
    assert caplog.records[0].code == "brand_new"


def test_a_status_in_a_reply_is_ignored() -> None:
    """Replies from workers of the previous release still carried a status; only the code counts."""
    old = {"status": 500, "code": "query_timeout", "message": "slow", "details": {}}

    assert error_for_reply(old).status == 504
