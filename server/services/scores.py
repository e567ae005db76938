"""Recording a score from the touchline, and an admin's correction of a final one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, Game, User
from models.domain.game_state import ScoreUpdate
from models.domain.periods import Period
from server.policy import Need
from server.services import admin, audit, idempotency, scheduling
from server.services.games import (
    change_score,
    check_version,
    game_payload,
    load_game,
    named_payload,
    store_score,
    team_names,
)
from server.unit_of_work import publish, recompute


@dataclass(frozen=True)
class IdempotentRequest:
    """A request sent with an Idempotency-Key: its first reply is kept for `ttl_seconds`."""

    key: str
    fingerprint: str
    ttl_seconds: int


@dataclass(frozen=True)
class ScoreReply:
    status: int
    body: str  # the game as JSON, or the stored first reply
    version: int | None  # None for a replayed reply
    replayed: bool = False


async def post_score(
    session: AsyncSession,
    game_id: int,
    user: User,
    update: ScoreUpdate,
    *,
    expected_version: int | None,
    idempotent: IdempotentRequest | None,
) -> ScoreReply:
    """Record a score with its audit entry, its live events (and a knockout's next round)
    and, for a final, a standings recompute; replay the first reply of a retried key."""
    # The row lock orders concurrent scores (and retries of one key) on PostgreSQL.
    game, event = await load_game(session, game_id, user, Need.SCORE, lock=True)
    if idempotent:
        stored = await idempotency.lookup(session, user.id, idempotent.key, idempotent.fingerprint)
        if stored:
            return ScoreReply(stored.status, stored.body, None, replayed=True)
    published = await _apply(session, event, game, update, expected_version)
    # The reply is the game as the `score` event carries it: the payload is built once.
    payload = published if published is not None else await game_payload(session, game)
    body = json.dumps(payload, separators=(",", ":"))
    if idempotent:
        reply = idempotency.StoredReply(200, body)
        await idempotency.remember(
            session, user.id, idempotent.key, idempotent.fingerprint, reply, idempotent.ttl_seconds
        )
    return ScoreReply(200, body, game.version)


async def _apply(
    session: AsyncSession,
    event: Event,
    game: Game,
    update: ScoreUpdate,
    expected_version: int | None,
) -> dict[str, Any] | None:
    """Record the score; the game's payload as published, or None when nothing changed."""
    check_version(game, expected_version)
    scheduling.require_knockout_winner(
        event, game, update.home_score, update.away_score, update.status
    )
    change = change_score(game, update, event.sport)
    if not change:
        return None  # the identical score again: nothing to record, publish or recompute
    audited, values = change
    await store_score(session, game, values)  # the new version goes into the event
    audit.record(session, "game.score", "game", game.id, audited)
    payload = await game_payload(session, game)
    publish(session, event.id, "score", payload)
    if update.status == "final":
        drawn_games = await scheduling.advance_knockout(session, event, game)
        names = await team_names(session, drawn_games)  # one query for a whole round
        for drawn in drawn_games:
            publish(session, event.id, "game", named_payload(drawn, names))
        recompute(session, event.id)
    return payload


async def correct_score(
    session: AsyncSession,
    game_id: int,
    user: User,
    home: int,
    away: int,
    reason: str,
    periods: Sequence[Period] | None = None,
) -> dict[str, Any]:
    """An admin's correction of a final score (and its periods): audited with its reason,
    published as a `correction`, and the table recomputed. Returns the game's payload."""
    game, event = await load_game(session, game_id, user, Need.MANAGE, lock=True)
    change = admin.change_final_score(game, home, away, event.sport, periods)
    if change:
        await session.flush()
    payload = await game_payload(session, game)
    if change:
        audit.record(session, "game.correct", "game", game.id, {**change, "reason": reason})
        publish(session, event.id, "correction", {"game": payload, "reason": reason})
        recompute(session, event.id)
    return payload
