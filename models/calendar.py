"""Calendar feed tokens: what a calendar app puts in a private event's feed URL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class CalendarToken(Base):
    """One feed token per user. Calendar apps cannot send `Authorization`, so the token rides
    in the feed's query string: only its SHA-256 is stored, and it grants nothing but reading
    the feeds of the events its user may see."""

    __tablename__ = "calendar_tokens"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
