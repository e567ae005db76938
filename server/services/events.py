"""Events, scorekeepers and teams."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, Game, Scorekeeper, Team, User
from models.visibility import visible_events
from server.policy import Need, authorize, is_admin
from server.services import audit
from server.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from server.unit_of_work import forget_standings, recompute


async def scorekeeper_ids(session: AsyncSession, event_id: int) -> frozenset[int]:
    query = select(Scorekeeper.user_id).where(Scorekeeper.event_id == event_id)
    return frozenset(await session.scalars(query))


async def is_scorekeeper(session: AsyncSession, event_id: int, user: User | None) -> bool:
    if user is None:
        return False
    return await session.get(Scorekeeper, (event_id, user.id)) is not None


async def load_event(
    session: AsyncSession, event_id: int, user: User | None, need: Need, *, lock: bool = False
) -> Event:
    """The event if `user` has `need` on it; NotFound / PermissionDenied otherwise."""
    event = await session.get(Event, event_id, with_for_update=lock or None)
    if event is None:
        raise NotFound("no such event")
    authorize(need, event, user, is_scorekeeper=await is_scorekeeper(session, event_id, user))
    return event


async def create_event(session: AsyncSession, owner: User, fields: dict[str, Any]) -> Event:
    event = Event(owner_id=owner.id, **fields)
    session.add(event)
    await session.flush()
    audit.record(session, "event.create", "event", event.id, {"new": {"name": event.name}})
    return event


async def change_event(
    session: AsyncSession, event_id: int, user: User | None, changes: dict[str, Any]
) -> Event:
    """A partial update, audited as old/new values (and the `reason`, when given); a new
    visibility drops cached tables, new scoring or tiebreakers recompute them."""
    changes = dict(changes)
    reason = changes.pop("reason", None)
    event = await load_event(session, event_id, user, Need.MANAGE, lock=True)
    if "tiebreakers" in changes and changes["tiebreakers"] != event.tiebreakers:
        await _check_tiebreakers_may_change(session, event, user, reason)
    diff = update_event(event, changes)
    if not diff:
        return event
    await session.flush()
    audit.record(session, "event.update", "event", event.id, _with_reason(diff, reason))
    changed = diff["new"].keys()
    if "visibility" in changed:
        forget_standings(session, event.id)
    if {"scoring", "tiebreakers"} & changed:
        recompute(session, event.id)
    return event


async def results_recorded(session: AsyncSession, event_id: int) -> bool:
    """Whether any result has been recorded: a final game, or one that was final and has
    since been cancelled or postponed (it keeps its score to return to)."""
    recorded = (Game.status == "final") | (Game.held_status == "final")
    query = select(Game.id).where(Game.event_id == event_id, recorded).limit(1)
    return await session.scalar(query) is not None


async def _check_tiebreakers_may_change(
    session: AsyncSession, event: Event, user: User | None, reason: str | None
) -> None:
    """The tiebreakers freeze with the first result: reordering them mid-season would move
    teams without a game played, so only an admin may, and must say why."""
    if not await results_recorded(session, event.id):
        return
    if not is_admin(user):
        raise PermissionDenied(
            "the tiebreakers are frozen once a result is recorded; ask an admin",
            code="tiebreakers_frozen",
        )
    if not reason:
        raise InvalidInput(
            "changing the tiebreakers after a result is recorded needs a reason",
            details={"reason": ["required to change tiebreakers once a result is recorded"]},
        )


def _with_reason(diff: dict[str, Any], reason: str | None) -> dict[str, Any]:
    return {**diff, "reason": reason} if reason else diff


def _visible_events(user: User | None) -> Select[Any]:
    return visible_events(user.id if user else None, admin=is_admin(user))


async def list_events(
    session: AsyncSession, user: User | None, page: int, per_page: int
) -> tuple[list[Event], int]:
    return await paginate(session, _visible_events(user).order_by(Event.id), page, per_page)


async def paginate(
    session: AsyncSession, query: Select[Any], page: int, per_page: int
) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = await session.scalars(query.limit(per_page).offset((page - 1) * per_page))
    return list(rows), int(total or 0)


def update_event(event: Event, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply a partial update; returns {"old": {field: value}, "new": {field: value}} for the
    fields that changed (empty when none did)."""
    starts = changes.get("starts_on", event.starts_on)
    ends = changes.get("ends_on", event.ends_on)
    if starts and ends and ends < starts:
        raise InvalidInput("ends_on is before starts_on", details={"ends_on": ["before starts_on"]})
    old_values: dict[str, Any] = {}
    new_values: dict[str, Any] = {}
    for name, value in changes.items():
        old = getattr(event, name)
        if old != value:
            old_values[name], new_values[name] = _plain(old), _plain(value)
            setattr(event, name, value)
    return {"old": old_values, "new": new_values} if new_values else {}


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def name_scorekeeper(
    session: AsyncSession, event_id: int, user: User | None, keeper_id: int
) -> Scorekeeper:
    event = await load_event(session, event_id, user, Need.MANAGE)
    keeper = await add_scorekeeper(session, event, keeper_id)
    audit.record(session, "event.update", "event", event.id, {"new": {"scorekeeper": keeper_id}})
    return keeper


async def add_scorekeeper(session: AsyncSession, event: Event, user_id: int) -> Scorekeeper:
    if await session.get(User, user_id) is None:
        raise InvalidInput("no such user", details={"user_id": ["no such user"]})
    if await session.get(Scorekeeper, (event.id, user_id)) is not None:
        raise Conflict("this user already keeps score for the event", code="already_scorekeeper")
    keeper = Scorekeeper(event_id=event.id, user_id=user_id)
    session.add(keeper)
    await session.flush()
    return keeper


async def create_team(
    session: AsyncSession, event_id: int, user: User | None, name: str, group: str | None
) -> Team:
    """A new team (audited); it joins the table at zero, so the table is recomputed."""
    event = await load_event(session, event_id, user, Need.MANAGE)
    team = await add_team(session, event, name, group)
    details = {"new": {"name": team.name, "group": team.group, "event_id": event.id}}
    audit.record(session, "team.create", "team", team.id, details)
    recompute(session, event.id)
    return team


async def add_team(session: AsyncSession, event: Event, name: str, group: str | None) -> Team:
    taken = await session.scalar(
        select(Team.id).where(Team.event_id == event.id, func.lower(Team.name) == name.lower())
    )
    if taken is not None:
        raise Conflict("a team with this name is already in the event", code="team_name_taken")
    team = Team(event_id=event.id, name=name, group=group)
    session.add(team)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "a team with this name is already in the event", code="team_name_taken"
        ) from exc
    return team


async def list_teams(
    session: AsyncSession, event_id: int, page: int, per_page: int
) -> tuple[list[Team], int]:
    query = select(Team).where(Team.event_id == event_id).order_by(Team.id)
    return await paginate(session, query, page, per_page)


async def event_teams(session: AsyncSession, event_id: int) -> list[Team]:
    rows = await session.scalars(select(Team).where(Team.event_id == event_id).order_by(Team.id))
    return list(rows)
