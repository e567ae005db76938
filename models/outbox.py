"""Live events waiting to be published: written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class OutboxEntry(Base):
    __tablename__ = "outbox"
    # Ids are the relay's dedupe keys: SQLite must never reuse one after the table empties.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    data: Mapped[str] = mapped_column(Text)  # the event's JSON, serialised once
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # W3C traceparent of the change that wrote the entry (tracing on): the relay's publish
    # span joins that trace (config/tracing.py). 55 = 00-<32 hex>-<16 hex>-<2 hex>.
    traceparent: Mapped[str | None] = mapped_column(String(55), default=None)


def outbox_dedupe_key(entry_id: int) -> str:
    """The key under which an outbox entry is published at most once, by whoever gets there."""
    return f"outbox:{entry_id}"
