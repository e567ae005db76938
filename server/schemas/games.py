"""Games, schedules, scores, standings."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from models.domain.game_state import STATUSES
from server.schemas.common import PageQuerySchema
from server.schemas.fields import Text, UTCDateTime, bounded_int

MAX_ID = 2**31 - 1
MAX_SCORE = 100_000
SCHEDULE_FORMATS = ("round_robin", "double_round_robin", "single_elimination")


class GameCreateSchema(Schema):
    home_team_id = bounded_int(1, MAX_ID, required=True)
    away_team_id = bounded_int(1, MAX_ID, required=True)
    starts_at = UTCDateTime(allow_none=True, load_default=None)
    venue = Text(max_length=100, allow_none=True, load_default=None)
    round = bounded_int(1, 10_000, allow_none=True, load_default=None)

    @validates_schema
    def _two_teams(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("home_team_id") == data.get("away_team_id"):
            raise ValidationError("a team cannot play itself", field_name="away_team_id")


class ScheduleSchema(Schema):
    format = fields.String(required=True, validate=validate.OneOf(SCHEDULE_FORMATS))
    starts_at = UTCDateTime(allow_none=True, load_default=None)
    interval_minutes = bounded_int(1, 60 * 24 * 30, load_default=120)
    venues = fields.List(Text(max_length=100), validate=validate.Length(max=100), load_default=list)
    seeds = fields.List(
        bounded_int(1, MAX_ID),
        load_default=None,
        allow_none=True,
        metadata={"description": "team ids in seed order (single_elimination); default: by id"},
    )

    @validates_schema
    def _distinct(self, data: dict[str, Any], **_kwargs: Any) -> None:
        venues = data.get("venues") or []
        if len({v.casefold() for v in venues}) != len(venues):
            raise ValidationError("each venue at most once", field_name="venues")
        seeds = data.get("seeds") or []
        if len(set(seeds)) != len(seeds):
            raise ValidationError("each team at most once", field_name="seeds")


class ScoreSchema(Schema):
    home_score = bounded_int(0, MAX_SCORE, required=True)
    away_score = bounded_int(0, MAX_SCORE, required=True)
    status = fields.String(required=True, validate=validate.OneOf(("live", "final")))


class GameSchema(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    home_team_id = fields.Integer()
    away_team_id = fields.Integer()
    # Game lists carry the names too, so a fixture list needs no second request.
    home_team_name = fields.String(dump_only=True)
    away_team_name = fields.String(dump_only=True)
    home_score = fields.Integer(allow_none=True)
    away_score = fields.Integer(allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    starts_at = UTCDateTime(allow_none=True)
    venue = fields.String(allow_none=True)
    round = fields.Integer(allow_none=True)
    version = fields.Integer()


class GamesEnvelopeSchema(Schema):
    games = fields.List(fields.Nested(GameSchema))


class GameListQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    team_id = bounded_int(1, MAX_ID, strict=False)
    round = bounded_int(1, 10_000, strict=False)


class StandingsRowSchema(Schema):
    rank = fields.Integer()
    group = fields.String(allow_none=True)
    team_id = fields.Integer()
    team_name = fields.String()
    played = fields.Integer()
    won = fields.Integer()
    drawn = fields.Integer()
    lost = fields.Integer()
    score_for = fields.Integer()
    score_against = fields.Integer()
    score_diff = fields.Integer()
    points = fields.Integer()


class StandingsSchema(Schema):
    event_id = fields.Integer()
    version = fields.Integer()
    updated_at = UTCDateTime(allow_none=True)
    last_event_id = fields.String(allow_none=True)
    rows = fields.List(fields.Nested(StandingsRowSchema))
