"""Per-user calendar feed tokens: issue (replacing the last one), show, revoke, resolve.

A token is 32 random bytes behind a recognisable prefix; only its SHA-256 is stored, so a
leaked database gives no working feed URL. A fast hash is enough for 256 random bits (no
guessing to slow down), and it lets a feed request find its user by one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CalendarToken, User
from models.base import utcnow
from server.services import audit
from server.services.errors import AuthenticationFailed, NotFound

PREFIX = "mdcal_"


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    created_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def issue(session: AsyncSession, user: User) -> IssuedToken:
    """A new token for `user`; the previous one, if any, stops working at once."""
    token = PREFIX + secrets.token_urlsafe(32)
    created_at = utcnow()
    replaced = await session.get(CalendarToken, user.id, with_for_update=True)
    if replaced is None:
        session.add(
            CalendarToken(user_id=user.id, token_hash=token_hash(token), created_at=created_at)
        )
    else:
        replaced.token_hash, replaced.created_at = token_hash(token), created_at
    await session.flush()
    audit.record(
        session, "user.calendar_token", "user", user.id, {"new": {"replaced": replaced is not None}}
    )
    return IssuedToken(token, created_at)


async def issued_at(session: AsyncSession, user: User) -> datetime:
    """When the caller's current token was issued; NotFound when there is none."""
    current = await session.get(CalendarToken, user.id)
    if current is None:
        raise NotFound("no calendar token; create one with POST", code="no_calendar_token")
    return current.created_at


async def revoke(session: AsyncSession, user: User) -> None:
    """The caller's token stops working (nothing to do when there is none)."""
    result = await session.execute(delete(CalendarToken).where(CalendarToken.user_id == user.id))
    if getattr(result, "rowcount", 0):
        audit.record(session, "user.calendar_token_revoke", "user", user.id, {})


async def user_for_feed_token(session: AsyncSession, token: str) -> User:
    """The user a feed token belongs to; 401 for an unknown or revoked one, whichever event
    it was sent for (so the answer says nothing about the event)."""
    query = select(User).join(CalendarToken, CalendarToken.user_id == User.id)
    user = await session.scalar(query.where(CalendarToken.token_hash == token_hash(token)))
    if user is None:
        raise AuthenticationFailed(
            "this calendar token is not valid (revoked or replaced)", code="invalid_feed_token"
        )
    return user
