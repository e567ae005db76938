"""Issue 15 through the real server: every answer says what it understood, a question with a
part no plan can use is refused with that part, and each kind of refusal has its own code."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_analytics_api import QUERY, make_league, mentioned, serving
from tests.support import Api, settings_for


async def test_an_answer_says_what_it_understood(live_api: Api) -> None:
    token = await live_api.user("org@example.com")
    league = await make_league(live_api, token)
    # Lions 4 pts, Tigers 3, Bears 2, Wolves 1; drawn: Bears 2, Lions 1, Wolves 1, Tigers 0.

    unbeaten = await live_api.post(
        QUERY, {"question": "which teams are still unbeaten?", "event_id": league.id}
    )
    at_least = await live_api.post(
        QUERY, {"question": "teams with at least 3 points", "event_id": league.id}
    )
    is_top = await live_api.post(QUERY, {"question": "are Tigers top?", "event_id": league.id})

    assert unbeaten.status == 200, unbeaten.body
    assert mentioned(unbeaten.json["answer"]) == {"Lions", "Bears"}
    assert unbeaten.json["understood_as"] == "Teams with losses = 0, in Summer Cup"
    assert at_least.status == 200, at_least.body
    assert mentioned(at_least.json["answer"]) == {"Lions", "Tigers"}
    assert at_least.json["understood_as"] == "Teams with points \u2265 3, in Summer Cup"
    assert is_top.status == 200, is_top.body
    assert is_top.json["answer"].startswith("No")
    assert is_top.json["plan"]["intent"] == "check"


async def test_a_part_no_plan_can_use_is_refused_by_name(live_api: Api) -> None:
    token = await live_api.user("org@example.com")
    league = await make_league(live_api, token)

    reply = await live_api.post(
        QUERY,
        {"question": "who has the most draws in three or more games", "event_id": league.id},
    )

    assert reply.status == 422, reply.body
    error = reply.json["error"]
    assert error["code"] == "unsupported_question"
    assert "most" in error["message"]
    assert error["details"]["not_understood"]


async def test_an_unknown_team_gets_the_closest_names(live_api: Api) -> None:
    token = await live_api.user("org@example.com")
    league = await make_league(live_api, token)

    reply = await live_api.post(
        QUERY, {"question": "how many goals have the Wolverines scored?", "event_id": league.id}
    )

    assert reply.status == 422, reply.body
    assert reply.error_code() == "unknown_team"
    details = reply.json["error"]["details"]
    assert details["name"] == "Wolverines"
    assert details["suggestions"][0] == "Wolves"


async def test_an_off_topic_question_is_told_so_not_asked_for_an_event(live_api: Api) -> None:
    token = await live_api.user("org@example.com")
    await make_league(live_api, token)
    await make_league(live_api, token, name="Winter League")

    reply = await live_api.post(QUERY, {"question": "what is the capital of France?"})
    bare_team = await live_api.post(QUERY, {"question": "Lions?"})

    assert reply.status == 422, reply.body
    assert reply.error_code() == "off_topic"
    assert bare_team.error_code() != "off_topic"  # a team name is about a league


async def test_two_events_of_one_name_are_listed_and_picked_by_date_or_id(api: Api) -> None:
    token = await api.user("org@example.com")
    ids = []
    for starts, ends in (("2025-04-01", "2025-06-30"), ("2026-04-01", "2026-06-30")):
        made = await api.post(
            "/api/v1/events",
            {"name": "Summer Cup", "visibility": "public", "starts_on": starts, "ends_on": ends},
            token=token,
        )
        assert made.status == 201, made.body
        ids.append(made.json["id"])
    question = "who has the most points in Summer Cup?"

    ambiguous = await api.post(QUERY, {"question": question})
    by_date = await api.post(QUERY, {"question": question, "event_date": "2026-05-01"})
    by_id = await api.post(QUERY, {"question": question, "event_id": ids[0]})
    no_such_day = await api.post(QUERY, {"question": question, "event_date": "2024-01-01"})

    assert ambiguous.status == 422, ambiguous.body
    assert ambiguous.error_code() == "ambiguous_event"
    candidates = ambiguous.json["error"]["details"]["candidates"]
    assert sorted((c["id"], c["starts_on"], c["ends_on"]) for c in candidates) == [
        (ids[0], "2025-04-01", "2025-06-30"),
        (ids[1], "2026-04-01", "2026-06-30"),
    ]
    assert by_date.status == 200, by_date.body
    assert by_date.json["event"]["id"] == ids[1]
    assert by_id.status == 200 and by_id.json["event"]["id"] == ids[0]
    assert no_such_day.error_code() == "ambiguous_event"


async def test_a_model_plan_that_drops_a_known_constraint_is_refused(
    tmp_path: Path, sqlite_template_file: Path
) -> None:
    """The language model's plan is held to the coverage rule too: it may read words the
    parser does not know, never leave out ones the parser knows ("more than 1")."""
    from tests.integration.test_analytics_llm import Reply, completion, running
    from tests.support import sqlite_copy

    url = sqlite_copy(sqlite_template_file, tmp_path)
    with running() as stub:
        settings = settings_for(url, tmp_path, ANALYTICS_LLM_URL=stub.url)
        async with serving(settings) as (api, _app):
            token = await api.user("org@example.com")
            league = await make_league(api, token)
            dropped = {"intent": "leader", "event_id": league.id, "metric": "drawn"}
            used = {"intent": "filter", "event_id": league.id, "metric": "drawn"}
            used["filters"] = {"threshold": {"metric": "drawn", "op": "gt", "value": 1}}
            question = {
                "question": "which teams drew more than 1 game hereabouts?",
                "event_id": league.id,
            }
            stub.replies.append(Reply(completion(json.dumps(dropped))))
            refused = await api.post(QUERY, question)
            stub.replies.append(Reply(completion(json.dumps(used))))
            answered = await api.post(QUERY, question)

    assert refused.status == 422, refused.body
    assert answered.status == 200, answered.body
    assert mentioned(answered.json["answer"]) == {"Bears"}
    assert len(stub.requests) == 2
