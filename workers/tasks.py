"""Task functions. Plain functions of (session factory, ids): the in-process dispatcher runs them
in a thread pool today; Celery workers will run the very same functions."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Event, Game, StandingsSnapshot, Team
from models.base import utcnow
from models.standings_source import table_for

log = logging.getLogger("matchday.tasks")


def recompute_standings(session_factory: sessionmaker[Session], event_id: int) -> int | None:
    """Recompute and store an event's table; returns the new snapshot version.

    Locking the event row serialises concurrent recomputes of one event (PostgreSQL), so
    the last snapshot written always reflects every result committed before it started.
    """
    with session_factory.begin() as session:
        event = session.scalar(select(Event).where(Event.id == event_id).with_for_update())
        if event is None:
            return None
        teams = session.scalars(select(Team).where(Team.event_id == event_id).order_by(Team.id))
        games = list(session.scalars(select(Game).where(Game.event_id == event_id)))
        rows = [row.as_dict() for row in table_for(event, teams, games)]
        version = _store_snapshot(session, event_id, rows, games)
    log.info("standings recomputed", extra={"event_id": event_id, "version": version})
    return version


def _store_snapshot(
    session: Session, event_id: int, rows: list[dict[str, Any]], games: list[Game]
) -> int:
    newest = max((g.updated_at for g in games), default=None)
    snapshot = session.get(StandingsSnapshot, event_id)
    if snapshot is None:
        snapshot = StandingsSnapshot(event_id=event_id, version=0, rows=[])
        session.add(snapshot)
    snapshot.version += 1
    snapshot.rows = rows
    snapshot.computed_from = newest
    snapshot.updated_at = utcnow()
    session.flush()
    return snapshot.version
