"""POST /api/v1/analytics/query: plain-English questions about an event."""

from __future__ import annotations

import logging
from typing import Any

from server.base import BaseHandler
from server.dispatch import AnswerTimeout, DispatchUnavailable
from server.errors import ApiError
from server.openapi import Op
from server.policy import is_admin
from server.schemas.analytics import AnalyticsAnswerSchema, AnalyticsQuerySchema

log = logging.getLogger("matchday.analytics")

# The workers say why a question got no answer with a code (workers/analytics/errors.py);
# which HTTP status that is, is decided here. A code missing from this table is a 503.
STATUS_BY_CODE = {
    "unrecognized_question": 422,
    "off_topic": 422,
    "unknown_team": 422,
    "ambiguous_event": 422,  # answerable once the asker picks one (event_id or event_date)
    "unsupported_question": 422,
    "not_found": 404,  # private events are as absent as missing ones
    "query_timeout": 504,
    "analytics_unavailable": 503,
}
UNKNOWN_CODE_STATUS = 503
# The 422 of this operation: a refused question (each code says why), or a body that fails
# validation (`validation_error`).
REFUSED = {
    "description": "Refused, with `error.code`: `off_topic` (not about the league), "
    "`unknown_team` (`details.name`, `details.suggestions`: the closest team names), "
    "`ambiguous_event` (`details.candidates`: `{id, name, starts_on, ends_on}` of each event it "
    "could be; ask again with `event_id` or `event_date`), `unsupported_question` "
    "(`details.not_understood`: the words no plan can use), `unrecognized_question` "
    "(`details.examples`, `details.did_you_mean`); or `validation_error` for a bad body.",
    "content": {"application/json": {"schema": "Error"}},
}


def error_for_reply(error: dict[str, Any]) -> ApiError:
    """The API error for a worker's `{code, message, details}`."""
    code = error["code"]
    status = STATUS_BY_CODE.get(code)
    if status is None:
        log.error("analytics error code without a status", extra={"code": code})
        status = UNKNOWN_CODE_STATUS
    return ApiError(status, error["message"], code=code, details=error.get("details"))


class AnalyticsQueryHandler(BaseHandler):
    public_methods = frozenset({"POST"})
    openapi = {
        "post": Op(
            operation_id="askQuestion",
            summary="Ask a question about an event",
            tag="analytics",
            responses={200: AnalyticsAnswerSchema, 422: REFUSED},
            body=AnalyticsQuerySchema,
            errors=(404, 504),
            description="The question is read into a `plan` (intent, metric, teams, filters, "
            "grouping, order, limit) — never into SQL — and the plan runs as a parameterised, "
            "read-only query. Every content word must be used by the plan, or the question is "
            "refused. `answer` is one sentence; `understood_as` says the plan back as one "
            "sentence; the data is in `columns`/`rows`. Refusals are 422 with a code: "
            "`off_topic` (not about the league), `unknown_team` (`details.suggestions`: the "
            "closest team names), `ambiguous_event` (`details.candidates`: id, name and dates "
            "of each event it could be; send `event_id` or `event_date` to pick), "
            "`unsupported_question` (`details.not_understood`: the words no plan can use), "
            "`unrecognized_question` (`details.examples`, and `details.did_you_mean` when one "
            "is close). 404 for an `event_id` the caller cannot see. 504 `analytics_timeout` / "
            "`query_timeout` when no answer comes in time. Questions are limited to 500 "
            "characters and by the `analytics` rate limit.",
        )
    }
    endpoint_limit = "analytics"  # its own per-address limit instead of `write`

    async def post(self) -> None:
        body = self.load_body(AnalyticsQuerySchema())
        user = self.current_user
        request = {
            "question": body["question"],
            "event_id": body["event_id"],
            "event_date": body["event_date"].isoformat() if body["event_date"] else None,
            "explain": body["explain"],
            "viewer": {"user_id": user.id if user else None, "admin": is_admin(user)},
        }
        try:
            outcome = await self.application.dispatcher.answer_question(request, self.request_id)
        except AnswerTimeout as exc:
            raise ApiError(
                504, "no answer in time; retry shortly", code="analytics_timeout"
            ) from exc
        except DispatchUnavailable as exc:
            raise ApiError(
                503, "the task queue is unavailable; retry shortly", code="queue_unavailable"
            ) from exc
        if "error" in outcome:
            raise error_for_reply(outcome["error"])
        self.write_json(outcome["answer"])


routes = [(r"/api/v1/analytics/query", AnalyticsQueryHandler)]
