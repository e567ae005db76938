"""Periodic housekeeping used by the reconcile task (blocking code: workers only)."""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from models import Game, IdempotencyRecord, RevokedToken, StandingsSnapshot, TokenFamily
from models.base import utcnow


def stale_events(sessions: sessionmaker[Session]) -> list[int]:
    """Events with a game changed after what their last snapshot read (or with no snapshot).

    Compared with `computed_from` (the newest game the snapshot read), not with when it was
    stored: a recompute that read the games just before a final committed is stored after
    that final's `updated_at`, yet does not count it."""
    newest = (
        select(Game.event_id, func.max(Game.updated_at).label("newest"))
        .group_by(Game.event_id)
        .subquery()
    )
    query = (
        select(newest.c.event_id)
        .outerjoin(StandingsSnapshot, StandingsSnapshot.event_id == newest.c.event_id)
        .where(
            or_(
                StandingsSnapshot.computed_from.is_(None),
                StandingsSnapshot.computed_from < newest.c.newest,
            )
        )
    )
    with sessions() as session:
        return list(session.scalars(query))


def prune_expired(sessions: sessionmaker[Session]) -> dict[str, int]:
    now = utcnow()
    with sessions.begin() as session:
        keys = session.execute(
            delete(IdempotencyRecord)
            .where(IdempotencyRecord.expires_at < now)
            .returning(IdempotencyRecord.id)
        )
        tokens = session.execute(
            delete(RevokedToken).where(RevokedToken.expires_at < now).returning(RevokedToken.jti)
        )
        # No token outlives its family (expires_at follows the family's newest pair).
        families = session.execute(
            delete(TokenFamily).where(TokenFamily.expires_at < now).returning(TokenFamily.id)
        )
        return {
            "idempotency_keys_pruned": len(keys.all()),
            "revoked_tokens_pruned": len(tokens.all()),
            "token_families_pruned": len(families.all()),
        }
