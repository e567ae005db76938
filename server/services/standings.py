"""Reading an event's standings from its snapshot."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, StandingsSnapshot
from models.standings_source import standings_payload, table_for
from server.services.events import event_teams


async def standings_for(session: AsyncSession, event: Event) -> dict[str, Any]:
    """The stored table; before the first recompute, every team at zero (version 0)."""
    snapshot = await session.get(StandingsSnapshot, event.id)
    if snapshot is not None:
        return standings_payload(
            event.id, snapshot.version, snapshot.updated_at, snapshot.last_event_id, snapshot.rows
        )
    teams = await event_teams(session, event.id)
    # The event's own rules even with no results: they word each row's `decided_by`.
    rows = [r.as_dict() for r in table_for(event, teams, [])]
    return standings_payload(event.id, 0, None, None, rows)
