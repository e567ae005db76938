"""Game status rules: which score updates are allowed, and which are no-ops."""

from dataclasses import dataclass

STATUSES = ("scheduled", "live", "final", "cancelled")
_UPDATE_STATUSES = ("live", "final")


class TransitionError(ValueError):
    """A score update the game's current status forbids; ``code`` is machine-readable.

    Codes: ``final_locked``, ``cancelled``, ``invalid_transition``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ScoreUpdate:
    home_score: int
    away_score: int
    status: str  # "live" | "final"

    def __post_init__(self) -> None:
        _require_score(self.home_score)
        _require_score(self.away_score)


def apply_score(
    current_status: str,
    current_home: int | None,
    current_away: int | None,
    update: ScoreUpdate,
) -> bool:
    """Check ``update`` against the current state; True if it changes anything.

    An identical re-send (same status and score) returns False rather than raising, so
    retried requests from scorekeepers are harmless.
    """
    _require_status(current_status)
    if current_status == "cancelled":
        raise TransitionError("cancelled", "a cancelled game cannot receive scores")
    unchanged = (current_status, current_home, current_away) == (
        update.status,
        update.home_score,
        update.away_score,
    )
    if current_status == "final":
        if unchanged:
            return False
        raise TransitionError(
            "final_locked", "final scores change only through an admin correction"
        )
    if update.status not in _UPDATE_STATUSES:
        raise TransitionError(
            "invalid_transition", f"cannot move a {current_status} game to {update.status!r}"
        )
    return not unchanged


def can_cancel(status: str) -> bool:
    """Only games not yet decided can be cancelled."""
    _require_status(status)
    return status in ("scheduled", "live")


def correction_allowed(status: str) -> bool:
    """Admin corrections exist to fix final scores; other states use normal updates."""
    _require_status(status)
    return status == "final"


def _require_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown game status {status!r}")


def _require_score(score: int) -> None:
    # bool is an int subclass, but True is never a meaningful score.
    if not isinstance(score, int) or isinstance(score, bool) or score < 0:
        raise ValueError(f"scores must be non-negative integers, got {score!r}")
