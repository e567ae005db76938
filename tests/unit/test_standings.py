"""Hand-built tables for the standings rules (points, tiebreakers, groups, ranks)."""

import pytest

from models.domain.standings import (
    DEFAULT_TIEBREAKERS,
    TIEBREAKERS,
    Result,
    Row,
    Scoring,
    TeamEntry,
    compute_standings,
    validate_tiebreakers,
)


def league(*names: str, group: str | None = None, first_id: int = 1) -> list[TeamEntry]:
    return [TeamEntry(first_id + i, name, group) for i, name in enumerate(names)]


def games(teams: list[TeamEntry], *scores: tuple[str, str, int, int]) -> list[Result]:
    ids = {t.name: t.team_id for t in teams}
    return [Result(ids[h], ids[a], hs, as_) for h, a, hs, as_ in scores]


def table(rows: list[Row]) -> list[tuple[int, str, int]]:
    return [(r.rank, r.team_name, r.points) for r in rows]


def order(rows: list[Row]) -> list[tuple[int, str]]:
    return [(r.rank, r.team_name) for r in rows]


# --- basics ----------------------------------------------------------------------------------


def test_constants() -> None:
    assert TIEBREAKERS == (
        "score_diff",
        "score_for",
        "wins",
        "head_to_head",
        "fewest_score_against",
    )
    assert DEFAULT_TIEBREAKERS == ("score_diff", "score_for", "head_to_head")
    assert Scoring() == Scoring(win=3, draw=1, loss=0)


def test_counts_wins_draws_losses_and_goals() -> None:
    teams = league("A", "B", "C")
    results = games(teams, ("A", "B", 2, 0), ("B", "C", 1, 1), ("C", "A", 3, 1))
    rows = {r.team_name: r for r in compute_standings(teams, results)}
    assert rows["A"].as_dict() == {
        "rank": 2,
        "group": None,
        "team_id": 1,
        "team_name": "A",
        "played": 2,
        "won": 1,
        "drawn": 0,
        "lost": 1,
        "score_for": 3,
        "score_against": 3,
        "score_diff": 0,
        "points": 3,
        "decided_by": {"rule": "points", "over": [2], "detail": "points 3\u20131"},
    }
    assert (rows["B"].won, rows["B"].drawn, rows["B"].lost, rows["B"].points) == (0, 1, 1, 1)
    assert (rows["C"].score_for, rows["C"].score_against, rows["C"].points) == (4, 2, 4)
    assert table(compute_standings(teams, results)) == [(1, "C", 4), (2, "A", 3), (3, "B", 1)]


def test_as_dict_has_exactly_the_field_names_in_order() -> None:
    row = compute_standings(league("A"), [])[0]
    assert list(row.as_dict()) == [
        "rank",
        "group",
        "team_id",
        "team_name",
        "played",
        "won",
        "drawn",
        "lost",
        "score_for",
        "score_against",
        "score_diff",
        "points",
        "decided_by",
    ]


def test_teams_without_games_appear_with_zeros_and_share_first_place() -> None:
    rows = compute_standings(league("b", "A", "c"), [])
    assert order(rows) == [(1, "A"), (1, "b"), (1, "c")]
    assert all(r.played == r.points == r.score_for == r.score_diff == 0 for r in rows)


def test_no_teams_gives_empty_table() -> None:
    assert compute_standings([], []) == []


def test_custom_scoring_two_one_zero() -> None:
    teams = league("A", "B", "C")
    results = games(teams, ("A", "B", 1, 0), ("B", "C", 0, 0), ("C", "A", 0, 0))
    rows = compute_standings(teams, results, scoring=Scoring(win=2, draw=1, loss=0))
    assert table(rows) == [(1, "A", 3), (2, "C", 2), (3, "B", 1)]


def test_unusual_scoring_values_are_used_verbatim() -> None:
    teams = league("A", "B")
    rows = compute_standings(teams, games(teams, ("A", "B", 1, 0)), scoring=Scoring(5, 2, -1))
    assert table(rows) == [(1, "A", 5), (2, "B", -1)]


def test_results_with_unknown_teams_are_ignored() -> None:
    teams = league("A", "B")
    results = [Result(1, 2, 1, 0), Result(1, 99, 5, 0), Result(98, 2, 0, 5)]
    rows = {r.team_name: r for r in compute_standings(teams, results)}
    assert (rows["A"].played, rows["A"].score_for) == (1, 1)
    assert (rows["B"].played, rows["B"].score_against) == (1, 1)


def test_negative_scores_are_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        Result(1, 2, -1, 0)


def test_duplicate_team_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate team_id"):
        compute_standings([TeamEntry(1, "A", None), TeamEntry(1, "B", None)], [])


# --- ranks and listing order -----------------------------------------------------------------


def test_shared_ranks_are_competition_style() -> None:
    teams = league("A", "B", "C", "D")
    results = games(
        teams,
        ("A", "B", 1, 0),
        ("A", "C", 1, 0),
        ("A", "D", 1, 0),
        ("B", "C", 0, 0),
        ("B", "D", 1, 0),
        ("C", "D", 1, 0),
    )
    assert [r.rank for r in compute_standings(teams, results)] == [1, 2, 2, 4]


def test_ties_are_listed_by_name_case_insensitively() -> None:
    teams = league("zeta", "Beta", "alpha", "Gamma")
    assert [r.team_name for r in compute_standings(teams, [])] == ["alpha", "Beta", "Gamma", "zeta"]


def test_ties_with_the_same_name_fall_back_to_team_id() -> None:
    teams = [TeamEntry(7, "Same", None), TeamEntry(3, "same", None)]
    assert [r.team_id for r in compute_standings(teams, [])] == [3, 7]


def test_higher_points_rank_first_despite_worse_goal_difference() -> None:
    teams = league("A", "B", "C")
    results = games(teams, ("A", "C", 1, 0), ("A", "B", 1, 0), ("B", "C", 9, 0))
    assert table(compute_standings(teams, results)) == [(1, "A", 6), (2, "B", 3), (3, "C", 0)]


def test_empty_tiebreakers_rank_by_points_only() -> None:
    teams = league("A", "B", "C")
    results = games(teams, ("A", "C", 5, 0), ("B", "C", 1, 0))
    assert order(compute_standings(teams, results, tiebreakers=[])) == [
        (1, "A"),
        (1, "B"),
        (3, "C"),
    ]
    assert order(compute_standings(teams, results)) == [(1, "A"), (2, "B"), (3, "C")]


# --- individual tiebreakers ------------------------------------------------------------------


def test_score_diff_then_score_for() -> None:
    teams = league("A", "B", "C", "D")
    # A, B, C all beat D: A by 2 (2-0), B by 2 (3-1), C by 3 (3-0).
    results = games(teams, ("A", "D", 2, 0), ("B", "D", 3, 1), ("C", "D", 3, 0))
    assert order(compute_standings(teams, results, tiebreakers=["score_diff"])) == [
        (1, "C"),
        (2, "A"),
        (2, "B"),
        (4, "D"),
    ]
    rows = compute_standings(teams, results, tiebreakers=["score_diff", "score_for"])
    assert order(rows) == [(1, "C"), (2, "B"), (3, "A"), (4, "D")]
    rows = compute_standings(teams, results, tiebreakers=["score_for", "score_diff"])
    assert order(rows) == [(1, "C"), (2, "B"), (3, "A"), (4, "D")]


def test_score_for_before_score_diff() -> None:
    teams = league("A", "B", "C")
    # A beats C 4-3 (diff +1, for 4); B beats C 2-0 (diff +2, for 2).
    results = games(teams, ("A", "C", 4, 3), ("B", "C", 2, 0))
    assert order(compute_standings(teams, results, tiebreakers=["score_for"]))[:2] == [
        (1, "A"),
        (2, "B"),
    ]
    assert order(compute_standings(teams, results, tiebreakers=["score_diff"]))[:2] == [
        (1, "B"),
        (2, "A"),
    ]


def test_wins_tiebreaker_prefers_more_wins() -> None:
    teams = league("A", "B", "C")
    # Two legs, 2/1/0 scoring: A and C win one and lose one (4 points), B draws all four.
    results = games(
        teams,
        ("A", "C", 1, 0),
        ("C", "A", 1, 0),
        ("B", "C", 0, 0),
        ("C", "B", 0, 0),
        ("A", "B", 0, 0),
        ("B", "A", 0, 0),
    )
    level = Scoring(win=2, draw=1, loss=0)
    rows = compute_standings(teams, results, scoring=level, tiebreakers=["wins"])
    assert [(r.rank, r.team_name, r.points, r.won) for r in rows] == [
        (1, "A", 4, 1),
        (1, "C", 4, 1),
        (3, "B", 4, 0),
    ]
    untied = compute_standings(teams, results, scoring=level, tiebreakers=[])
    assert [r.rank for r in untied] == [1, 1, 1]


def test_fewest_score_against_prefers_the_tighter_defence() -> None:
    teams = league("A", "B", "C")
    # A beats C 3-2, B beats C 1-0: equal diff, A scored more but conceded more.
    results = games(teams, ("A", "C", 3, 2), ("B", "C", 1, 0))
    rows = compute_standings(teams, results, tiebreakers=["fewest_score_against"])
    assert order(rows) == [(1, "B"), (2, "A"), (3, "C")]
    rows = compute_standings(teams, results, tiebreakers=["score_diff", "score_for"])
    assert order(rows) == [(1, "A"), (2, "B"), (3, "C")]


# --- head to head ----------------------------------------------------------------------------


def test_two_team_head_to_head() -> None:
    teams = league("A", "B", "C", "D")
    # A and B level on 3 points; A won their game, but B has the better goal difference.
    results = games(teams, ("A", "B", 1, 0), ("B", "C", 5, 0), ("D", "A", 1, 0), ("D", "C", 0, 0))
    h2h_first = compute_standings(teams, results, tiebreakers=["head_to_head"])
    assert table(h2h_first) == [(1, "D", 4), (2, "A", 3), (3, "B", 3), (4, "C", 1)]
    diff_first = compute_standings(teams, results, tiebreakers=["score_diff", "head_to_head"])
    assert order(diff_first) == [(1, "D"), (2, "B"), (3, "A"), (4, "C")]


def test_head_to_head_uses_mini_goal_difference_when_mini_points_are_level() -> None:
    teams = league("A", "B", "C")
    # A cycle on mini points (3 each), separated by mini goal difference: A +1, C 0, B -1.
    results = games(teams, ("A", "B", 2, 0), ("B", "C", 1, 0), ("C", "A", 1, 0))
    rows = compute_standings(teams, results, tiebreakers=["head_to_head"])
    assert order(rows) == [(1, "A"), (2, "C"), (3, "B")]


def test_head_to_head_uses_mini_score_for_last() -> None:
    teams = league("A", "B", "C")
    # A cycle of one-goal wins: mini points and difference level, mini goals 3 / 4 / 2.
    results = games(teams, ("A", "B", 3, 2), ("B", "C", 2, 1), ("C", "A", 1, 0))
    rows = compute_standings(teams, results, tiebreakers=["head_to_head"])
    assert order(rows) == [(1, "B"), (2, "A"), (3, "C")]


def test_three_team_cycle_stays_tied_and_falls_to_the_next_tiebreaker() -> None:
    teams = league("A", "B", "C", "D")
    # A beat B, B beat C, C beat A, all 1-0; all three draw D with different scores.
    results = games(teams, ("A", "B", 1, 0), ("B", "C", 1, 0), ("C", "A", 1, 0))
    results += games(teams, ("A", "D", 2, 2), ("B", "D", 1, 1), ("C", "D", 0, 0))
    only_h2h = compute_standings(teams, results, tiebreakers=["head_to_head"])
    assert table(only_h2h) == [(1, "A", 4), (1, "B", 4), (1, "C", 4), (4, "D", 3)]
    with_wins = compute_standings(teams, results, tiebreakers=["head_to_head", "wins"])
    assert order(with_wins) == order(only_h2h)
    then_for = compute_standings(teams, results, tiebreakers=["head_to_head", "score_for"])
    assert order(then_for) == [(1, "A"), (2, "B"), (3, "C"), (4, "D")]


def test_two_team_cycle_over_two_legs_stays_tied() -> None:
    teams = league("A", "B", "C")
    # A and B each win once 1-0, so head to head is level; C decides nothing between them.
    results = games(teams, ("A", "B", 1, 0), ("B", "A", 1, 0), ("A", "C", 2, 0), ("B", "C", 3, 0))
    rows = compute_standings(teams, results, tiebreakers=["head_to_head"])
    assert order(rows) == [(1, "A"), (1, "B"), (3, "C")]
    rows = compute_standings(teams, results, tiebreakers=["head_to_head", "score_for"])
    assert order(rows) == [(1, "B"), (2, "A"), (3, "C")]


def test_head_to_head_separates_one_then_reapplies_to_the_remaining_pair() -> None:
    teams = league("A", "B", "C")
    # All 3 points. Mini-table of three: A (-2), B (+1, 4 for), C (+1, 4 for).
    # B and C are level there, but B beat C in their own game, so B goes above C.
    results = games(teams, ("A", "B", 2, 1), ("B", "C", 3, 1), ("C", "A", 3, 0))
    rows = compute_standings(teams, results, tiebreakers=["head_to_head"])
    assert order(rows) == [(1, "B"), (2, "C"), (3, "A")]
    rows = compute_standings(teams, results)  # score_diff, score_for, head_to_head
    assert order(rows) == [(1, "B"), (2, "C"), (3, "A")]


def test_later_tiebreaker_never_hands_back_to_head_to_head() -> None:
    teams = league("A", "B", "C", "D")
    # Cycle among A, B, C (all 1-0); all beat D, A by more. score_diff lifts A out,
    # leaving B and C level: B beat C, but head to head has already had its turn.
    results = games(teams, ("A", "B", 1, 0), ("B", "C", 1, 0), ("C", "A", 1, 0))
    results += games(teams, ("A", "D", 3, 0), ("B", "D", 1, 0), ("C", "D", 1, 0))
    rows = compute_standings(teams, results, tiebreakers=["head_to_head", "score_diff"])
    assert order(rows) == [(1, "A"), (2, "B"), (2, "C"), (4, "D")]
    # With head to head after score_diff, the pair is split by their own game.
    rows = compute_standings(teams, results, tiebreakers=["score_diff", "head_to_head"])
    assert order(rows) == [(1, "A"), (2, "B"), (3, "C"), (4, "D")]


def test_head_to_head_without_mutual_games_separates_no_one() -> None:
    teams = league("A", "B", "C")
    results = games(teams, ("A", "C", 1, 0), ("B", "C", 4, 0))
    rows = compute_standings(teams, results, tiebreakers=["head_to_head"])
    assert order(rows) == [(1, "A"), (1, "B"), (3, "C")]
    rows = compute_standings(teams, results, tiebreakers=["head_to_head", "score_diff"])
    assert order(rows) == [(1, "B"), (2, "A"), (3, "C")]


# --- groups ----------------------------------------------------------------------------------


def test_groups_get_separate_tables_ordered_none_first_then_case_insensitive() -> None:
    teams = [
        *league("b1", "b2", group="b", first_id=1),
        *league("A1", "A2", group="A", first_id=10),
        *league("N1", group=None, first_id=20),
    ]
    results = [Result(2, 1, 1, 0), Result(10, 11, 0, 0)]
    rows = compute_standings(teams, results)
    assert [(r.group, r.rank, r.team_name) for r in rows] == [
        (None, 1, "N1"),
        ("A", 1, "A1"),
        ("A", 1, "A2"),
        ("b", 1, "b2"),
        ("b", 2, "b1"),
    ]


def test_cross_group_games_are_ignored() -> None:
    teams = [*league("A1", "A2", group="A"), *league("B1", "B2", group="B", first_id=3)]
    results = [Result(1, 3, 5, 0), Result(4, 2, 2, 0), Result(1, 2, 0, 1)]
    rows = {r.team_name: r for r in compute_standings(teams, results)}
    assert (rows["A1"].played, rows["A1"].points, rows["A1"].score_for) == (1, 0, 0)
    assert (rows["A2"].rank, rows["A2"].points) == (1, 3)
    assert all(rows[name].played == 0 for name in ("B1", "B2"))
    assert rows["B1"].rank == rows["B2"].rank == 1


def test_ranks_restart_in_each_group() -> None:
    teams = [*league("A1", "A2", group="A"), *league("B1", "B2", group="B", first_id=3)]
    results = [Result(1, 2, 1, 0), Result(3, 4, 1, 0)]
    assert [(r.group, r.rank) for r in compute_standings(teams, results)] == [
        ("A", 1),
        ("A", 2),
        ("B", 1),
        ("B", 2),
    ]


# --- validation ------------------------------------------------------------------------------


def test_validate_tiebreakers_accepts_known_names() -> None:
    assert validate_tiebreakers(TIEBREAKERS) == []
    assert validate_tiebreakers([]) == []
    assert validate_tiebreakers(DEFAULT_TIEBREAKERS) == []


def test_validate_tiebreakers_reports_unknown_and_duplicate_names() -> None:
    errors = validate_tiebreakers(["score_diff", "goal_average", "score_diff"])
    assert len(errors) == 2
    assert "unknown tiebreaker 'goal_average'" in errors[0]
    assert errors[1] == "duplicate tiebreaker 'score_diff'"


def test_validate_tiebreakers_rejects_a_bare_string() -> None:
    assert validate_tiebreakers("score_diff") != []


def test_compute_standings_rejects_invalid_tiebreakers() -> None:
    with pytest.raises(ValueError, match="unknown tiebreaker"):
        compute_standings(league("A"), [], tiebreakers=["coin_toss"])
