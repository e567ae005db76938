"""Why a question got no answer: a code, a message and details — never an HTTP status.

An unanswerable question crosses the queue as `{"error": {code, message, details}}`; the
server picks the status for each code (server/handlers/analytics.py). A new code needs a line
there too, else the API answers it with a 503.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    UNRECOGNIZED_QUESTION = "unrecognized_question"  # no plan; details: examples, did_you_mean
    OFF_TOPIC = "off_topic"  # not about the league at all; details: examples
    UNKNOWN_TEAM = "unknown_team"  # names a team the event lacks; details: name, suggestions
    AMBIGUOUS_EVENT = "ambiguous_event"  # several events fit; details: candidates (id, name, dates)
    UNSUPPORTED_QUESTION = "unsupported_question"  # read, but a part no plan can use;
    # details: not_understood (the words), examples
    NOT_FOUND = "not_found"  # event_id names no event the asker may see
    QUERY_TIMEOUT = "query_timeout"  # a statement ran past ANALYTICS_STATEMENT_TIMEOUT_MS
    UNAVAILABLE = "analytics_unavailable"  # answering failed unexpectedly (logged by the worker)


class AnalyticsError(Exception):
    """A question that cannot be answered, with the code that says why."""

    def __init__(
        self, code: ErrorCode, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "details": self.details}


def unavailable_error() -> AnalyticsError:
    """The reply when answering failed for a reason the asker cannot fix (a lost database)."""
    return AnalyticsError(
        ErrorCode.UNAVAILABLE, "the question could not be answered right now; retry shortly"
    )
