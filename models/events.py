"""League events, their teams and scorekeepers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("visibility IN ('public', 'private')", name="visibility"),
        Index("ix_events_owner_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sport: Mapped[str | None] = mapped_column(String(50))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    scoring: Mapped[dict[str, Any]] = mapped_column(JSON)
    tiebreakers: Mapped[list[str]] = mapped_column(JSON)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # Set by POST /schedule: format, interval, venues and, for single elimination, the
    # round-1 bracket, so later rounds can be drawn as winners emerge.
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Rules every timed game keeps (models/domain/constraints.py); null: the defaults.
    schedule_rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Scorekeeper(Base):
    __tablename__ = "scorekeepers"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("event_id", "name", name="uq_teams_event_id_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    group: Mapped[str | None] = mapped_column("group_name", String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
