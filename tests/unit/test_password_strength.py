"""Password strength: the cheap rules, then zxcvbn's estimate (score ≥ MIN_PASSWORD_SCORE)."""

from __future__ import annotations

from pathlib import Path

import pytest
from marshmallow import ValidationError

from server.admin_cli import create_admin
from server.schemas.auth import MIN_PASSWORD_SCORE, RegisterSchema, password_problems
from tests.support import STRONG_PASSWORD, settings_for

EMAIL = "jane.doe@example.com"


@pytest.mark.parametrize(
    "password",
    [
        STRONG_PASSWORD,
        "a very long admin password",
        "plum-orbit-cactus-lantern",
        "é" * 4 + "-Zq9r!t7Kw",
    ],
)
def test_strong_passwords_pass(password: str) -> None:
    assert password_problems(password, EMAIL) == []


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short1!", "at least 12 characters"),
        ("Zq9" + "x" * 70, "at most 72 bytes"),
        ("é" * 37, "at most 72 bytes"),  # 74 bytes in 37 characters
        ("password1234", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common or too simple"),
        ("jane.doe-rocks-2024", "email"),
        ("Password1234!", "too easy to guess"),  # a common password, decorated
        ("qwertyuiop1234", "too easy to guess"),  # a keyboard walk
        ("1qaz2wsx3edc4rfv", "too easy to guess"),  # a keyboard pattern
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, why: str) -> None:
    problems = password_problems(password, EMAIL)
    assert problems and why in " ".join(problems), problems


def test_estimator_message_helps() -> None:
    (message,) = password_problems("Password1234!", EMAIL)
    assert f"at least {MIN_PASSWORD_SCORE} needed" in message
    assert "passphrase" in message
    assert "Password1234!" not in message  # never echo the password


def test_the_register_schema_leaves_strength_to_the_handler() -> None:
    """zxcvbn is slow (13-60 ms): the handler runs it off the event loop, not the schema."""
    body = {"email": EMAIL, "password": "Password1234!", "display_name": "Jane"}
    assert RegisterSchema().load(body)["password"] == "Password1234!"
    with pytest.raises(ValidationError) as refused:
        RegisterSchema().load({**body, "password": None})
    assert "password" in refused.value.messages


def test_create_admin_refuses_a_weak_password(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}", tmp_path)
    with pytest.raises(ValueError) as refused:
        create_admin(settings, EMAIL, "Password1234!", "Jane")
    assert str(refused.value).startswith("invalid admin account: {'password': ")
    assert "is too easy to guess" in str(refused.value)
