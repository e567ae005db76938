"""Reading an event's standings from its snapshot."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, StandingsSnapshot
from models.domain.standings import compute_standings
from models.standings_source import team_entries
from server.services.events import event_teams


async def standings_for(session: AsyncSession, event: Event) -> dict[str, Any]:
    """The stored table; before the first recompute, every team at zero (version 0)."""
    snapshot = await session.get(StandingsSnapshot, event.id)
    if snapshot is not None:
        rows, version, updated_at = snapshot.rows, snapshot.version, snapshot.updated_at
    else:
        teams = await event_teams(session, event.id)
        rows = [r.as_dict() for r in compute_standings(team_entries(teams), [])]
        version, updated_at = 0, None
    return {
        "event_id": event.id,
        "version": version,
        "updated_at": updated_at,
        "last_event_id": None,
        "rows": rows,
    }
