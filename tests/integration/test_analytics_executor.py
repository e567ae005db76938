"""The analytics executor on SQLite and PostgreSQL: every intent and metric against values
worked out by hand from a small league, plus explain, read-only, timeout and the row cap.

Summer Cup (win 2, draw 1, loss 0; only final games count):
    g1 r1 05-02 15:00  Lions 3-1 Tigers     final
    g2 r1 05-02 18:00  Bears 0-0 Wolves     final
    g3 r2 05-09 15:00  Tigers 2-2 Bears     final
    g4 r2 05-09 18:00  Wolves 0-4 Lions     final
    g5 r3 05-16 15:00  Lions 1-2 Bears      final
    g6 r3 05-16 18:00  Tigers 1-0 Wolves    live
    g7 r4 05-23 15:00  Bears v Lions        scheduled
    g8 r4 05-23 23:30  Wolves v Tigers      cancelled
              P W D L  F  A  GD Pts CS win%
    Lions     3 2 0 1  8  3  +5  4  1  66.7   (1st on goal difference)
    Bears     3 1 2 0  4  3  +1  4  1  33.3
    Tigers    2 0 1 1  3  5  -2  1  0   0
    Wolves    2 0 1 1  0  4  -4  1  1   0
    eagles    0 0 0 0  0  0   0  0  0   -    (lower case: names sort case-insensitively)
Winter Cup (3/1/0, groups): A: Ants 1-0 Bees (05-02); B: Cats 2-2 Dogs (05-03).
Empty Cup: Hares and Moles, one scheduled game.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from models import Event, Game, Team, User
from models.db import make_read_engine, make_sync_engine, sync_session_factory
from tests.support import settings_for
from workers.analytics.plan import make_plan
from workers.analytics.queries.executor import GAME_COLUMNS, QueryResult, execute_plan
from workers.analytics.queries.readonly import QueryTimeout, read_only_session

TIMEOUT_MS = 5_000
ROW_CAP = 100


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=UTC)


EVENTS: dict[str, dict[str, Any]] = {
    "Summer Cup": {
        "scoring": {"win": 2, "draw": 1, "loss": 0},
        "teams": {"Lions": None, "Tigers": None, "Bears": None, "Wolves": None, "eagles": None},
        "games": {
            "g1": (1, at(2, 15), "Lions", "Tigers", 3, 1, "final"),
            "g2": (1, at(2, 18), "Bears", "Wolves", 0, 0, "final"),
            "g3": (2, at(9, 15), "Tigers", "Bears", 2, 2, "final"),
            "g4": (2, at(9, 18), "Wolves", "Lions", 0, 4, "final"),
            "g5": (3, at(16, 15), "Lions", "Bears", 1, 2, "final"),
            "g6": (3, at(16, 18), "Tigers", "Wolves", 1, 0, "live"),
            "g7": (4, at(23, 15), "Bears", "Lions", None, None, "scheduled"),
            "g8": (4, at(23, 23, 30), "Wolves", "Tigers", None, None, "cancelled"),
        },
    },
    "Winter Cup": {
        "scoring": {"win": 3, "draw": 1, "loss": 0},
        "teams": {"Ants": "A", "Bees": "A", "Cats": "B", "Dogs": "B"},
        "games": {
            "w1": (1, at(2, 12), "Ants", "Bees", 1, 0, "final"),
            "w2": (1, at(3, 12), "Cats", "Dogs", 2, 2, "final"),
        },
    },
    "Empty Cup": {
        "scoring": {"win": 3, "draw": 1, "loss": 0},
        "teams": {"Hares": None, "Moles": None},
        "games": {"e1": (1, at(30, 15), "Hares", "Moles", None, None, "scheduled")},
    },
}


@dataclass
class League:
    sessions: sessionmaker[Session]
    events: dict[str, int]
    teams: dict[str, int]  # team names are unique across the three events
    games: dict[str, int]

    def ask(self, event: str, intent: str, row_cap: int = ROW_CAP, **fields: Any) -> QueryResult:
        if "teams" in fields:
            fields["teams"] = [self.teams[name] for name in fields["teams"]]
        plan = make_plan(intent, self.events[event], **fields)
        with read_only_session(self.sessions, timeout_ms=TIMEOUT_MS) as session:
            return execute_plan(session, plan, row_cap=row_cap)

    def game_rows(self, *keys: str, extra: dict[str, Any] | None = None) -> list[list[Any]]:
        """The expected game rows of games `keys` (+ per-game extra columns)."""
        rows = []
        for key in keys:
            event = next(spec for spec in EVENTS.values() if key in spec["games"])
            rnd, starts, home, away, hs, as_, status = event["games"][key]
            row = [self.games[key], starts.date().isoformat(), rnd, home, away, hs, as_, status]
            rows.append(row + ([extra[key]] if extra else []))
        return rows


def seed(sessions: sessionmaker[Session]) -> League:
    league = League(sessions, {}, {}, {})
    with sessions.begin() as session:
        owner = User(email="org@example.com", display_name="Org", password_hash="!")
        session.add(owner)
        session.flush()
        for name, spec in EVENTS.items():
            event = Event(
                name=name,
                scoring=spec["scoring"],
                tiebreakers=["score_diff", "score_for", "head_to_head"],
                owner_id=owner.id,
            )
            session.add(event)
            session.flush()
            league.events[name] = event.id
            for team_name, group in spec["teams"].items():
                team = Team(event_id=event.id, name=team_name, group=group)
                session.add(team)
                session.flush()
                league.teams[team_name] = team.id
            for key, (rnd, starts, home, away, hs, as_, status) in spec["games"].items():
                game = Game(
                    event_id=event.id,
                    home_team_id=league.teams[home],
                    away_team_id=league.teams[away],
                    home_score=hs,
                    away_score=as_,
                    status=status,
                    starts_at=starts,
                    round=rnd,
                )
                session.add(game)
                session.flush()
                league.games[key] = game.id
    return league


@pytest.fixture
def league(database_url: str, tmp_path: Path) -> Iterator[League]:
    settings = settings_for(database_url, tmp_path)
    writer = make_sync_engine(settings)
    seeded = seed(sync_session_factory(writer))
    writer.dispose()
    reader = make_read_engine(settings)
    seeded.sessions = sync_session_factory(reader)
    yield seeded
    reader.dispose()


# --- team metrics ----------------------------------------------------------------------------

TEAM = ["team"]
POSITION = ["team", "group", "position", "points", "played"]

LEADERS = [
    ("points", "desc", [["Bears", 4, 3], ["Lions", 4, 3]]),
    ("played", "desc", [["Bears", 3], ["Lions", 3]]),
    ("won", "desc", [["Lions", 2, 3]]),
    ("drawn", "desc", [["Bears", 2, 3]]),
    ("lost", "desc", [["Lions", 1, 3], ["Tigers", 1, 2], ["Wolves", 1, 2]]),
    ("score_for", "desc", [["Lions", 8, 3]]),
    ("score_against", "desc", [["Tigers", 5, 2]]),
    ("score_diff", "desc", [["Lions", 5, 3]]),
    ("clean_sheets", "desc", [["Bears", 1, 3], ["Lions", 1, 3], ["Wolves", 1, 2]]),
    ("win_rate", "desc", [["Lions", 0.667, 3]]),
    ("position", "desc", [["eagles", None, 5, 0, 0]]),
    ("points", "asc", [["eagles", 0, 0]]),
    ("played", "asc", [["eagles", 0]]),
    ("won", "asc", [["eagles", 0, 0], ["Tigers", 0, 2], ["Wolves", 0, 2]]),
    ("drawn", "asc", [["eagles", 0, 0], ["Lions", 0, 3]]),
    ("lost", "asc", [["Bears", 0, 3], ["eagles", 0, 0]]),
    ("score_for", "asc", [["eagles", 0, 0], ["Wolves", 0, 2]]),
    ("score_against", "asc", [["eagles", 0, 0]]),
    ("score_diff", "asc", [["Wolves", -4, 2]]),
    ("clean_sheets", "asc", [["eagles", 0, 0], ["Tigers", 0, 2]]),
    ("win_rate", "asc", [["Tigers", 0.0, 2], ["Wolves", 0.0, 2]]),  # eagles' None never leads
    ("position", "asc", [["Lions", None, 1, 4, 3]]),
]


@pytest.mark.parametrize(("metric", "order", "expected"), LEADERS)
def test_leader_returns_every_team_at_the_extreme(
    league: League, metric: str, order: str, expected: list[list[Any]]
) -> None:
    result = league.ask("Summer Cup", "leader", metric=metric, order=order)

    columns = POSITION if metric == "position" else [*TEAM, metric]
    assert result.columns == (columns if metric in ("played", "position") else [*columns, "played"])
    assert result.rows == expected


def test_leader_filters_narrow_the_games_and_the_teams(league: League) -> None:
    home = league.ask("Summer Cup", "leader", metric="score_for", filters={"home": True})
    round_3 = league.ask("Summer Cup", "leader", metric="won", filters={"round": 3})
    group_b = league.ask("Winter Cup", "leader", metric="points", filters={"group": "b"})

    assert home.rows == [["Lions", 4, 2]]  # 3 + 1 at home
    assert round_3.rows == [["Bears", 1, 1]]
    assert group_b.rows == [["Cats", 1, 1], ["Dogs", 1, 1]]


def test_leader_by_position_names_the_top_or_bottom_of_each_group(league: League) -> None:
    top = league.ask("Winter Cup", "leader", metric="position", order="asc")
    bottom = league.ask("Winter Cup", "leader", metric="position", order="desc")

    # Cats and Dogs are level on everything, head-to-head included: joint first of group B.
    assert top.rows == [["Ants", "A", 1, 3, 1], ["Cats", "B", 1, 1, 1], ["Dogs", "B", 1, 1, 1]]
    assert bottom.rows == [["Bees", "A", 2, 0, 1], ["Cats", "B", 1, 1, 1], ["Dogs", "B", 1, 1, 1]]


def test_no_leader_before_any_game_is_final(league: League) -> None:
    assert league.ask("Empty Cup", "leader", metric="points").rows == []
    assert league.ask("Empty Cup", "leader", metric="position", order="asc").rows == []
    assert league.ask("Empty Cup", "top_n", metric="score_for").rows == []


TOP = [
    ("points", "desc", 3, [["Bears", 4, 3], ["Lions", 4, 3], ["Tigers", 1, 2]]),
    ("score_against", "asc", 2, [["eagles", 0, 0], ["Bears", 3, 3]]),
    (
        "win_rate",
        "desc",
        None,  # default 5; the team that has not played sorts last
        [
            ["Lions", 0.667, 3],
            ["Bears", 0.333, 3],
            ["Tigers", 0.0, 2],
            ["Wolves", 0.0, 2],
            ["eagles", None, 0],
        ],
    ),
    (
        "position",
        "asc",
        3,
        [["Lions", None, 1, 4, 3], ["Bears", None, 2, 4, 3], ["Tigers", None, 3, 1, 2]],
    ),
    ("position", "desc", 2, [["eagles", None, 5, 0, 0], ["Wolves", None, 4, 1, 2]]),
]


@pytest.mark.parametrize(("metric", "order", "limit", "expected"), TOP)
def test_top_n(
    league: League, metric: str, order: str, limit: int | None, expected: list[list[Any]]
) -> None:
    result = league.ask("Summer Cup", "top_n", metric=metric, order=order, limit=limit)

    assert result.rows == expected


def test_top_n_by_position_across_groups_orders_by_rank_then_name(league: League) -> None:
    result = league.ask("Winter Cup", "top_n", metric="position", order="asc", limit=3)

    assert result.rows == [["Ants", "A", 1, 3, 1], ["Cats", "B", 1, 1, 1], ["Dogs", "B", 1, 1, 1]]


LIONS = {
    "points": 4,
    "played": 3,
    "won": 2,
    "drawn": 0,
    "lost": 1,
    "score_for": 8,
    "score_against": 3,
    "score_diff": 5,
    "clean_sheets": 1,
    "win_rate": 0.667,
}


@pytest.mark.parametrize(("metric", "value"), LIONS.items())
def test_team_value_of_every_metric(league: League, metric: str, value: Any) -> None:
    result = league.ask("Summer Cup", "team_value", metric=metric, teams=["Lions"])

    assert result.rows == [["Lions", value] if metric == "played" else ["Lions", value, 3]]


def test_team_value_position_home_away_and_no_games(league: League) -> None:
    def value(metric: str, team: str, **fields: Any) -> QueryResult:
        return league.ask("Summer Cup", "team_value", metric=metric, teams=[team], **fields)

    position = value("position", "Tigers")
    home = value("score_for", "Lions", filters={"home": True})
    away = value("won", "Lions", filters={"home": False})
    rate = value("win_rate", "eagles")
    diff = value("score_diff", "Wolves")

    assert position.columns == POSITION
    assert position.rows == [["Tigers", None, 3, 1, 2]]
    assert home.rows == [["Lions", 4, 2]]
    assert away.rows == [["Lions", 1, 1]]
    assert rate.rows == [["eagles", None, 0]]  # never played: no rate, not 0%
    assert diff.rows == [["Wolves", -4, 2]]


def test_team_record(league: League) -> None:
    lions = league.ask("Summer Cup", "team_record", teams=["Lions"])
    at_home = league.ask("Summer Cup", "team_record", teams=["Lions"], filters={"home": True})
    eagles = league.ask("Summer Cup", "team_record", teams=["eagles"])

    assert lions.columns == [
        "team",
        "played",
        "won",
        "drawn",
        "lost",
        "score_for",
        "score_against",
        "score_diff",
        "points",
    ]
    assert lions.rows == [["Lions", 3, 2, 0, 1, 8, 3, 5, 4]]
    assert at_home.rows == [["Lions", 2, 1, 0, 1, 4, 3, 1, 2]]
    assert eagles.rows == [["eagles", 0, 0, 0, 0, 0, 0, 0, 0]]


def test_table_follows_the_standings_rules(league: League) -> None:
    summer = league.ask("Summer Cup", "table")
    group_b = league.ask("Winter Cup", "table", filters={"group": "b"})
    empty = league.ask("Empty Cup", "table")

    assert summer.columns[:3] == ["position", "team", "group"]
    assert summer.rows == [
        [1, "Lions", None, 3, 2, 0, 1, 8, 3, 5, 4],
        [2, "Bears", None, 3, 1, 2, 0, 4, 3, 1, 4],
        [3, "Tigers", None, 2, 0, 1, 1, 3, 5, -2, 1],
        [4, "Wolves", None, 2, 0, 1, 1, 0, 4, -4, 1],
        [5, "eagles", None, 0, 0, 0, 0, 0, 0, 0, 0],
    ]
    assert group_b.rows == [
        [1, "Cats", "B", 1, 0, 1, 0, 2, 2, 0, 1],
        [1, "Dogs", "B", 1, 0, 1, 0, 2, 2, 0, 1],
    ]
    assert empty.rows == [
        [1, "Hares", None, 0, 0, 0, 0, 0, 0, 0, 0],
        [1, "Moles", None, 0, 0, 0, 0, 0, 0, 0, 0],
    ]


# --- games -----------------------------------------------------------------------------------


def test_head_to_head_lists_final_games_either_way_round(league: League) -> None:
    lions_tigers = league.ask("Summer Cup", "head_to_head", teams=["Lions", "Tigers"])
    bears_lions = league.ask("Summer Cup", "head_to_head", teams=["Bears", "Lions"])
    not_final = league.ask("Summer Cup", "head_to_head", teams=["Wolves", "Tigers"])

    assert lions_tigers.columns == GAME_COLUMNS
    assert lions_tigers.rows == league.game_rows("g1")
    assert lions_tigers.rows[0][1] == "2026-05-02"
    assert bears_lions.rows == league.game_rows("g5")  # g7 is only scheduled
    assert not_final.rows == []  # live and cancelled games are not results


COUNTS = [
    ({}, [[5]]),
    ({"filters": {"result": "draw"}}, [[2]]),
    ({"filters": {"result": "home_win"}}, [[1]]),
    ({"filters": {"result": "away_win"}}, [[2]]),
    ({"filters": {"result": "decided"}}, [[3]]),
    ({"filters": {"result": "goalless"}}, [[1]]),
    ({"filters": {"outcome": "win"}}, [[3]]),  # no team: a decided game
    ({"teams": ["Lions"]}, [[3]]),
    ({"teams": ["Lions"], "filters": {"outcome": "win"}}, [[2]]),
    ({"teams": ["Lions"], "filters": {"outcome": "loss"}}, [[1]]),
    ({"teams": ["Tigers"], "filters": {"outcome": "draw"}}, [[1]]),
    ({"teams": ["Lions"], "filters": {"home": True}}, [[2]]),
    ({"filters": {"round": 2}}, [[2]]),
    ({"filters": {"date": date(2026, 5, 9)}}, [[2]]),
]


@pytest.mark.parametrize(("fields", "expected"), COUNTS)
def test_count(league: League, fields: dict[str, Any], expected: list[list[Any]]) -> None:
    result = league.ask("Summer Cup", "count", metric="games", **fields)

    assert result.columns == ["games"]
    assert result.rows == expected


def test_count_per_round_keeps_rounds_without_a_match(league: League) -> None:
    games = league.ask("Summer Cup", "count", metric="games", group_by="round")
    draws = league.ask(
        "Summer Cup", "count", metric="games", group_by="round", filters={"result": "draw"}
    )

    assert games.columns == ["round", "games"]
    assert games.rows == [[1, 2], [2, 2], [3, 1]]
    assert draws.rows == [[1, 1], [2, 1], [3, 0]]


def test_counts_stay_within_the_event(league: League) -> None:
    on_may_2 = {"date": date(2026, 5, 2)}  # Summer Cup has 2 games that day, Winter Cup 1
    assert league.ask("Winter Cup", "count", metric="games", filters=on_may_2).rows == [[1]]
    assert league.ask("Empty Cup", "count", metric="games").rows == [[0]]


TOTALS = [
    ("goals", {}, [[15, 5]]),
    ("home_goals", {}, [[6, 5]]),
    ("away_goals", {}, [[9, 5]]),
    ("goals", {"teams": ["Lions"]}, [[8, 3]]),
    ("home_goals", {"teams": ["Lions"]}, [[4, 2]]),
    ("away_goals", {"teams": ["Lions"]}, [[4, 1]]),
    ("goals", {"filters": {"result": "draw"}}, [[4, 2]]),
]


@pytest.mark.parametrize(("metric", "fields", "expected"), TOTALS)
def test_total(
    league: League, metric: str, fields: dict[str, Any], expected: list[list[Any]]
) -> None:
    result = league.ask("Summer Cup", "total", metric=metric, **fields)

    assert result.columns == [metric, "games"]
    assert result.rows == expected


def test_total_per_round_and_without_games(league: League) -> None:
    per_round = league.ask("Summer Cup", "total", metric="goals", group_by="round")

    assert per_round.columns == ["round", "goals", "games"]
    assert per_round.rows == [[1, 4, 2], [2, 8, 2], [3, 3, 1]]
    assert league.ask("Empty Cup", "total", metric="goals").rows == [[0, 0]]


AVERAGES = [
    ("Summer Cup", "goals_per_game", {}, [[3.0, 5]]),
    ("Summer Cup", "home_goals_per_game", {}, [[1.2, 5]]),
    ("Summer Cup", "away_goals_per_game", {}, [[1.8, 5]]),
    ("Winter Cup", "goals_per_team", {}, [[1.25, 2]]),  # 5 goals, 4 teams
    ("Winter Cup", "goals_per_game", {}, [[2.5, 2]]),
    ("Summer Cup", "goals_per_game", {"teams": ["Lions"]}, [[2.667, 3]]),
    ("Summer Cup", "goals_per_team", {"teams": ["Lions"]}, [[2.667, 3]]),
    ("Summer Cup", "home_goals_per_game", {"teams": ["Lions"]}, [[2.0, 2]]),
    ("Summer Cup", "away_goals_per_game", {"teams": ["Lions"]}, [[4.0, 1]]),
    ("Empty Cup", "goals_per_game", {}, [[None, 0]]),
]


@pytest.mark.parametrize(("event", "metric", "fields", "expected"), AVERAGES)
def test_average(
    league: League, event: str, metric: str, fields: dict[str, Any], expected: list[list[Any]]
) -> None:
    result = league.ask(event, "average", metric=metric, **fields)

    assert result.columns == [metric, "games"]
    assert result.rows == expected


def test_average_per_round(league: League) -> None:
    result = league.ask("Summer Cup", "average", metric="goals_per_game", group_by="round")

    assert result.columns == ["round", "goals_per_game", "games"]
    assert result.rows == [[1, 2.0, 2], [2, 4.0, 2], [3, 3.0, 1]]


EXTREMES = [
    ("total_goals", "desc", {}, {"g1": 4, "g3": 4, "g4": 4}),  # a three-way tie, by kick-off
    ("total_goals", "asc", {}, {"g2": 0}),
    ("margin", "desc", {}, {"g4": 4}),
    ("margin", "asc", {}, {"g2": 0, "g3": 0}),
    ("margin", "desc", {"teams": ["Lions"], "filters": {"outcome": "win"}}, {"g4": 4}),
    ("margin", "desc", {"teams": ["Lions"], "filters": {"outcome": "loss"}}, {"g5": 1}),
    ("margin", "asc", {"teams": ["Lions"], "filters": {"outcome": "win"}}, {"g1": 2}),
    ("total_goals", "desc", {"teams": ["Lions"]}, {"g1": 4, "g4": 4}),
    ("margin", "desc", {"teams": ["Tigers"], "filters": {"outcome": "win"}}, {}),
]


@pytest.mark.parametrize(("metric", "order", "fields", "expected"), EXTREMES)
def test_extreme(
    league: League, metric: str, order: str, fields: dict[str, Any], expected: dict[str, int]
) -> None:
    result = league.ask("Summer Cup", "extreme", metric=metric, order=order, **fields)

    assert result.columns == [*GAME_COLUMNS, metric]
    assert result.rows == league.game_rows(*expected, extra=expected)


def test_form_is_newest_first_from_the_teams_side(league: League) -> None:
    last = league.ask("Summer Cup", "form", teams=["Lions"])
    last_two = league.ask("Summer Cup", "form", teams=["Lions"], limit=2)

    assert last.columns == [*GAME_COLUMNS, "result"]
    assert last.rows == league.game_rows("g5", "g4", "g1", extra={"g5": "L", "g4": "W", "g1": "W"})
    assert last_two.rows == league.game_rows("g5", "g4", extra={"g5": "L", "g4": "W"})
    assert league.ask("Summer Cup", "form", teams=["eagles"]).rows == []


GAMES = [
    ({"filters": {"date": date(2026, 5, 23)}}, ["g7", "g8"]),  # any status; 23:30 is that day
    ({"filters": {"round": 3}}, ["g5", "g6"]),
    ({"teams": ["Lions"]}, ["g1", "g4", "g5", "g7"]),
    ({"teams": ["Lions", "Bears"]}, ["g5", "g7"]),
    ({"teams": ["Lions"], "filters": {"home": True}}, ["g1", "g5"]),
    ({"filters": {"date": date(2026, 5, 24)}}, []),
]


@pytest.mark.parametrize(("fields", "expected"), GAMES)
def test_games(league: League, fields: dict[str, Any], expected: list[str]) -> None:
    result = league.ask("Summer Cup", "games", **fields)

    assert result.columns == GAME_COLUMNS
    assert result.rows == league.game_rows(*expected)


def test_games_of_a_group(league: League) -> None:
    result = league.ask("Winter Cup", "games", filters={"group": "a"})

    assert result.rows == league.game_rows("w1")


# --- row cap, explain ------------------------------------------------------------------------


def test_the_row_cap_is_never_exceeded(league: League) -> None:
    games = league.ask("Summer Cup", "games", teams=["Lions"], row_cap=2)
    ties = league.ask("Summer Cup", "leader", metric="lost", row_cap=2)
    table = league.ask("Summer Cup", "table", row_cap=3)
    top = league.ask("Summer Cup", "top_n", metric="position", order="asc", limit=5, row_cap=2)
    rounds = league.ask("Summer Cup", "count", metric="games", group_by="round", row_cap=1)

    assert games.rows == league.game_rows("g1", "g4")
    assert ties.rows == [["Lions", 1, 3], ["Tigers", 1, 2]]
    assert [row[1] for row in table.rows] == ["Lions", "Bears", "Tigers"]
    assert [row[0] for row in top.rows] == ["Lions", "Bears"]
    assert rounds.rows == [[1, 2]]
    assert "LIMIT" in games.statements[-1]["sql"].upper()  # the database stops, not Python


def test_explain_gives_placeholders_and_values_never_literals(league: League) -> None:
    lions = league.teams["Lions"]
    summer = league.events["Summer Cup"]
    value = league.ask("Summer Cup", "team_value", metric="score_for", teams=["Lions"])
    on_date = league.ask("Summer Cup", "games", filters={"date": date(2026, 5, 23)})
    draws = league.ask("Summer Cup", "count", metric="games", filters={"result": "draw"})
    points = league.ask("Summer Cup", "leader", metric="points")

    for result in (value, on_date, draws, points):
        assert result.statements
        for statement in result.statements:
            sql = statement["sql"]
            assert sql.upper().startswith(("SELECT", "WITH"))
            assert ":event_id" in sql or "%(event_id)s" in sql
            assert "Lions" not in sql and "2026" not in sql and "'final'" not in sql
            assert statement["params"]["event_id"] == summer
    assert lions in value.statements[0]["params"].values()
    assert {"day_start": "2026-05-23T00:00:00+00:00"}.items() <= on_date.statements[0][
        "params"
    ].items()
    scoring = points.statements[0]["params"]  # the event's own points per result, bound
    assert any(
        {"win_points": 2, "draw_points": 1, "loss_points": 0}.items() <= s["params"].items()
        for s in points.statements
    )
    assert scoring["event_id"] == summer


# --- the read-only, time-limited session -----------------------------------------------------


def users(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(sa.select(sa.func.count(User.id))) or 0


def test_writes_fail_in_a_read_only_session_and_nothing_is_stored(league: League) -> None:
    before = users(league.sessions)
    insert = sa.insert(User).values(email="x@example.com", display_name="X", password_hash="!")

    with (
        pytest.raises(DBAPIError, match=r"(?i)read-only|readonly"),
        read_only_session(league.sessions, timeout_ms=TIMEOUT_MS) as session,
    ):
        session.execute(insert)

    assert users(league.sessions) == before
    # The pooled connection is writable again for the next (ordinary) transaction.
    with league.sessions.begin() as session:
        session.execute(insert)
    assert users(league.sessions) == before + 1


SLOW = {
    "postgresql": "SELECT pg_sleep(2)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000)"
    " SELECT count(*) FROM c",
}


def test_a_slow_statement_is_cancelled(league: League) -> None:
    dialect = league.sessions.kw["bind"].dialect.name
    started = time.monotonic()

    with (
        pytest.raises(QueryTimeout),
        read_only_session(league.sessions, timeout_ms=100) as session,
    ):
        session.execute(sa.text(SLOW[dialect]))

    assert time.monotonic() - started < 1.5
    # Afterwards the connection has its ordinary limits again: a query runs to its end.
    with read_only_session(league.sessions, timeout_ms=TIMEOUT_MS) as session:
        assert session.execute(sa.text("SELECT 1")).scalar() == 1
    if dialect == "postgresql":  # the 100 ms limit was local to its transaction
        with league.sessions() as session:
            assert session.execute(sa.text("SHOW statement_timeout")).scalar() != "100ms"


def test_what_was_read_stays_readable_after_the_session(league: League) -> None:
    with read_only_session(league.sessions, timeout_ms=TIMEOUT_MS) as session:
        event = session.get(Event, league.events["Summer Cup"])

    assert event is not None
    assert event.name == "Summer Cup"  # detached, not expired: no refresh is attempted
