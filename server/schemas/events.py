"""Events, teams, scorekeepers."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from models.domain.standings import DEFAULT_TIEBREAKERS, TIEBREAKERS
from server.schemas.common import PageQuerySchema
from server.schemas.fields import Text, UTCDateTime, bounded_int

VISIBILITIES = ("public", "private")


class ScoringSchema(Schema):
    win = bounded_int(-100, 100, load_default=3)
    draw = bounded_int(-100, 100, load_default=1)
    loss = bounded_int(-100, 100, load_default=0)

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data["win"] >= data["draw"] >= data["loss"]:
            raise ValidationError("expected win >= draw >= loss", field_name="_schema")


class EventCreateSchema(Schema):
    name = Text(required=True, max_length=200)
    sport = Text(max_length=50, allow_none=True, load_default=None)
    starts_on = fields.Date(allow_none=True, load_default=None)
    ends_on = fields.Date(allow_none=True, load_default=None)
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES), load_default="public")
    scoring = fields.Nested(ScoringSchema, load_default=lambda: {"win": 3, "draw": 1, "loss": 0})
    tiebreakers = fields.List(
        fields.String(validate=validate.OneOf(TIEBREAKERS)),
        validate=validate.Length(max=len(TIEBREAKERS)),
        load_default=lambda: list(DEFAULT_TIEBREAKERS),
    )

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_kwargs: Any) -> None:
        tiebreakers = data.get("tiebreakers") or []
        if len(set(tiebreakers)) != len(tiebreakers):
            raise ValidationError("each tiebreaker at most once", field_name="tiebreakers")
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            raise ValidationError("must not be before starts_on", field_name="ends_on")


class EventUpdateSchema(EventCreateSchema):
    """PATCH: every field optional (loaded with partial=True); no defaults applied."""

    sport = Text(max_length=50, allow_none=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    scoring = fields.Nested(ScoringSchema)
    tiebreakers = fields.List(
        fields.String(validate=validate.OneOf(TIEBREAKERS)),
        validate=validate.Length(max=len(TIEBREAKERS)),
    )


class EventSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    sport = fields.String(allow_none=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    visibility = fields.String(metadata={"enum": list(VISIBILITIES)})
    scoring = fields.Nested(ScoringSchema)
    tiebreakers = fields.List(fields.String(metadata={"enum": list(TIEBREAKERS)}))
    owner_id = fields.Integer()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class ScorekeeperCreateSchema(Schema):
    user_id = bounded_int(1, 2**31 - 1, required=True)


class ScorekeeperSchema(Schema):
    event_id = fields.Integer()
    user_id = fields.Integer()


class TeamCreateSchema(Schema):
    name = Text(required=True, max_length=100)
    group = Text(max_length=50, allow_none=True, load_default=None)


class TeamSchema(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    name = fields.String()
    group = fields.String(allow_none=True)


class TeamListQuerySchema(PageQuerySchema):
    pass
