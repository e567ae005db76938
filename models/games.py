"""Games and the standings snapshot computed from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Game(Base):
    __tablename__ = "games"
    __table_args__ = (
        CheckConstraint(
            "status IN ('scheduled', 'live', 'final', 'cancelled', 'postponed')", name="status"
        ),
        CheckConstraint("home_team_id <> away_team_id", name="distinct_teams"),
        CheckConstraint("home_score >= 0 AND away_score >= 0", name="scores_non_negative"),
        Index("ix_games_event_id_round", "event_id", "round"),
        Index("ix_games_event_id_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    home_team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    away_team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    home_score: Mapped[int | None] = mapped_column(Integer)
    away_score: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    starts_at: Mapped[datetime | None]
    venue: Mapped[str | None] = mapped_column(String(100))
    round: Mapped[int | None] = mapped_column(Integer)
    # While cancelled or postponed: the status a restore returns the game to (its score kept).
    held_status: Mapped[str | None] = mapped_column(String(10))
    # Per-period scores, [{"name", "home", "away"[, "shootout"]}] (models/domain/periods.py);
    # [] when none were recorded.
    periods: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    # RFC 5545 SEQUENCE of the game's calendar entry: raised by every move (time, venue,
    # status) so calendar apps replace their copy; scores leave it alone (server/calendar).
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Optimistic concurrency: SQLAlchemy adds "AND version = :old" to every UPDATE.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class StandingsSnapshot(Base):
    """The last computed table of an event; `version` grows with every recompute."""

    __tablename__ = "standings_snapshots"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    computed_from: Mapped[datetime | None]
    # The stream id of the `standings` event that carried this table (null until published).
    last_event_id: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
