"""Standings against real seasons (openfootball data, kept in tests/data/leagues).

Every expected table below is the published final table; the data's points and goal
tallies agree with it for all three seasons, so the full tables are checked.
"""

import json
from pathlib import Path

from models.domain.standings import Result, Row, TeamEntry, compute_standings

# A copy of ../shared/data/leagues kept in the repository (public domain, 344 KB), so that CI
# and every checkout run these tests: a missing file fails, never skips.
LEAGUES = Path(__file__).resolve().parents[1] / "data" / "leagues"
LA_LIGA_RULES = ["head_to_head", "score_diff", "score_for"]
PREMIER_LEAGUE_RULES = ["score_diff", "score_for"]


def standings(season: str, tiebreakers: list[str]) -> list[Row]:
    path = LEAGUES / f"{season}.json"
    matches = json.loads(path.read_text(encoding="utf-8"))["matches"]
    names = sorted({m["team1"] for m in matches} | {m["team2"] for m in matches})
    ids = {name: i for i, name in enumerate(names, start=1)}
    teams = [TeamEntry(team_id, name, None) for name, team_id in ids.items()]
    results = [Result(ids[m["team1"]], ids[m["team2"]], *m["score"]["ft"]) for m in matches]
    return compute_standings(teams, results, tiebreakers=tiebreakers)


def positions(rows: list[Row]) -> list[tuple[int, str, int]]:
    return [(r.rank, r.team_name, r.points) for r in rows]


def test_premier_league_2011_12() -> None:
    rows = standings("premier-league-2011-12", PREMIER_LEAGUE_RULES)
    assert len(rows) == 20
    assert all(r.played == 38 for r in rows)
    city, united = rows[0], rows[1]
    # City won the title on goal difference (+64 against +56), both on 89 points.
    assert (city.team_name, city.points, city.score_diff) == ("Manchester City", 89, 64)
    assert (united.team_name, united.points, united.score_diff) == ("Manchester United", 89, 56)
    assert positions(rows) == [
        (1, "Manchester City", 89),
        (2, "Manchester United", 89),
        (3, "Arsenal FC", 70),
        (4, "Tottenham Hotspur", 69),
        (5, "Newcastle United", 65),
        (6, "Chelsea FC", 64),
        (7, "Everton FC", 56),
        (8, "Liverpool FC", 52),
        (9, "Fulham FC", 52),
        (10, "West Bromwich Albion", 47),
        (11, "Swansea City", 47),
        (12, "Norwich City", 47),
        (13, "Sunderland AFC", 45),
        (14, "Stoke City", 45),
        (15, "Wigan Athletic", 43),
        (16, "Aston Villa", 38),
        (17, "Queens Park Rangers", 37),
        (18, "Bolton Wanderers", 36),
        (19, "Blackburn Rovers", 31),
        (20, "Wolverhampton Wanderers", 25),
    ]


def test_premier_league_2011_12_points_only_leaves_the_title_tied() -> None:
    rows = standings("premier-league-2011-12", [])
    assert [(r.rank, r.team_name) for r in rows[:2]] == [
        (1, "Manchester City"),
        (1, "Manchester United"),
    ]


def test_la_liga_2013_14() -> None:
    rows = standings("la-liga-2013-14", LA_LIGA_RULES)
    assert all(r.played == 38 for r in rows)
    # Barcelona won both Clásicos, so head to head puts them above Real Madrid (87 each).
    assert positions(rows) == [
        (1, "Atlético Madrid", 90),
        (2, "FC Barcelona", 87),
        (3, "Real Madrid", 87),
        (4, "Athletic Club", 70),
        (5, "Sevilla FC", 63),
        (6, "Villarreal CF", 59),
        (7, "Real Sociedad", 59),
        (8, "Valencia CF", 49),
        (9, "RC Celta", 49),
        (10, "Levante UD", 48),
        (11, "Málaga CF", 45),
        (12, "Rayo Vallecano", 43),
        (13, "Getafe CF", 42),
        (14, "Espanyol Barcelona", 42),
        (15, "Granada CF", 41),
        (16, "Elche CF", 40),
        (17, "UD Almería", 40),
        (18, "CA Osasuna", 39),
        (19, "Real Valladolid", 36),
        (20, "Real Betis", 25),
    ]


def test_la_liga_2013_14_head_to_head_beats_goal_difference() -> None:
    # Getafe (-19) finished above Espanyol (-10) on 42 points only through head to head.
    by_h2h = [r.team_name for r in standings("la-liga-2013-14", LA_LIGA_RULES)]
    by_diff = [r.team_name for r in standings("la-liga-2013-14", PREMIER_LEAGUE_RULES)]
    assert by_h2h[12:14] == ["Getafe CF", "Espanyol Barcelona"]
    assert by_diff[12:14] == ["Espanyol Barcelona", "Getafe CF"]


def test_la_liga_2016_17() -> None:
    rows = standings("la-liga-2016-17", LA_LIGA_RULES)
    assert all(r.played == 38 for r in rows)
    assert positions(rows) == [
        (1, "Real Madrid", 93),
        (2, "FC Barcelona", 90),
        (3, "Atlético Madrid", 78),
        (4, "Sevilla FC", 72),
        (5, "Villarreal CF", 67),
        (6, "Real Sociedad", 64),
        (7, "Athletic Club", 63),
        (8, "Espanyol Barcelona", 56),
        (9, "CD Alavés", 55),
        (10, "SD Eibar", 54),
        (11, "Málaga CF", 46),
        (12, "Valencia CF", 46),
        (13, "RC Celta", 45),
        (14, "UD Las Palmas", 39),
        (15, "Real Betis", 39),
        (16, "Deportivo La Coruña", 36),
        (17, "CD Leganés", 35),
        (18, "Sporting Gijón", 31),
        (19, "CA Osasuna", 22),
        (20, "Granada CF", 20),
    ]
