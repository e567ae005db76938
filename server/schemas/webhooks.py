"""Webhook subscriptions and their deliveries (docs/webhooks.md)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from models.domain.webhooks import EVENT_TYPES, STATUSES
from server.schemas.common import PageQuerySchema
from server.schemas.fields import Text, UTCDateTime

SECRET_CHARS = validate.Regexp(r"^[\x21-\x7e]+$", error="visible ASCII characters only (no spaces)")


def _event_types(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
        metadata={
            "description": "live event kinds to receive: `score`, `correction`, `standings`, "
            "`game`, and `final` (only `score` events of games that ended)",
            "example": ["score", "standings"],
        },
        **kwargs,
    )


class _EventTypesCheck(Schema):
    @validates("event_types")
    def _distinct(self, value: list[str], **_kwargs: Any) -> None:
        if len(set(value)) != len(value):
            raise ValidationError("list each event type once")


class WebhookCreateSchema(_EventTypesCheck):
    url = Text(
        max_length=2000,
        required=True,
        metadata={
            "description": "where deliveries are POSTed; in production `https` to a public "
            "address (WEBHOOK_URLS)",
            "example": "https://hooks.example.org/matchday",
        },
    )
    secret = Text(
        min_length=16,
        max_length=200,
        validate=SECRET_CHARS,
        metadata={"description": "the HMAC key; generated when absent. Shown only in this reply"},
    )
    event_types = _event_types(required=True)
    active = fields.Boolean(load_default=True)


class WebhookUpdateSchema(_EventTypesCheck):
    url = Text(max_length=2000)
    event_types = _event_types()
    active = fields.Boolean(
        metadata={"description": "`false` pauses deliveries (due ones are dead-lettered)"}
    )
    rotate_secret = fields.Boolean(
        metadata={"description": "`true`: a new secret, returned once in this reply"}
    )


class WebhookSchema(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    url = fields.String()
    event_types = fields.List(fields.String())
    active = fields.Boolean()
    created_by = fields.Integer(allow_none=True)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class WebhookSecretSchema(WebhookSchema):
    secret = fields.String(
        metadata={"description": "the HMAC key; only in the reply that creates or rotates it"}
    )


class WebhookDeliverySchema(Schema):
    id = fields.Integer(metadata={"description": "also sent as `Matchday-Delivery`"})
    webhook_id = fields.Integer(attribute="subscription_id")
    event_id = fields.Integer()
    event = fields.String(attribute="kind", metadata={"description": "the live event kind"})
    stream_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    attempts = fields.Integer()
    next_attempt_at = UTCDateTime(
        allow_none=True, metadata={"description": "when a pending or retrying one is tried"}
    )
    last_attempt_at = UTCDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = UTCDateTime(allow_none=True)
    created_at = UTCDateTime()


class DeliveryListQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
