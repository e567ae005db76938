"""The schedule rules against the database: an event's rules and timed games, checked as the
pure ``models.domain.constraints`` says, and the 409 `schedule_conflict` that lists what broke.

Every way a game gets a time or a venue goes through here: a new game, a move, a generated
schedule, a CSV import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, Game
from models.bulk import read_rows
from models.domain.constraints import Booking, Rules, Violation, violations
from models.domain.game_state import OFF_SCHEDULE
from server.schemas.fields import utc_text
from server.services.errors import Conflict, InvalidInput

CODE = "schedule_conflict"


def event_rules(event: Event) -> Rules:
    try:
        return Rules.from_json(event.schedule_rules)
    except (ValueError, KeyError, TypeError) as exc:  # stored by hand, not through the API
        raise InvalidInput(
            f"the event's schedule rules are not valid: {exc}",
            details={"schedule_rules": [str(exc)]},
        ) from exc


def _booking(row: Row[Any]) -> Booking:
    return Booking(row.id, row.id, row.home_team_id, row.away_team_id, row.starts_at, row.venue)


async def timed_games(
    session: AsyncSession, event_id: int, *, excluding: int | None = None
) -> list[Booking]:
    """The event's games that hold a time (cancelled and postponed ones hold none), read a
    slice at a time: a season may have 10,000."""
    query = select(Game.id, Game.home_team_id, Game.away_team_id, Game.starts_at, Game.venue).where(
        Game.event_id == event_id,
        Game.starts_at.is_not(None),
        Game.status.not_in(OFF_SCHEDULE),
    )
    if excluding is not None:
        query = query.where(Game.id != excluding)
    return await read_rows(session, query.order_by(Game.id), _booking)


def violation_details(found: Iterable[Violation]) -> list[dict[str, Any]]:
    """Violations as the API shows them (details.violations, dry runs)."""
    return [
        {**v.as_dict(), "starts_at": None if v.starts_at is None else utc_text(v.starts_at)}
        for v in found
    ]


def conflict(found: Sequence[Violation]) -> Conflict:
    rules = sorted({v.rule for v in found})
    count = len(found)
    return Conflict(
        f"{count} schedule rule violation{'s' if count != 1 else ''}: {', '.join(rules)}",
        code=CODE,
        details={"violations": violation_details(found)},
    )


def check(rules: Rules, existing: Sequence[Booking], new: Sequence[Booking]) -> list[Violation]:
    """What the `new` games break, among themselves or with the `existing` ones (older clashes
    between existing games are not theirs to answer for)."""
    return violations(rules, [*existing, *new], focus=[b.key for b in new])


def require_none(found: Sequence[Violation]) -> None:
    if found:
        raise conflict(found)
