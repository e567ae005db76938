"""The calendar feed token resource."""

from __future__ import annotations

from marshmallow import Schema, fields

from server.schemas.fields import UTCDateTime


class CalendarTokenSchema(Schema):
    created_at = UTCDateTime(metadata={"description": "when the current token was issued"})


class IssuedCalendarTokenSchema(CalendarTokenSchema):
    token = fields.String(
        metadata={
            "description": "the feed token, shown this once (only its hash is kept): append "
            "`?token=<token>` to a feed URL",
            "example": "mdcal_3q2x…",
        }
    )
