"""Admin actions: score corrections, roles, the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AuditEntry, Game, User
from models.domain.game_state import correction_allowed
from models.domain.periods import Period
from server.policy import Need
from server.services import audit
from server.services.errors import Conflict, NotFound
from server.services.events import load_event, paginate
from server.services.periods import updated_periods, with_periods
from server.unit_of_work import access_changed, pending, recompute


def change_final_score(
    game: Game,
    home: int,
    away: int,
    sport: str | None,
    periods: Sequence[Period] | None = None,
) -> dict[str, Any] | None:
    """Change a final score (and its periods: omitted, they stay while the score does);
    returns old/new values, or None if it already is that score."""
    if not correction_allowed(game.status):
        raise Conflict(
            f"only final scores are corrected; this game is {game.status}", code="not_final"
        )
    stored = updated_periods(game, sport, periods, (home, away), final=True)
    if (game.home_score, game.away_score, game.periods or []) == (home, away, stored):
        return None
    old = {"home_score": game.home_score, "away_score": game.away_score}
    change = with_periods(
        {"old": old, "new": {"home_score": home, "away_score": away}}, game.periods or [], stored
    )
    game.home_score, game.away_score, game.periods = home, away, stored
    return change


async def request_recompute(session: AsyncSession, event_id: int, user: User) -> None:
    """Audit the request and queue a recompute once it commits; the unit of work waits for
    the queue (DispatchUnavailable when it is down), then ``queued_task_id`` names the task."""
    event = await load_event(session, event_id, user, Need.MANAGE)
    audit.record(session, "standings.recompute", "event", event.id)
    recompute(session, event.id, wait=True)


def queued_task_id(session: AsyncSession, event_id: int) -> str:
    """After the unit of work: the id of the recompute task it queued for the event."""
    return pending(session).task_ids[event_id]


async def change_role(session: AsyncSession, user_id: int, role: str) -> User:
    """Set a user's role (audited when it changes)."""
    user, old = await set_role(session, user_id, role)
    if old != user.role:
        details = {"old": {"role": old}, "new": {"role": user.role}}
        audit.record(session, "user.role_change", "user", user.id, details)
    return user


async def set_role(session: AsyncSession, user_id: int, role: str) -> tuple[User, str]:
    # Lock every admin row in id order first: concurrent role changes then run one after
    # the other (no deadlock, and the last-admin check counts what is committed).
    await session.execute(
        select(User.id).where(User.role == "admin").order_by(User.id).with_for_update()
    )
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("no such user")
    old = user.role
    if old == "admin" and role != "admin" and await _admin_count(session) <= 1:
        raise Conflict("the last admin cannot be demoted", code="last_admin")
    user.role = role
    access_changed(session)  # remembered tokens carry the old role
    return user, old


async def _admin_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).where(User.role == "admin")) or 0)


async def audit_entries(
    session: AsyncSession, filters: dict[str, Any], page: int, per_page: int
) -> tuple[list[AuditEntry], int]:
    query = select(AuditEntry)
    if "actor_id" in filters:
        query = query.where(AuditEntry.actor_id == filters["actor_id"])
    if "action" in filters:
        query = query.where(AuditEntry.action == filters["action"])
    if "since" in filters:
        query = query.where(AuditEntry.at >= filters["since"])
    return await paginate(
        session, query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()), page, per_page
    )
