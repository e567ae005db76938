"""Task functions. Plain functions of (session factory, nudge, ids): the in-process
dispatcher runs them in a thread pool; Celery workers run the very same functions."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from config.tracing import current_traceparent
from models import Event, Game, OutboxEntry, PendingRecompute, StandingsSnapshot, Team
from models.base import utcnow
from models.standings_source import standings_payload, table_for
from workers.nudge import Nudge

log = logging.getLogger("matchday.tasks")


def recompute_standings(
    session_factory: sessionmaker[Session], nudge: Nudge, event_id: int
) -> int | None:
    """Recompute and store an event's table; returns the new snapshot version.

    Locking the event row serialises concurrent recomputes of one event (PostgreSQL), so
    the last snapshot written always reflects every result committed before it started.
    The `standings` event is written to the outbox in the snapshot's transaction; the
    server's outbox relay is its one publisher, after every entry committed before it (the
    `score` that caused this run among them), so order comes from the outbox. The nudge
    only tells the relays not to wait for their next sweep.
    """
    with session_factory.begin() as session:
        # FOR NO KEY UPDATE: serialises recomputes as FOR UPDATE would, but does not wait for
        # (nor hold up) the foreign-key share locks that every score's outbox and audit rows
        # take on the event row: a recompute no longer stalls the event's score writes.
        event = session.scalar(
            select(Event).where(Event.id == event_id).with_for_update(key_share=True)
        )
        if event is None:
            return None
        # This run reads every result committed so far: the recompute they owe is paid. (On
        # PostgreSQL the DELETE waits for a change still committing its request, then the
        # reads below see that change.)
        session.execute(delete(PendingRecompute).where(PendingRecompute.event_id == event_id))
        teams = session.scalars(select(Team).where(Team.event_id == event_id).order_by(Team.id))
        games = list(session.scalars(select(Game).where(Game.event_id == event_id)))
        rows = [row.as_dict() for row in table_for(event, teams, games)]
        snapshot = _store_snapshot(session, event_id, rows, games)
        payload = standings_payload(event_id, snapshot.version, snapshot.updated_at, None, rows)
        # The task's span (with tracing on): the publication joins the request's trace.
        entry = OutboxEntry(
            event_id=event_id,
            kind="standings",
            data=_json(payload),
            traceparent=current_traceparent(),
        )
        session.add(entry)
    nudge(event_id)
    log.info("standings recomputed", extra={"event_id": event_id, "version": payload["version"]})
    return int(payload["version"])


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


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
