"""Which events a caller may see: public ones, their own, the ones they keep score for;
admins see every event. Shared by the API (async) and the analytics tasks (sync)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, exists, or_, select

from models.events import Event, Scorekeeper


def visible_events(user_id: int | None, *, admin: bool) -> Select[Any]:
    query = select(Event)
    if admin:
        return query
    if user_id is None:
        return query.where(Event.visibility == "public")
    keeps = exists().where(and_(Scorekeeper.event_id == Event.id, Scorekeeper.user_id == user_id))
    return query.where(or_(Event.visibility == "public", Event.owner_id == user_id, keeps))
