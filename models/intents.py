"""Work a committed change still owes, recorded in the change's own transaction.

A queue message can be lost (a broker restarted without its data, a worker killed before
its acknowledgement was restored); these rows cannot. The worker that does the work deletes
its row in the same transaction as the work; a sweep in every server process finishes or
re-queues whatever is still owed after a grace period (server/sweeper.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Insert, String, Text, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class PendingAudit(Base):
    """An audit entry handed to the `audit` queue: gone once a worker (or the sweep) stored it."""

    __tablename__ = "pending_audits"
    __table_args__ = (Index("ix_pending_audits_created_at", "created_at"),)

    uid: Mapped[str] = mapped_column(String(32), primary_key=True)  # the entry's own uid
    record: Mapped[str] = mapped_column(Text)  # the AuditRecord as JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PendingRecompute(Base):
    """An event whose standings a committed change made stale: gone once a recompute that
    read every result committed before it has stored its table."""

    __tablename__ = "pending_recomputes"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    # The oldest request still owed (a second request while one is owed changes nothing).
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)


def owe_recomputes(dialect: str, event_ids: Iterable[int]) -> Insert | None:
    """INSERT … ON CONFLICT DO NOTHING for the events (PostgreSQL and SQLite)."""
    rows: list[dict[str, Any]] = [
        {"event_id": event_id, "requested_at": utcnow()} for event_id in event_ids
    ]
    if not rows:
        return None
    if dialect == "postgresql":
        return postgresql.insert(PendingRecompute).values(rows).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(PendingRecompute).values(rows).on_conflict_do_nothing()
    return insert(PendingRecompute).values(rows)  # pragma: no cover — no other backend
