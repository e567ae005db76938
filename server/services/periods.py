"""A game's per-period scores as a score update or a correction leaves them, checked against
the event's sport (models/domain/periods.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models import Game
from models.domain import periods as rules
from server.services.errors import InvalidInput


def updated_periods(
    game: Game,
    sport: str | None,
    sent: Sequence[rules.Period] | None,
    score: tuple[int, int],
    *,
    final: bool,
) -> list[dict[str, Any]]:
    """The stored form of the periods the game will have with `score` (InvalidInput, 422 on
    `periods`, when they do not fit the sport or the score). `sent` None: none in the request."""
    same_score = (game.home_score, game.away_score) == score
    current = rules.from_json(game.periods)
    periods = rules.resolve(sent, current, score_unchanged=same_score)
    sport_rules = rules.rules_for(sport)
    try:
        rules.check(sport_rules, periods, *score, final=final)
    except rules.PeriodError as exc:
        # Kept periods the client did not send: say where they come from.
        message = str(exc) if sent is not None else f"the recorded periods: {exc}"
        raise InvalidInput(
            f"the periods do not fit the score: {message}", details={"periods": [message]}
        ) from exc
    return rules.to_json(sport_rules, periods)


def with_periods(
    change: dict[str, dict[str, Any]], old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """An audit entry's old/new values, with the periods when they changed."""
    if old == new:
        return change
    return {"old": {**change["old"], "periods": old}, "new": {**change["new"], "periods": new}}
