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


def may_view(owner_id: int, visibility: str, user: User | None, *, is_scorekeeper: bool) -> bool:
    """Whether `user` may see an event (cached reads decide from these fields alone)."""
    if is_admin(user) or (user is not None and user.id == owner_id):
        return True
    return visibility == "public" or is_scorekeeper


def _allowed(need: Need, event: Event, user: User | None, is_scorekeeper: bool) -> bool:
    if need is Need.VIEW:
        return may_view(event.owner_id, event.visibility, user, is_scorekeeper=is_scorekeeper)
    if is_admin(user) or (user is not None and user.id == event.owner_id):
        return True
    if need is Need.MANAGE:
        return False
    return is_scorekeeper  # Need.SCORE


def authorize(need: Need, event: Event, user: User | None, *, is_scorekeeper: bool) -> None:
    """Raise NotFound for events the caller may not see (existence is not revealed),
    PermissionDenied for visible events the caller may not change."""
    if not _allowed(Need.VIEW, event, user, is_scorekeeper):
        raise NotFound("no such event")
    if not _allowed(need, event, user, is_scorekeeper):
        raise PermissionDenied(f"you may not {need.value} this event")
