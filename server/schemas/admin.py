"""Admin request bodies and the audit entry resource."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.schemas.common import PageQuerySchema
from server.schemas.fields import Text, UTCDateTime, bounded_int
from server.schemas.games import MAX_ID, MAX_SCORE, GameSchema, periods_field


class CorrectionSchema(Schema):
    home_score = bounded_int(0, MAX_SCORE, required=True)
    away_score = bounded_int(0, MAX_SCORE, required=True)
    reason = Text(required=True, max_length=500, metadata={"description": "why the score changes"})
    periods = periods_field()


class CorrectionEventSchema(Schema):
    game = fields.Nested(GameSchema)
    reason = fields.String()


class RoleSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(("admin", "user")))


class TaskSchema(Schema):
    task_id = fields.String()


class AuditQuerySchema(PageQuerySchema):
    actor_id = bounded_int(1, MAX_ID, strict=False)
    action = fields.String(validate=validate.Length(min=1, max=50))
    since = UTCDateTime()


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = UTCDateTime()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.Integer(allow_none=True)
    request_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    details = fields.Dict()
