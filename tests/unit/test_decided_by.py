"""`decided_by`: why each row of a table sits above the next row of its group."""

from models.domain.standings import DecidedBy, Result, Row, Scoring, TeamEntry, compute_standings

DASH = "\u2013"


def league(*names: str, group: str | None = None, first_id: int = 1) -> list[TeamEntry]:
    return [TeamEntry(first_id + i, name, group) for i, name in enumerate(names)]


def games(teams: list[TeamEntry], *scores: tuple[str, str, int, int]) -> list[Result]:
    ids = {t.name: t.team_id for t in teams}
    return [Result(ids[h], ids[a], hs, as_) for h, a, hs, as_ in scores]


def why(rows: list[Row]) -> dict[str, tuple[str, list[str], str] | None]:
    """Each team's decided_by with team names instead of ids."""
    names = {r.team_id: r.team_name for r in rows}
    return {
        r.team_name: None
        if r.decided_by is None
        else (r.decided_by.rule, [names[t] for t in r.decided_by.over], r.decided_by.detail)
        for r in rows
    }


def test_points_decide_and_the_last_row_has_none() -> None:
    teams = league("A", "B", "C")
    results = games(teams, ("A", "B", 2, 0), ("B", "C", 1, 0))
    assert why(compute_standings(teams, results)) == {
        "A": ("score_diff", ["B"], "score difference +2 vs -1"),
        "B": ("points", ["C"], f"points 3{DASH}0"),
        "C": None,
    }


def test_teams_without_games_are_all_tied() -> None:
    teams = league("b", "A", "c")
    rows = compute_standings(teams, [])
    assert [r.team_name for r in rows] == ["A", "b", "c"]
    detail = "level on points 0, score difference +0, scored 0 and head-to-head"
    assert why(rows) == {"A": ("tied", ["b"], detail), "b": ("tied", ["c"], detail), "c": None}


def test_tied_detail_without_tiebreakers_names_points_only() -> None:
    rows = compute_standings(league("A", "B"), [], tiebreakers=[])
    assert rows[0].decided_by == DecidedBy("tied", (2,), "level on points 0")


def test_over_lists_every_team_of_the_next_rank_by_name() -> None:
    teams = league("Top", "y", "X")
    results = games(teams, ("Top", "y", 1, 0), ("Top", "X", 1, 0))
    rows = compute_standings(teams, results, tiebreakers=[])
    assert why(rows)["Top"] == ("points", ["X", "y"], f"points 6{DASH}0")
    assert why(rows)["X"] == ("tied", ["y"], "level on points 0")


def test_head_to_head_names_the_mini_table_value_and_its_size() -> None:
    # All three on 6 points; their mutual games form a cycle, split on score difference.
    teams = league("A", "B", "C", "D")
    results = games(
        teams,
        ("A", "B", 2, 0),
        ("B", "C", 2, 0),
        ("C", "A", 1, 0),
        ("A", "D", 1, 0),
        ("B", "D", 1, 0),
        ("C", "D", 1, 0),
    )
    assert why(compute_standings(teams, results, tiebreakers=["head_to_head"])) == {
        "A": ("head_to_head", ["B"], "head-to-head score difference +1 vs +0 among 3 teams"),
        "B": ("head_to_head", ["C"], "head-to-head score difference +0 vs -1 among 3 teams"),
        "C": ("points", ["D"], f"points 6{DASH}0"),
        "D": None,
    }


def test_head_to_head_reapplied_to_a_subset_names_the_subset_mini_table() -> None:
    # All on 3 points. The three-team mini-table drops A (-2) and leaves B and C level
    # (3 points, +1, 3 scored); their own meeting (B won 2-0) then separates them.
    teams = league("A", "B", "C")
    results = games(teams, ("A", "B", 2, 1), ("C", "A", 3, 0), ("B", "C", 2, 0))
    assert why(compute_standings(teams, results, tiebreakers=["head_to_head"])) == {
        "B": ("head_to_head", ["C"], f"head-to-head points 3{DASH}0"),
        "C": ("head_to_head", ["A"], "head-to-head score difference +1 vs -2 among 3 teams"),
        "A": None,
    }


def test_a_later_rule_is_named_only_where_earlier_ones_are_level() -> None:
    # All on 3 points: score difference splits {B, C} (+1) from D (0) and E (-2); scored
    # then splits B (3) from C (1). C still sits above D on score difference.
    teams = league("B", "C", "D", "E")
    results = games(teams, ("B", "E", 3, 2), ("C", "E", 1, 0), ("D", "E", 2, 1), ("E", "D", 1, 0))
    rows = compute_standings(teams, results, tiebreakers=["score_diff", "score_for"])
    assert why(rows) == {
        "B": ("score_for", ["C"], f"scored 3{DASH}1"),
        "C": ("score_diff", ["D"], "score difference +1 vs +0"),
        "D": ("score_diff", ["E"], "score difference +0 vs -2"),
        "E": None,
    }


def test_fewest_score_against_shows_what_each_conceded() -> None:
    teams = league("A", "B", "C")
    results = games(teams, ("A", "C", 1, 0), ("B", "C", 3, 2))
    rows = compute_standings(teams, results, tiebreakers=["fewest_score_against"])
    assert why(rows)["A"] == ("fewest_score_against", ["B"], f"conceded 0{DASH}2")


def test_wins_with_two_points_for_a_win() -> None:
    teams = league("A", "B", "C", "D")
    results = games(teams, ("A", "C", 1, 0), ("D", "A", 1, 0), ("B", "C", 0, 0), ("B", "D", 0, 0))
    rows = compute_standings(teams, results, Scoring(win=2, draw=1), tiebreakers=["wins"])
    assert why(rows)["A"] == ("wins", ["B"], f"wins 1{DASH}0")


def test_negative_points_are_spelled_out() -> None:
    teams = league("A", "B")
    rows = compute_standings(teams, games(teams, ("A", "B", 1, 0)), Scoring(3, 0, -1))
    assert why(rows)["A"] == ("points", ["B"], "points 3 vs -1")


def test_each_groups_last_row_has_none() -> None:
    teams = league("A", "B", group="X") + league("C", "D", group="Y", first_id=3)
    results = games(teams, ("A", "B", 1, 0), ("D", "C", 1, 0))
    rows = compute_standings(teams, results)
    assert [(r.group, r.team_name, r.decided_by is None) for r in rows] == [
        ("X", "A", False),
        ("X", "B", True),
        ("Y", "D", False),
        ("Y", "C", True),
    ]
    assert why(rows)["D"] == ("points", ["C"], f"points 3{DASH}0")


def test_as_dict_carries_decided_by_as_plain_json() -> None:
    teams = league("A", "B")
    rows = compute_standings(teams, games(teams, ("A", "B", 1, 0)))
    assert rows[0].as_dict()["decided_by"] == {
        "rule": "points",
        "over": [2],
        "detail": f"points 3{DASH}0",
    }
    assert rows[1].as_dict()["decided_by"] is None
