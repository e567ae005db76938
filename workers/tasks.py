"""Task functions. Plain functions of (session factory, publisher, ids): the in-process
dispatcher runs them in a thread pool; Celery workers run the very same functions."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from models import Event, Game, StandingsSnapshot, Team
from models.base import utcnow
from models.standings_source import standings_payload, table_for
from workers.publish import Publisher

log = logging.getLogger("matchday.tasks")


def recompute_standings(
    session_factory: sessionmaker[Session], publish: Publisher, event_id: int
) -> int | None:
    """Recompute, store and publish an event's table; returns the new snapshot version.

    Locking the event row serialises concurrent recomputes of one event (PostgreSQL), so
    the last snapshot written always reflects every result committed before it started.
    The table is published after the commit, so no reader sees a table the database lacks.
    """
    with session_factory.begin() as session:
        event = session.scalar(select(Event).where(Event.id == event_id).with_for_update())
        if event is None:
            return None
        teams = session.scalars(select(Team).where(Team.event_id == event_id).order_by(Team.id))
        games = list(session.scalars(select(Game).where(Game.event_id == event_id)))
        rows = [row.as_dict() for row in table_for(event, teams, games)]
        snapshot = _store_snapshot(session, event_id, rows, games)
        payload = standings_payload(event_id, snapshot.version, snapshot.updated_at, None, rows)
    stream_id = publish(event_id, "standings", json.dumps(payload, separators=(",", ":")))
    if stream_id:
        _record_stream_id(session_factory, event_id, payload["version"], stream_id)
    log.info("standings recomputed", extra={"event_id": event_id, "version": payload["version"]})
    return payload["version"]


def _store_snapshot(
    session: Session, event_id: int, rows: list[dict[str, Any]], games: list[Game]
) -> StandingsSnapshot:
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
    return snapshot


def _record_stream_id(
    session_factory: sessionmaker[Session], event_id: int, version: int, stream_id: str
) -> None:
    # Only if no newer table replaced ours meanwhile: last_event_id never goes backwards.
    with session_factory.begin() as session:
        session.execute(
            update(StandingsSnapshot)
            .where(StandingsSnapshot.event_id == event_id, StandingsSnapshot.version == version)
            .values(last_event_id=stream_id)
        )
