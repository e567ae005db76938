"""Task functions. Plain functions of (session factory, publisher, ids): the in-process
dispatcher runs them in a thread pool; Celery workers run the very same functions."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from models import Event, Game, OutboxEntry, StandingsSnapshot, Team
from models.base import utcnow
from models.outbox import outbox_dedupe_key
from models.standings_source import standings_payload, table_for
from workers.publish import Publisher

log = logging.getLogger("matchday.tasks")


def recompute_standings(
    session_factory: sessionmaker[Session], publish: Publisher, event_id: int
) -> int | None:
    """Recompute, store and publish an event's table; returns the new snapshot version.

    Locking the event row serialises concurrent recomputes of one event (PostgreSQL), so
    the last snapshot written always reflects every result committed before it started.
    The `standings` event is written to the outbox in the snapshot's transaction, then
    published at once by this task; if the streams backend is down, the server's outbox
    relay publishes it later (the shared dedupe key prevents a second copy).
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
        entry = OutboxEntry(event_id=event_id, kind="standings", data=_json(payload))
        session.add(entry)
        session.flush()
    _publish_now(session_factory, publish, entry)
    log.info("standings recomputed", extra={"event_id": event_id, "version": payload["version"]})
    return payload["version"]


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _publish_now(
    session_factory: sessionmaker[Session], publish: Publisher, entry: OutboxEntry
) -> None:
    try:
        stream_id = publish(entry.event_id, entry.kind, entry.data, outbox_dedupe_key(entry.id))
    except Exception as exc:  # the relay will publish it when the backend answers again
        log.warning("standings publish deferred to the outbox relay: %s", exc)
        return
    with session_factory.begin() as session:
        session.execute(delete(OutboxEntry).where(OutboxEntry.id == entry.id))
        if stream_id:
            record_standings_id(session, entry, stream_id)


def record_standings_id(session: Session, entry: OutboxEntry, stream_id: str) -> None:
    """Note in the snapshot which stream message carried it (only if still the newest)."""
    version = json.loads(entry.data)["version"]
    session.execute(
        update(StandingsSnapshot)
        .where(StandingsSnapshot.event_id == entry.event_id, StandingsSnapshot.version == version)
        .values(last_event_id=stream_id)
    )


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
