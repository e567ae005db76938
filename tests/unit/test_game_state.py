"""Game status transitions for score updates, cancellation and admin corrections."""

import pytest

from models.domain.game_state import (
    STATUSES,
    ScoreUpdate,
    TransitionError,
    apply_score,
    can_cancel,
    correction_allowed,
)


def test_statuses() -> None:
    assert STATUSES == ("scheduled", "live", "final", "cancelled")


@pytest.mark.parametrize("target", ["live", "final"])
def test_scheduled_game_can_go_live_or_final(target: str) -> None:
    assert apply_score("scheduled", None, None, ScoreUpdate(0, 0, target)) is True
    assert apply_score("scheduled", 0, 0, ScoreUpdate(0, 0, target)) is True


def test_live_score_change_is_a_change() -> None:
    assert apply_score("live", 1, 0, ScoreUpdate(1, 1, "live")) is True


def test_live_identical_resend_is_a_noop() -> None:
    assert apply_score("live", 2, 1, ScoreUpdate(2, 1, "live")) is False


def test_live_score_can_go_down_to_fix_a_mistake() -> None:
    assert apply_score("live", 2, 1, ScoreUpdate(1, 1, "live")) is True


@pytest.mark.parametrize("score", [(2, 1), (3, 1)])
def test_live_to_final_is_a_change(score: tuple[int, int]) -> None:
    assert apply_score("live", 2, 1, ScoreUpdate(*score, "final")) is True


def test_final_identical_resend_is_a_noop() -> None:
    assert apply_score("final", 2, 1, ScoreUpdate(2, 1, "final")) is False


@pytest.mark.parametrize(
    "update", [ScoreUpdate(2, 2, "final"), ScoreUpdate(2, 1, "live"), ScoreUpdate(0, 0, "live")]
)
def test_final_is_locked(update: ScoreUpdate) -> None:
    with pytest.raises(TransitionError, match="admin correction") as info:
        apply_score("final", 2, 1, update)
    assert info.value.code == "final_locked"


@pytest.mark.parametrize("update", [ScoreUpdate(0, 0, "live"), ScoreUpdate(1, 0, "final")])
def test_cancelled_game_takes_no_scores(update: ScoreUpdate) -> None:
    with pytest.raises(TransitionError) as info:
        apply_score("cancelled", None, None, update)
    assert info.value.code == "cancelled"


@pytest.mark.parametrize("target", ["scheduled", "cancelled", "halftime"])
def test_score_updates_only_move_to_live_or_final(target: str) -> None:
    with pytest.raises(TransitionError) as info:
        apply_score("live", 0, 0, ScoreUpdate(0, 0, target))
    assert info.value.code == "invalid_transition"


def test_transition_error_is_a_value_error() -> None:
    err = TransitionError("final_locked", "nope")
    assert isinstance(err, ValueError)
    assert (err.code, str(err)) == ("final_locked", "nope")


@pytest.mark.parametrize("scores", [(-1, 0), (0, -3), (1.0, 0), (True, 0), ("1", 0), (None, 0)])
def test_scores_must_be_non_negative_ints(scores: tuple[object, object]) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        ScoreUpdate(*scores, "live")  # type: ignore[arg-type]


def test_unknown_current_status_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown game status"):
        apply_score("postponed", 0, 0, ScoreUpdate(0, 0, "live"))


@pytest.mark.parametrize(
    ("status", "cancel", "correct"),
    [
        ("scheduled", True, False),
        ("live", True, False),
        ("final", False, True),
        ("cancelled", False, False),
    ],
)
def test_cancel_and_correction_rules(status: str, cancel: bool, correct: bool) -> None:
    assert can_cancel(status) is cancel
    assert correction_allowed(status) is correct


def test_cancel_and_correction_reject_unknown_status() -> None:
    with pytest.raises(ValueError):
        can_cancel("postponed")
    with pytest.raises(ValueError):
        correction_allowed("postponed")
