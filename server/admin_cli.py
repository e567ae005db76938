"""Creating or promoting an admin from the command line (blocking code: CLI only)."""

from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy import func, select

from config.settings import Settings
from models import User
from models.db import make_sync_engine, sync_session_factory
from server.auth.passwords import hash_password
from server.schemas.auth import RegisterSchema, password_problems


def create_admin(settings: Settings, email: str, password: str, display_name: str) -> bool:
    """True if a new account was created, False if an existing one was promoted."""
    try:
        body = RegisterSchema().load(
            {"email": email, "password": password, "display_name": display_name}
        )
    except ValidationError as exc:
        raise ValueError(f"invalid admin account: {exc.normalized_messages()}") from exc
    if problems := password_problems(body["password"], body["email"]):
        messages = {"password": problems}  # the shape of the schema's messages above
        raise ValueError(f"invalid admin account: {messages}")
    engine = make_sync_engine(settings)
    try:
        with sync_session_factory(engine).begin() as session:
            user = session.scalar(
                select(User).where(func.lower(User.email) == body["email"].lower())
            )
            password_hash = hash_password(body["password"], settings.bcrypt_rounds)
            if user is not None:
                user.role, user.password_hash = "admin", password_hash
                return False
            session.add(
                User(
                    email=body["email"],
                    display_name=body["display_name"],
                    password_hash=password_hash,
                    role="admin",
                )
            )
            return True
    finally:
        engine.dispose()
