"""Events, teams, scorekeepers."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from models.domain.constraints import DEFAULT_GAME_MINUTES, Rules
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


HH_MM = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="expected HH:MM (UTC)")
DAY_MINUTES = 24 * 60


class StoredDate(fields.Date):
    """A date; stored rules keep it as its ISO text, which is dumped as it is."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value if isinstance(value, str) else super()._serialize(value, attr, obj, **kwargs)


class PlayingHoursSchema(Schema):
    start = fields.String(required=True, validate=HH_MM, metadata={"example": "10:00"})
    end = fields.String(required=True, validate=HH_MM, metadata={"example": "22:00"})


class ScheduleRulesSchema(Schema):
    """What every timed game of the event keeps (docs/scheduling.md). Loaded into plain JSON
    with every default filled in, as stored on the event."""

    game_minutes = bounded_int(
        1,
        DAY_MINUTES,
        load_default=DEFAULT_GAME_MINUTES,
        metadata={"description": "how long a game holds its venue and teams"},
    )
    min_rest_minutes = bounded_int(
        0,
        7 * DAY_MINUTES,
        load_default=0,
        metadata={"description": "least time between the end of a team's game and its next"},
    )
    playing_hours = fields.Nested(
        PlayingHoursSchema,
        allow_none=True,
        load_default=None,
        metadata={"description": "UTC; a game starts at or after `start` and ends by `end`"},
    )
    blackout_dates = fields.List(
        StoredDate(),
        validate=validate.Length(max=1000),
        load_default=list,
        metadata={"description": "UTC dates on which no part of a game may be played"},
    )

    @post_load
    def _stored(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        data["blackout_dates"] = sorted({day.isoformat() for day in data["blackout_dates"]})
        try:
            Rules.from_json(data)
        except ValueError as exc:
            raise ValidationError(str(exc), field_name="playing_hours") from exc
        return data


def effective_rules(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The rules an event keeps, defaults included (an event without its own has them)."""
    return stored if stored else ScheduleRulesSchema().load({})


class EffectiveRules(fields.Nested):
    """An event's `schedule_rules` on the way out: null stored means the defaults."""

    # marshmallow names the first argument `nested_obj` here and `value` on Field.
    def _serialize(self, nested_obj: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return super()._serialize(effective_rules(nested_obj), attr, obj, **kwargs)


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
    schedule_rules = fields.Nested(ScheduleRulesSchema, allow_none=True, load_default=None)

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
    schedule_rules = fields.Nested(ScheduleRulesSchema, allow_none=True)
    reason = Text(
        max_length=500,
        metadata={
            "description": "why the change is made; required (admins only) to change "
            "`tiebreakers` once a result is recorded, and kept in the audit entry"
        },
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
    schedule_rules = EffectiveRules(ScheduleRulesSchema)
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
