"""Analytics question and answer bodies."""

from __future__ import annotations

from marshmallow import Schema, fields

from server.schemas.fields import Text, bounded_int
from server.schemas.games import MAX_ID

MAX_QUESTION_LENGTH = 500  # longer is not a question; refused before any parsing


class AnalyticsQuerySchema(Schema):
    question = Text(
        required=True,
        max_length=MAX_QUESTION_LENGTH,
        metadata={"example": "Who scored the most goals in Summer Cup?"},
    )
    event_id = bounded_int(
        1,
        MAX_ID,
        load_default=None,
        allow_none=True,
        metadata={"description": "The event asked about; else the question names it."},
    )
    event_date = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Picks, among the events the question could mean (an "
            "`ambiguous_event` error lists them), the one running on this day."
        },
    )
    explain = fields.Boolean(
        load_default=False,
        metadata={"description": "Also return the SQL that ran, with its bound parameters."},
    )


class AnalyticsPlanSchema(Schema):
    intent = fields.String()
    event_id = fields.Integer()
    metric = fields.String(allow_none=True)
    teams = fields.List(fields.Integer())
    filters = fields.Dict()
    group_by = fields.String(allow_none=True)
    order = fields.String()
    limit = fields.Integer(allow_none=True)


class AnalyticsStatementSchema(Schema):
    sql = fields.String()
    params = fields.Dict()


class AnalyticsEventSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class AnalyticsAnswerSchema(Schema):
    question = fields.String()
    answer = fields.String(metadata={"example": "Lions and Bears lead with 14 goals each."})
    understood_as = fields.String(
        metadata={
            "description": "The plan said back as one sentence: what was answered.",
            "example": "Teams with draws \u2265 3, in Summer Cup",
        }
    )
    columns = fields.List(fields.String())
    rows = fields.List(fields.List(fields.Raw()))
    plan = fields.Nested(AnalyticsPlanSchema)
    event = fields.Nested(AnalyticsEventSchema)
    sql = fields.List(
        fields.Nested(AnalyticsStatementSchema),
        metadata={"description": "Only with `explain`."},
    )
