"""Game status transitions for score updates, cancellation and admin corrections."""

import pytest

from models.domain.game_state import (
    STATUSES,
    Placement,
    ScoreUpdate,
    TransitionError,
    apply_score,
    change_placement,
    correction_allowed,
)
from models.domain.periods import Period


def test_statuses() -> None:
    assert STATUSES == ("scheduled", "live", "final", "cancelled", "postponed")


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
        apply_score("abandoned", 0, 0, ScoreUpdate(0, 0, "live"))


@pytest.mark.parametrize(
    ("status", "correct"),
    [
        ("scheduled", False),
        ("live", False),
        ("final", True),
        ("cancelled", False),
        ("postponed", False),
    ],
)
def test_correction_rules(status: str, correct: bool) -> None:
    assert correction_allowed(status) is correct


def test_correction_rejects_unknown_status() -> None:
    with pytest.raises(ValueError):
        correction_allowed("abandoned")


def test_postponed_game_takes_no_scores() -> None:
    with pytest.raises(TransitionError) as info:
        apply_score("postponed", None, None, ScoreUpdate(1, 0, "live"))
    assert info.value.code == "postponed"


@pytest.mark.parametrize("status", ["scheduled", "live", "final"])
def test_cancel_then_restore_returns_to_the_state_left(status: str) -> None:
    cancelled = change_placement(Placement(status), "cancelled")
    assert cancelled == Placement("cancelled", status)
    assert change_placement(cancelled, "scheduled") == Placement(status)


def test_postpone_then_cancel_then_restore_keeps_the_first_state() -> None:
    postponed = change_placement(Placement("live"), "postponed")
    cancelled = change_placement(postponed, "cancelled")
    assert cancelled == Placement("cancelled", "live")
    assert change_placement(cancelled, "scheduled") == Placement("live")


@pytest.mark.parametrize("status", ["scheduled", "live", "final"])
def test_scheduled_for_a_game_on_the_schedule_changes_nothing(status: str) -> None:
    assert change_placement(Placement(status), "scheduled") == Placement(status)


def test_a_final_game_cannot_be_postponed() -> None:
    for current in (Placement("final"), Placement("cancelled", "final")):
        with pytest.raises(TransitionError) as info:
            change_placement(current, "postponed")
        assert info.value.code == "invalid_transition"


def test_a_new_breakdown_alone_is_a_change_while_live() -> None:
    update = ScoreUpdate(1, 0, "live", (Period(1, 0), Period(0, 0)))
    assert apply_score("live", 1, 0, update, (Period(1, 0),)) is True
    assert apply_score("live", 1, 0, update, update.periods or ()) is False


def test_a_final_resend_without_periods_keeps_them_and_changes_nothing() -> None:
    recorded = (Period(1, 0), Period(1, 1))
    assert apply_score("final", 2, 1, ScoreUpdate(2, 1, "final"), recorded) is False
    assert apply_score("final", 2, 1, ScoreUpdate(2, 1, "final", recorded), recorded) is False


def test_a_final_breakdown_changes_only_through_a_correction() -> None:
    recorded = (Period(1, 0), Period(1, 1))
    other = ScoreUpdate(2, 1, "final", (Period(2, 0), Period(0, 1)))
    with pytest.raises(TransitionError) as caught:
        apply_score("final", 2, 1, other, recorded)
    assert caught.value.code == "final_locked"
