"""Moving, postponing, cancelling and restoring a game (PATCH /games/{id}).

A change is checked against the event's schedule rules (409 `schedule_conflict`), audited as
`game.update` with the old and new values, published as a `game` event, and, when a final
result leaves the table or comes back to it, followed by a standings recompute. A dry run
answers the same question and stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, Game, User
from models.domain.constraints import Booking
from models.domain.game_state import OFF_SCHEDULE, Placement, TransitionError, change_placement
from server.policy import Need
from server.schemas.fields import utc_text
from server.services import audit, conflicts
from server.services.errors import Conflict, InvalidInput
from server.services.games import check_version, game_payload, load_game
from server.unit_of_work import publish, recompute

FIELDS = ("starts_at", "venue", "round", "status")
# A change to one of these can break a schedule rule; a new round number cannot.
PLACING = ("starts_at", "venue", "status")


@dataclass(frozen=True)
class GameChange:
    game: dict[str, Any]  # as it is now, or as it would be (a dry run)
    changes: dict[str, Any]  # {"old": {...}, "new": {...}}; empty when nothing changes
    violations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def version(self) -> int:
        return int(self.game["version"])


@dataclass(frozen=True)
class Target:
    starts_at: datetime | None
    venue: str | None
    round: int | None
    placement: Placement

    def values(self) -> dict[str, Any]:
        return {
            "starts_at": self.starts_at,
            "venue": self.venue,
            "round": self.round,
            "status": self.placement.status,
        }


async def change_game(
    session: AsyncSession,
    game_id: int,
    user: User,
    fields: dict[str, Any],
    *,
    expected_version: int | None,
    dry_run: bool,
) -> GameChange:
    game, event = await _lock(session, game_id, user)
    check_version(game, expected_version)
    target = _target(game, fields)
    diff = _diff(game, target)
    if not diff:
        return GameChange(await game_payload(session, game), {})
    found = await _violations(session, event, game, target) if PLACING & diff["new"].keys() else []
    if dry_run:
        would_be = {**(await game_payload(session, game)), **diff["new"]}
        return GameChange(would_be, diff, conflicts.violation_details(found))
    conflicts.require_none(found)
    was_final = game.status == "final"
    game.starts_at, game.venue, game.round = target.starts_at, target.venue, target.round
    game.status, game.held_status = target.placement.status, target.placement.held
    if PLACING & diff["new"].keys():
        game.sequence += 1  # a calendar app replaces its copy only for a higher SEQUENCE
    await session.flush()  # the new version goes into the event
    payload = await game_payload(session, game)
    audit.record(session, "game.update", "game", game.id, diff)
    publish(session, event.id, "game", payload)
    if was_final != (game.status == "final"):
        recompute(session, event.id)  # a result left the table, or came back to it
    return GameChange(payload, diff)


async def _lock(session: AsyncSession, game_id: int, user: User) -> tuple[Game, Event]:
    """The game and its event, authorised, then locked event first (as every schedule
    change locks it) so that concurrent moves in one event are checked one after another."""
    game, event = await load_game(session, game_id, user, Need.MANAGE)
    locked_event = await session.get(Event, event.id, with_for_update=True, populate_existing=True)
    locked_game = await session.get(Game, game.id, with_for_update=True, populate_existing=True)
    assert locked_event is not None and locked_game is not None  # both were just read
    return locked_game, locked_event


def _target(game: Game, fields: dict[str, Any]) -> Target:
    current = Placement(game.status, game.held_status)
    wanted = fields.get("status")
    if wanted is None and game.status == "postponed" and fields.get("starts_at") is not None:
        wanted = "scheduled"  # a new time puts a postponed game back on the schedule
    try:
        placement = change_placement(current, wanted) if wanted else current
    except TransitionError as exc:
        raise Conflict(str(exc), code=exc.code) from exc
    starts_at = fields.get("starts_at", game.starts_at)
    if placement.status == "postponed":
        if fields.get("starts_at") is not None:
            raise InvalidInput(
                "a postponed game has no time yet",
                details={"starts_at": ["must be null or absent for a postponed game"]},
            )
        starts_at = None
    return Target(
        starts_at, fields.get("venue", game.venue), fields.get("round", game.round), placement
    )


def _diff(game: Game, target: Target) -> dict[str, Any]:
    old_values: dict[str, Any] = {}
    new_values: dict[str, Any] = {}
    for name, value in target.values().items():
        old = getattr(game, name)
        if old != value:
            old_values[name], new_values[name] = _plain(old), _plain(value)
    return {"old": old_values, "new": new_values} if new_values else {}


def _plain(value: Any) -> Any:
    return utc_text(value) if isinstance(value, datetime) else value


async def _violations(session: AsyncSession, event: Event, game: Game, target: Target) -> list[Any]:
    if target.placement.status in OFF_SCHEDULE or target.starts_at is None:
        return []  # off the schedule, or untimed: it holds no venue and no team
    moved = Booking(
        game.id, game.id, game.home_team_id, game.away_team_id, target.starts_at, target.venue
    )
    existing = await conflicts.timed_games(session, event.id, excluding=game.id)
    return conflicts.check(conflicts.event_rules(event), existing, [moved])
