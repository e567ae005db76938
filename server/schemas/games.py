"""Games, schedules, scores, standings."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from models.domain.constraints import RULES
from models.domain.game_state import SCHEDULE_STATUSES, STATUSES
from models.domain.periods import Period
from models.domain.standings import TIEBREAKERS
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


class GameUpdateSchema(Schema):
    """PATCH /games/{id}: any of these; `status` "scheduled" puts a cancelled or postponed
    game back in the state it left."""

    starts_at = UTCDateTime(allow_none=True)
    venue = Text(max_length=100, allow_none=True)
    round = bounded_int(1, 10_000, allow_none=True)
    status = fields.String(validate=validate.OneOf(SCHEDULE_STATUSES))

    @validates_schema
    def _something(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError(
                "send at least one of starts_at, venue, round, status", field_name="_schema"
            )


class DryRunQuerySchema(Schema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "`true`: answer what would change and break; store nothing"},
    )


class ViolationSchema(Schema):
    rule = fields.String(metadata={"enum": list(RULES)})
    game_ids = fields.List(
        fields.Integer(allow_none=True),
        metadata={"description": "the games involved; null for a game not stored yet"},
    )
    team_ids = fields.List(fields.Integer())
    venue = fields.String(allow_none=True)
    starts_at = UTCDateTime(
        allow_none=True, metadata={"description": "the (later) kick-off that breaks the rule"}
    )


class ScheduleConflictDetailsSchema(Schema):
    violations = fields.List(fields.Nested(ViolationSchema))


class ScheduleConflictErrorSchema(Schema):
    # Not an enum: the same 409 of an operation also answers e.g. `version_conflict`.
    code = fields.String(metadata={"example": "schedule_conflict"})
    message = fields.String()
    details = fields.Nested(ScheduleConflictDetailsSchema)
    request_id = fields.String()


class ScheduleConflictSchema(Schema):
    error = fields.Nested(ScheduleConflictErrorSchema)


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


MAX_PERIODS = 50  # above any sport's limit (models/domain/periods.py), which is checked later
PERIODS_DOC = (
    "the score period by period, in order (docs/scores.md); the event's sport names the "
    "periods and limits their count; they add up to the score (for set sports: the score "
    "counts the sets each side won). Omitted: the recorded periods stay while the score is "
    "unchanged, and are dropped when it changes; `[]` drops them."
)

SHOOTOUT_DOC = "the last period is a shootout (penalties): its winner's score counts one more"


class PeriodInSchema(Schema):
    home = bounded_int(0, MAX_SCORE, required=True)
    away = bounded_int(0, MAX_SCORE, required=True)
    shootout = fields.Boolean(load_default=False, metadata={"description": SHOOTOUT_DOC})
    name = Text(
        max_length=50, metadata={"description": "ignored: the event's sport names the periods"}
    )

    @post_load
    def _period(self, data: dict[str, Any], **_kwargs: Any) -> Period:
        return Period(data["home"], data["away"], data["shootout"])


def periods_field() -> fields.List:
    return fields.List(
        fields.Nested(PeriodInSchema),
        validate=validate.Length(max=MAX_PERIODS),
        load_default=None,
        metadata={"description": PERIODS_DOC},
    )


class ScoreSchema(Schema):
    home_score = bounded_int(0, MAX_SCORE, required=True)
    away_score = bounded_int(0, MAX_SCORE, required=True)
    status = fields.String(required=True, validate=validate.OneOf(("live", "final")))
    periods = periods_field()


class PeriodSchema(Schema):
    name = fields.String(metadata={"example": "1st half"})
    home = fields.Integer()
    away = fields.Integer()
    shootout = fields.Boolean(metadata={"description": "present (true) on a shootout only"})


class Periods(fields.List):
    """A game's periods on the way out: [] when none were recorded."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(value or [], attr, obj, **kwargs)


class GameSchema(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    home_team_id = fields.Integer()
    away_team_id = fields.Integer()
    # Every game the API answers or streams names its teams: a client draws a fixture or a
    # score without a second request.
    home_team_name = fields.String(dump_only=True, metadata={"description": "the home team's name"})
    away_team_name = fields.String(dump_only=True, metadata={"description": "the away team's name"})
    home_score = fields.Integer(allow_none=True)
    away_score = fields.Integer(allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    starts_at = UTCDateTime(allow_none=True)
    venue = fields.String(allow_none=True)
    round = fields.Integer(allow_none=True)
    periods = Periods(
        fields.Nested(PeriodSchema),
        metadata={"description": "the score period by period; [] when not recorded"},
    )
    version = fields.Integer()


class GamesEnvelopeSchema(Schema):
    games = fields.List(fields.Nested(GameSchema))


class PreviewGameSchema(GameSchema):
    """A game not stored yet: no id, no version."""

    id = fields.Integer(allow_none=True)
    version = fields.Integer(allow_none=True)


class SchedulePreviewSchema(Schema):
    games = fields.List(
        fields.Nested(PreviewGameSchema),
        metadata={"description": "the games that would be created (`id` and `version` null)"},
    )
    violations = fields.List(fields.Nested(ViolationSchema))


class GameChangeSchema(Schema):
    old = fields.Dict(metadata={"description": "the changed fields' values before"})
    new = fields.Dict(metadata={"description": "the changed fields' values after"})


class GameChangePreviewSchema(Schema):
    game = fields.Nested(GameSchema, metadata={"description": "the game as it would be"})
    changes = fields.Nested(GameChangeSchema, metadata={"description": "{} when none"})
    violations = fields.List(fields.Nested(ViolationSchema))


class GameListQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    team_id = bounded_int(1, MAX_ID, strict=False)
    round = bounded_int(1, 10_000, strict=False)


class DecidedBySchema(Schema):
    rule = fields.String(
        metadata={
            "enum": ["points", *TIEBREAKERS, "tied"],
            "description": "the first rule that separates this row from the next rank; "
            "`tied` when the next row shares this row's rank",
        }
    )
    over = fields.List(
        fields.Integer(),
        metadata={"description": "team ids of the next rank (for `tied`: the next row's team)"},
    )
    detail = fields.String(
        metadata={
            "description": "the deciding values, this row's first",
            "example": "head-to-head points 4\u20131",
        }
    )


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
    decided_by = fields.Nested(
        DecidedBySchema,
        allow_none=True,
        metadata={
            "description": "why this row sits above the next row of its group; null for a "
            "group's last row (and absent from a table stored before this field existed, "
            "until its next recompute)"
        },
    )


class StandingsSchema(Schema):
    event_id = fields.Integer()
    version = fields.Integer()
    updated_at = UTCDateTime(allow_none=True)
    last_event_id = fields.String(allow_none=True)
    rows = fields.List(fields.Nested(StandingsRowSchema))
