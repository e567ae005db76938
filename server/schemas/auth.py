"""Bodies of the auth endpoints and the user resource."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from zxcvbn import zxcvbn

from server.auth.passwords import BCRYPT_MAX_BYTES
from server.schemas.fields import Email, Text

MIN_PASSWORD_LENGTH = 12
MIN_PASSWORD_SCORE = 3  # zxcvbn: 3 = "safely unguessable", about 10^10 guesses
# The most common passwords of length ≥ 12 in public breach lists.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "qwertyuiopas",
        "passwordpassword",
        "password1234",
        "password12345",
        "password123456",
        "iloveyou1234",
        "qwerty123456",
        "111111111111",
        "000000000000",
        "aaaaaaaaaaaa",
        "abcdefghijkl",
        "letmein12345",
        "welcome12345",
        "changeme1234",
        "administrator",
        "qwertyuiop12",
    }
)


def password_problems(password: str, email: str | None) -> list[str]:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        problems.append(f"must be at most {BCRYPT_MAX_BYTES} bytes")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        problems.append("is too common or too simple")
    local_part = (email or "").split("@")[0].lower()
    if len(local_part) >= 4 and local_part in password.lower():
        problems.append("must not contain your email address")
    if not problems:  # the estimator only judges passwords that pass the cheap rules
        problems.extend(_estimated_problems(password, email))
    return problems


def _estimated_problems(password: str, email: str | None) -> list[str]:
    """zxcvbn's guessability estimate (dictionaries, keyboard patterns, dates, l33t,
    repeats, the user's own email) must reach MIN_PASSWORD_SCORE of 4."""
    inputs = ["matchday", *([email, *email.split("@")] if email else [])]
    result = zxcvbn(password, user_inputs=inputs)
    if result["score"] >= MIN_PASSWORD_SCORE:
        return []
    feedback = result.get("feedback") or {}
    hints = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
    advice = " ".join(hint.strip() for hint in hints if hint and hint.strip())
    message = (
        f"is too easy to guess (strength {result['score']} of 4, at least "
        f"{MIN_PASSWORD_SCORE} needed); a passphrase of four or more unrelated words works well"
    )
    return [f"{message}. {advice}" if advice else message]


class RegisterSchema(Schema):
    """`password` is then checked with `password_problems` against the email, off the event
    loop: zxcvbn takes 13-60 ms a call (server/handlers/auth.py)."""

    email = Email(required=True)
    password = fields.String(required=True, metadata={"minLength": MIN_PASSWORD_LENGTH})
    display_name = Text(required=True, max_length=100)


class LoginSchema(Schema):
    email = Text(required=True, max_length=254)
    password = fields.String(required=True, validate=validate.Length(max=1024))


class PasswordChangeSchema(Schema):
    """`new_password` is checked like a registration's, against the caller's email (the
    handler knows it; the body does not carry it)."""

    current_password = fields.String(required=True, validate=validate.Length(max=1024))
    new_password = fields.String(
        required=True,
        validate=validate.Length(max=1024),
        metadata={"minLength": MIN_PASSWORD_LENGTH},
    )


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(max=4096))


class TokenPairSchema(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer()


class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    display_name = fields.String()
    role = fields.String(metadata={"enum": ["admin", "user"]})


class UserEnvelopeSchema(Schema):
    user = fields.Nested(UserSchema)
