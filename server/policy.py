"""Who may do what with an event: the one place that decides."""

from __future__ import annotations

from enum import Enum

from models import Event, User
from server.services.errors import NotFound, PermissionDenied


class Need(Enum):
    VIEW = "view"  # see the event, its teams, games and standings
    SCORE = "score"  # post scores: owner, scorekeeper, admin
    MANAGE = "manage"  # change the event, teams, schedule, scorekeepers: owner, admin


def is_admin(user: User | None) -> bool:
    return user is not None and user.role == "admin"


def _allowed(need: Need, event: Event, user: User | None, is_scorekeeper: bool) -> bool:
    owner = user is not None and user.id == event.owner_id
    if is_admin(user) or owner:
        return True
    if need is Need.MANAGE:
        return False
    if need is Need.SCORE:
        return is_scorekeeper
    return event.visibility == "public" or is_scorekeeper


def authorize(need: Need, event: Event, user: User | None, *, is_scorekeeper: bool) -> None:
    """Raise NotFound for events the caller may not see (existence is not revealed),
    PermissionDenied for visible events the caller may not change."""
    if not _allowed(Need.VIEW, event, user, is_scorekeeper):
        raise NotFound("no such event")
    if not _allowed(need, event, user, is_scorekeeper):
        raise PermissionDenied(f"you may not {need.value} this event")
