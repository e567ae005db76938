"""Accounts, token families, revoked tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

ROLES = ("admin", "user")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'user')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(10), default="user")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Tokens issued (`iat`) before this second are refused: set when the password changes.
    tokens_valid_after: Mapped[datetime | None]


# Sign-in and sign-up look users up by lower(email) (migration 0007_hot_query_indexes).
Index("ix_users_email_lower", func.lower(User.__table__.c.email))


class TokenFamily(Base):
    """The tokens of one login. Refresh rotates within it (``refresh_jti`` is the one refresh
    token that may be used next); revoking it ends every access and refresh token of it."""

    __tablename__ = "token_families"
    __table_args__ = (
        Index("ix_token_families_user_id", "user_id"),
        Index("ix_token_families_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the `fam` claim
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    refresh_jti: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]  # when its newest token expires: prunable after that
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(20))  # logout, reuse, password


class RevokedToken(Base):
    """A token id (access `jti` or refresh session id) that must no longer be accepted.
    Used for tokens without a family (`fam`), issued before families existed."""

    __tablename__ = "revoked_tokens"
    __table_args__ = (Index("ix_revoked_tokens_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)
