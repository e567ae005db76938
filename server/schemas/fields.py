"""Field types shared by the schemas: clean text, UTC timestamps, emails."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from marshmallow import ValidationError, fields, validate


class Text(fields.String):
    """NFC-normalised, trimmed, no control characters, bounded length."""

    def __init__(self, *, max_length: int, min_length: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_length = min_length
        self.max_length = max_length
        # Documented limits for the OpenAPI document (apispec reads field metadata).
        self.metadata = {"maxLength": max_length, "minLength": min_length, **self.metadata}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = unicodedata.normalize("NFC", super()._deserialize(value, attr, data, **kwargs))
        text = text.strip()
        if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs"} for ch in text):
            raise ValidationError("must not contain control characters")
        if not self.min_length <= len(text) <= self.max_length:
            raise ValidationError(f"length must be between {self.min_length} and {self.max_length}")
        return text


class Email(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) > 254:
            raise ValidationError("an email address has at most 254 characters")
        try:
            # Format only: registration must not depend on DNS answering.
            return validate_email(raw, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValidationError(f"not a valid email address: {exc}") from exc


class UTCDateTime(fields.AwareDateTime):
    """RFC 3339 with an offset on the way in; UTC with a trailing Z on the way out."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not 1900 <= parsed.year <= 2200:
            raise ValidationError("year must be between 1900 and 2200")
        return parsed.astimezone(UTC)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else utc_text(value)


def utc_text(value: datetime) -> str:
    """How every timestamp leaves the API: RFC 3339 in UTC with a trailing Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class StrictInteger(fields.Integer):
    """A JSON integer: no strings, floats or booleans."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


def bounded_int(low: int, high: int, *, strict: bool = True, **kwargs: Any) -> fields.Integer:
    """An integer in [low, high]; `strict=False` for query strings, which arrive as text."""
    kind = StrictInteger if strict else fields.Integer
    return kind(strict=strict, validate=validate.Range(low, high), **kwargs)
