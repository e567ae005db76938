"""Game status rules: which score updates are allowed, and which are no-ops."""

from collections.abc import Sequence
from dataclasses import dataclass

from models.domain.periods import Period, resolve

STATUSES = ("scheduled", "live", "final", "cancelled", "postponed")
_UPDATE_STATUSES = ("live", "final")
# What PATCH /games/{id} may ask for: "scheduled" puts a game back on the schedule.
SCHEDULE_STATUSES = ("scheduled", "postponed", "cancelled")
OFF_SCHEDULE = ("postponed", "cancelled")  # never count in standings, break no schedule rule


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
    periods: tuple[Period, ...] | None = None  # None: not sent (see periods.resolve)

    def __post_init__(self) -> None:
        _require_score(self.home_score)
        _require_score(self.away_score)


def apply_score(
    current_status: str,
    current_home: int | None,
    current_away: int | None,
    update: ScoreUpdate,
    current_periods: Sequence[Period] = (),
) -> bool:
    """Check ``update`` against the current state; True if it changes anything.

    An identical re-send (same status, score and periods, or no periods) returns False rather
    than raising, so retried requests from scorekeepers are harmless.
    """
    _require_status(current_status)
    if current_status == "cancelled":
        raise TransitionError("cancelled", "a cancelled game cannot receive scores")
    if current_status == "postponed":
        raise TransitionError("postponed", "a postponed game needs a new time before scores")
    same_score = (current_home, current_away) == (update.home_score, update.away_score)
    periods = resolve(update.periods, current_periods, score_unchanged=same_score)
    unchanged = current_status == update.status and same_score and periods == tuple(current_periods)
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


@dataclass(frozen=True)
class Placement:
    """A game's status and the status it returns to when restored (`held`: set while it is
    cancelled or postponed, None otherwise)."""

    status: str
    held: str | None = None


def change_placement(current: Placement, target: str) -> Placement:
    """Postpone, cancel or restore ("scheduled") a game. A restored game returns to the state
    it left (scheduled, live or final, its score kept); asking for "scheduled" for a game on
    the schedule changes nothing."""
    _require_status(current.status)
    if target not in SCHEDULE_STATUSES:
        raise ValueError(f"unknown schedule status {target!r}")
    off = current.status in OFF_SCHEDULE
    origin = (current.held or "scheduled") if off else current.status
    if target == "scheduled":
        return Placement(origin) if off else current
    if target == "postponed" and origin == "final":
        raise TransitionError(
            "invalid_transition", "a final game cannot be postponed; cancel it instead"
        )
    return Placement(target, origin)


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
