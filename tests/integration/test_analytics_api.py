"""POST /api/v1/analytics/query through the real server, in both run modes (embedded SQLite
with in-process answering; PostgreSQL + Redis, whose answer cache lives in Redis)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from config.settings import Settings
from server.app import MatchdayApp, make_app
from tests.support import Api, create_pg_schema, drop_pg_schema, pg_schema_url, settings_for

QUERY = "/api/v1/analytics/query"
TEAMS = ["Lions", "Tigers", "Bears", "Wolves"]
# Lions W D (4 pts, 3 for); Tigers L W (3 pts, 5 for); Bears D D (2 pts); Wolves D L (1 pt).
RESULTS = [("Lions", 3, 1, "Tigers"), ("Bears", 2, 2, "Wolves"), ("Lions", 0, 0, "Bears")]
RESULTS += [("Tigers", 4, 0, "Wolves")]


@dataclass
class League:
    id: int
    token: str
    teams: dict[str, int]


async def make_league(
    api: Api, token: str, name: str = "Summer Cup", visibility: str = "public"
) -> League:
    reply = await api.post("/api/v1/events", {"name": name, "visibility": visibility}, token=token)
    assert reply.status == 201, reply.body
    event_id = reply.json["id"]
    teams = {}
    for team in TEAMS:
        added = await api.post(f"/api/v1/events/{event_id}/teams", {"name": team}, token=token)
        assert added.status == 201, added.body
        teams[team] = added.json["id"]
    league = League(event_id, token, teams)
    for home, home_score, away_score, away in RESULTS:
        await play(api, league, home, home_score, away_score, away)
    return league


async def play(api: Api, league: League, home: str, hs: int, aws: int, away: str) -> None:
    game = await api.post(
        f"/api/v1/events/{league.id}/games",
        {"home_team_id": league.teams[home], "away_team_id": league.teams[away]},
        token=league.token,
    )
    assert game.status == 201, game.body
    scored = await api.put(
        f"/api/v1/games/{game.json['id']}/score",
        {"home_score": hs, "away_score": aws, "status": "final"},
        token=league.token,
    )
    assert scored.status == 200, scored.body


def mentioned(answer: str, names: list[str] = TEAMS) -> set[str]:
    return {name for name in names if re.search(rf"\b{name}\b", answer)}


def numbers(answer: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", answer))


async def test_a_question_gets_a_sentence_rows_and_the_plan(live_api: Api) -> None:
    token = await live_api.user("org@example.com")
    league = await make_league(live_api, token)

    reply = await live_api.post(
        QUERY, {"question": "Who scored the most goals?", "event_id": league.id}
    )

    assert reply.status == 200, reply.body
    body = reply.json
    assert body["question"] == "Who scored the most goals?"
    assert mentioned(body["answer"]) == {"Tigers"}
    assert "5" in numbers(body["answer"])
    assert body["plan"]["intent"] == "leader"
    assert body["plan"]["metric"] == "score_for"
    assert body["plan"]["event_id"] == league.id
    team_column = body["columns"].index("team")
    assert [row[team_column] for row in body["rows"]] == ["Tigers"]
    assert body["event"] == {"id": league.id, "name": "Summer Cup"}
    assert "sql" not in body


async def test_ties_are_named_as_ties(live_api: Api) -> None:
    token = await live_api.user("org@example.com")
    league = await make_league(live_api, token)
    await play(live_api, league, "Wolves", 1, 0, "Bears")  # Wolves: D L W = 4, as Lions

    reply = await live_api.post(
        QUERY, {"question": "which team has the most points?", "event_id": league.id}
    )

    assert reply.status == 200, reply.body
    # Lions 4 (W D), Wolves 4 (D L W): both lead, nobody else is named.
    assert mentioned(reply.json["answer"]) == {"Lions", "Wolves"}
    assert "4" in numbers(reply.json["answer"])
    assert len(reply.json["rows"]) == 2


async def test_the_question_can_name_the_event(live_api: Api) -> None:
    token = await live_api.user("org@example.com")
    summer = await make_league(live_api, token)
    winter = await make_league(live_api, token, name="Winter League")
    await play(live_api, winter, "Lions", 1, 1, "Tigers")  # a third draw, in Winter League only

    in_summer = await live_api.post(QUERY, {"question": "How many draws were there in Summer Cup?"})
    in_winter = await live_api.post(QUERY, {"question": "how many draws in the winter league"})

    assert in_summer.status == 200, in_summer.body
    assert in_summer.json["plan"]["event_id"] == summer.id
    assert "2" in numbers(in_summer.json["answer"])
    assert in_winter.status == 200, in_winter.body
    assert in_winter.json["plan"]["event_id"] == winter.id
    assert "3" in numbers(in_winter.json["answer"])


async def test_without_an_event_among_several_the_error_says_which_to_name(
    live_api: Api,
) -> None:
    token = await live_api.user("org@example.com")
    summer = await make_league(live_api, token)
    winter = await make_league(live_api, token, name="Winter League")

    reply = await live_api.post(QUERY, {"question": "who has the most points?"})

    assert reply.status == 422, reply.body
    assert reply.error_code() == "ambiguous_event"
    candidates = reply.json["error"]["details"]["candidates"]
    assert {(c["id"], c["name"]) for c in candidates} == {
        (summer.id, "Summer Cup"),
        (winter.id, "Winter League"),
    }
    examples = reply.json["error"]["details"]["examples"]
    assert any("Summer Cup" in example for example in examples)
    assert any("Winter League" in example for example in examples)
    answered = await live_api.post(QUERY, {"question": examples[0]})
    assert answered.status == 200, answered.body


async def test_a_refused_question_gets_working_examples(live_api: Api) -> None:
    token = await live_api.user("org@example.com")
    league = await make_league(live_api, token)

    reply = await live_api.post(
        QUERY, {"question": "what will the weather be like on Sunday?", "event_id": league.id}
    )

    assert reply.status == 422, reply.body
    error = reply.json["error"]
    assert error["code"] == "unsupported_question"
    assert error["details"]["not_understood"] == ["weather"]
    assert error["request_id"]
    examples = error["details"]["examples"]
    assert len(examples) >= 3
    for example in examples:  # every example offered is a question that works
        works = await live_api.post(QUERY, {"question": example, "event_id": league.id})
        assert works.status == 200, (example, works.body)


async def test_a_close_question_gets_a_did_you_mean(live_api: Api) -> None:
    token = await live_api.user("org@example.com")
    league = await make_league(live_api, token)

    reply = await live_api.post(QUERY, {"question": "Lions recrod?", "event_id": league.id})

    if reply.status == 200:  # the parser read it after all: fine, as long as it is right
        assert reply.json["plan"]["teams"] == [league.teams["Lions"]]
        return
    assert reply.status == 422, reply.body
    suggestion = reply.json["error"]["details"].get("did_you_mean")
    assert suggestion and "Lions" in suggestion


async def test_private_events_stay_hidden(live_api: Api) -> None:
    owner = await live_api.user("owner@example.com")
    stranger = await live_api.user("stranger@example.com")
    league = await make_league(live_api, owner, name="Secret Cup", visibility="private")
    question = {"question": "who has the most points?", "event_id": league.id}

    assert (await live_api.post(QUERY, question)).status == 404
    assert (await live_api.post(QUERY, question, token=stranger)).status == 404
    by_name = await live_api.post(QUERY, {"question": "most points in Secret Cup?"}, token=stranger)
    assert by_name.status == 422  # not "found but forbidden": its existence is not revealed
    assert "Secret Cup" not in by_name.body.decode()
    mine = await live_api.post(QUERY, question, token=owner)
    assert mine.status == 200, mine.body
    assert mentioned(mine.json["answer"]) == {"Lions"}


async def test_explain_returns_the_sql_and_its_parameters_never_the_question(
    live_api: Api,
) -> None:
    token = await live_api.user("org@example.com")
    league = await make_league(live_api, token)

    reply = await live_api.post(
        QUERY,
        {
            "question": "How many goals have the Tigers scored?",
            "event_id": league.id,
            "explain": True,
        },
    )

    assert reply.status == 200, reply.body
    assert "5" in numbers(reply.json["answer"])
    statements = reply.json["sql"]
    assert statements
    for statement in statements:
        assert "SELECT" in statement["sql"].upper()
        assert "Tigers" not in statement["sql"] and "scored" not in statement["sql"]
        assert isinstance(statement["params"], dict)
    bound = [value for statement in statements for value in statement["params"].values()]
    assert league.id in bound
    assert league.teams["Tigers"] in bound


def cached_answers(intent: str) -> float:
    labels = {"outcome": "cached", "intent": intent}
    return REGISTRY.get_sample_value("matchday_analytics_questions_total", labels) or 0.0


async def test_repeated_questions_are_cached_until_the_data_changes(
    live_app: MatchdayApp, live_api: Api
) -> None:
    token = await live_api.user("org@example.com")
    league = await make_league(live_api, token)
    await live_app.settled()  # the standings recompute changes the data version: let it land
    before = cached_answers("count")

    first = await live_api.post(QUERY, {"question": "how many draws?", "event_id": league.id})
    again = await live_api.post(
        QUERY, {"question": "How many games ended in a draw?", "event_id": league.id}
    )

    assert first.status == again.status == 200
    assert "2" in numbers(first.json["answer"])
    assert again.json["answer"] == first.json["answer"]
    assert again.json["question"] == "How many games ended in a draw?"
    assert cached_answers("count") == before + 1  # same plan, other words: one cache hit
    await play(live_api, league, "Tigers", 1, 1, "Bears")
    after = await live_api.post(QUERY, {"question": "how many draws?", "event_id": league.id})
    assert "3" in numbers(after.json["answer"])  # a new result is never hidden by the cache


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": "x" * 501}, "question"),
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": 42}, "question"),
        ({"question": ["who", "leads"]}, "question"),
        ({}, "question"),
        ({"question": "who leads\u0000?"}, "question"),
        ({"question": "who \u202eleads?"}, "question"),  # right-to-left override
        ({"question": "who leads?", "event_id": "one"}, "event_id"),
        ({"question": "who leads?", "event_id": 0}, "event_id"),
        ({"question": "who leads?", "event_id": 2**40}, "event_id"),
        ({"question": "who leads?", "explain": "yes please"}, "explain"),
        ({"question": "who leads?", "sql": "SELECT 1"}, "sql"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(api: Api, body: dict, field: str) -> None:
    reply = await api.post(QUERY, body)

    assert reply.status == 422, reply.body
    assert field in reply.json["error"]["details"]


async def test_malformed_body_is_a_400(api: Api) -> None:
    reply = await api.post(QUERY, raw=b"{question: who")
    assert reply.status == 400
    assert reply.error_code() == "malformed_json"


INJECTIONS = [
    "who has the most points'; DROP TABLE games; --",
    'how many goals did Lions score" OR 1=1 --',
    "Robert'); DELETE FROM teams WHERE ('1'='1",
    "show the table UNION SELECT email, password_hash FROM users --",
    "top 3 teams by points; UPDATE games SET home_score = 99",
    "who leads /* */ ; SELECT pg_sleep(10)",
    "Lions' record %00 \\x00 ${jndi:ldap://x}",
    "who has the most points".translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}),  # full width
    "who has the most points " + "Lions " * 80,
    "\U0001d568\U0001d559\U0001d560 \U0001d55d\U0001d556\U0001d552\U0001d555\U0001d564",
    "L\u00edons r\u00e9\u200bcord",  # accents and a zero-width space
    "' OR ''='",
]


async def test_injection_and_unicode_tricks_never_change_data(live_api: Api) -> None:
    token = await live_api.user("org@example.com")
    league = await make_league(live_api, token)
    table_before = await live_api.get(f"/api/v1/events/{league.id}/games")

    for question in INJECTIONS:
        reply = await live_api.post(
            QUERY, {"question": question, "event_id": league.id, "explain": True}
        )
        assert reply.status in (200, 422), (question, reply.status, reply.body)
        if reply.status == 200:
            for statement in reply.json["sql"]:
                assert "DROP" not in statement["sql"] and "UNION SELECT" not in statement["sql"]
                assert "password" not in statement["sql"]

    table_after = await live_api.get(f"/api/v1/events/{league.id}/games")
    assert table_after.json["items"] == table_before.json["items"]


# --- settings of their own ----------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Api, MatchdayApp]]:
    app = await make_app(settings)
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    try:
        yield Api(f"http://127.0.0.1:{port}"), app
    finally:
        server.stop()
        await server.close_all_connections()
        await app.close()


async def test_no_answer_in_time_is_a_504(tmp_path: Path, sqlite_template_file: Path) -> None:
    from tests.support import sqlite_copy

    url = sqlite_copy(sqlite_template_file, tmp_path)
    async with serving(settings_for(url, tmp_path, ANALYTICS_TIMEOUT_SECONDS="0.0001")) as (
        api,
        _app,
    ):
        token = await api.user("org@example.com")
        league = await make_league(api, token)
        reply = await api.post(QUERY, {"question": "who leads?", "event_id": league.id})

    assert reply.status == 504, reply.body
    assert reply.error_code() == "analytics_timeout"


@pytest.mark.postgres
async def test_questions_read_from_the_replica_when_one_is_configured(tmp_path: Path) -> None:
    """Two schemas stand in for primary and replica: a league exists only in the 'replica',
    so an answer about it proves the question was read there."""
    primary, replica = create_pg_schema(), create_pg_schema()
    try:
        async with serving(settings_for(pg_schema_url(replica), tmp_path / "r")) as (api, _):
            token = await api.user("org@example.com")
            league = await make_league(api, token)
        settings = settings_for(
            pg_schema_url(primary), tmp_path / "p", DATABASE_REPLICA_URL=pg_schema_url(replica)
        )
        async with serving(settings) as (api, _):
            answered = await api.post(
                QUERY, {"question": "who scored the most goals?", "event_id": league.id}
            )
            events = await api.get("/api/v1/events")
    finally:
        drop_pg_schema(primary)
        drop_pg_schema(replica)

    # The primary has no events at all. Anonymous lists come from the read cache, filled
    # from the primary (a lagging replica could fill it with data older than its version).
    assert events.json["total"] == 0
    assert answered.status == 200, answered.body
    assert mentioned(answered.json["answer"]) == {"Tigers"}


async def test_the_language_model_planner_reads_what_the_parser_cannot(
    tmp_path: Path, sqlite_template_file: Path
) -> None:
    """ANALYTICS_LLM_URL set: a question the parser refuses goes to the (stub) model; a valid
    plan is answered, SQL or another event's team is not — the question stays a 422."""
    from tests.integration.test_analytics_llm import Reply, completion, running
    from tests.support import sqlite_copy

    odd = "whose keeper was the busiest?"
    url = sqlite_copy(sqlite_template_file, tmp_path)
    with running() as stub:
        settings = settings_for(url, tmp_path, ANALYTICS_LLM_URL=stub.url)
        async with serving(settings) as (api, _app):
            token = await api.user("org@example.com")
            league = await make_league(api, token)
            question = {"question": odd, "event_id": league.id}
            plan = {"intent": "leader", "event_id": league.id, "metric": "score_against"}
            stub.replies.append(Reply(completion(json.dumps({**plan, "order": "desc"}))))
            answered = await api.post(QUERY, question)
            stub.replies.append(Reply(completion('{"sql": "DROP TABLE games"}')))
            sql_reply = await api.post(QUERY, question)
            stub.replies.append(Reply(completion(json.dumps({**plan, "teams": [999]}))))
            foreign = await api.post(QUERY, question)
            games = await api.get(f"/api/v1/events/{league.id}/games")
            plain = await api.post(QUERY, {"question": "how many draws?", "event_id": league.id})

    assert answered.status == 200, answered.body
    # Conceded: Lions 1, Tigers 3, Bears 2, Wolves 6 → Wolves' keeper was the busiest.
    assert mentioned(answered.json["answer"]) == {"Wolves"}
    assert answered.json["plan"]["metric"] == "score_against"
    assert odd in json.dumps(stub.requests[0].body)  # the question went to the model
    # No league word the parser knows: its own refusal stands when the model's reply is junk.
    assert sql_reply.status == 422 and sql_reply.error_code() == "off_topic"
    assert foreign.status == 422
    assert games.json["total"] == 4
    assert plain.status == 200
    assert len(stub.requests) == 3  # questions the parser reads never go to the model
