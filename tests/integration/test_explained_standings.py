"""Explainable standings end to end: `decided_by` in the table, the live `standings` event
and the stored snapshot; the tiebreakers freeze once a result is recorded."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete

from models import StandingsSnapshot
from server.app import MatchdayApp
from server.openapi import build_openapi
from tests.integration.test_admin import (
    assert_error,
    entries,
    make_admin,
    make_user,
    new_game,
    ok,
    score,
    standings,
)
from tests.sse_client import SseStream
from tests.support import Api

DASH = "\u2013"


async def cup(api: Api, token: str, tiebreakers: list[str], *names: str) -> tuple[int, dict]:
    """An event with the named teams; returns (event_id, {name: team id})."""
    body = {"name": "Cup", "tiebreakers": tiebreakers}
    event_id = ok(await api.post("/api/v1/events", body, token=token), 201)["id"]
    teams = {}
    for name in names:
        path = f"/api/v1/events/{event_id}/teams"
        teams[name] = ok(await api.post(path, {"name": name}, token=token), 201)["id"]
    return event_id, teams


async def play(
    api: Api, token: str, event_id: int, teams: dict, home: str, away: str, h: int, a: int
) -> dict:
    game = await new_game(api, token, event_id, teams[home], teams[away])
    return await score(api, token, game["id"], h, a)


def reasons(table: dict[str, Any]) -> dict[int, Any]:
    return {row["team_id"]: row["decided_by"] for row in table["rows"]}


async def test_every_table_says_why_each_row_is_above_the_next(
    live_app: MatchdayApp, live_api: Api
) -> None:
    app, api = live_app, live_api
    _owner_id, owner = await make_user(api, "owner@example.com")
    event_id, t = await cup(api, owner, ["head_to_head", "score_diff"], "A", "B", "C", "D")
    await play(api, owner, event_id, t, "A", "B", 1, 0)
    await play(api, owner, event_id, t, "C", "D", 0, 0)
    before = await standings(api, app, event_id)
    stream = await SseStream.open(
        api.base_url,
        f"/api/v1/events/{event_id}/stream",
        {"Last-Event-ID": before["last_event_id"]},
    )
    try:
        # B wins big: level with A on points, better on goals, but A won their meeting.
        await play(api, owner, event_id, t, "B", "D", 5, 0)
        # The new game, its score, then the table they changed.
        kinds = [m.event for m in await stream.events(3, timeout=10)]
        published = stream.seen[-1]
    finally:
        await stream.close()
    expected = {
        t["A"]: {
            "rule": "head_to_head",
            "over": [t["B"]],
            "detail": f"head-to-head points 3{DASH}0",
        },
        t["B"]: {"rule": "points", "over": [t["C"]], "detail": f"points 3{DASH}1"},
        # C and D drew their meeting: head to head level, score difference decides.
        t["C"]: {"rule": "score_diff", "over": [t["D"]], "detail": "score difference +0 vs -5"},
        t["D"]: None,
    }
    assert kinds == ["game", "score", "standings"]
    assert reasons(published.json) == expected  # the live event
    table = await standings(api, app, event_id)
    assert table == published.json  # the REST table is the very same
    async with app.sessions() as session:  # and so is the stored snapshot
        snapshot = await session.get(StandingsSnapshot, event_id)
        assert snapshot is not None
        assert {row["team_id"]: row["decided_by"] for row in snapshot.rows} == expected


async def test_a_table_before_any_recompute_shows_every_team_tied(
    api: Api, app: MatchdayApp
) -> None:
    _owner_id, owner = await make_user(api, "owner@example.com")
    event_id, t = await cup(api, owner, [], "B", "A")
    await app.settled()  # the recomputes adding the teams queued, then no snapshot
    async with app.sessions() as session:
        await session.execute(
            delete(StandingsSnapshot).where(StandingsSnapshot.event_id == event_id)
        )
        await session.commit()
    app.standings_cache.forget(event_id)
    table = ok(await api.get(f"/api/v1/events/{event_id}/standings"))
    assert [row["decided_by"] for row in table["rows"]] == [
        {"rule": "tied", "over": [t["B"]], "detail": "level on points 0"},
        None,
    ]


async def patch_event(api: Api, token: str, event_id: int, body: dict) -> Any:
    return await api.patch(f"/api/v1/events/{event_id}", body, token=token)


async def test_tiebreakers_freeze_with_the_first_result(api: Api, app: MatchdayApp) -> None:
    admin_id, admin = await make_admin(api, app, "admin@example.com")
    _owner_id, owner = await make_user(api, "owner@example.com")
    event_id, t = await cup(api, owner, ["score_for"], "A", "B", "C")
    # Before any result the owner changes them freely.
    ok(await patch_event(api, owner, event_id, {"tiebreakers": ["score_diff"]}))
    await play(api, owner, event_id, t, "A", "B", 1, 0)
    await play(api, owner, event_id, t, "B", "C", 5, 0)
    table = await standings(api, app, event_id)
    assert reasons(table)[t["B"]] == {
        "rule": "score_diff",
        "over": [t["A"]],
        "detail": "score difference +4 vs +1",
    }

    new = {"tiebreakers": ["head_to_head", "score_diff"]}
    for body in (new, {**new, "reason": "the league's rules say so"}):
        assert_error(await patch_event(api, owner, event_id, body), 403, "tiebreakers_frozen")
    error = assert_error(await patch_event(api, admin, event_id, new), 422, "validation_error")
    assert "reason" in error["details"]
    # Sending the same list again, or changing something else, is no change to them.
    ok(await patch_event(api, owner, event_id, {"tiebreakers": ["score_diff"], "name": "Cup 2"}))
    assert (await standings(api, app, event_id))["version"] == table["version"]

    reason = "the league's rules put head-to-head first"
    changed = ok(await patch_event(api, admin, event_id, {**new, "reason": reason}))
    assert changed["tiebreakers"] == new["tiebreakers"]
    table = await standings(api, app, event_id)  # recomputed under the new rules
    assert reasons(table)[t["A"]] == {
        "rule": "head_to_head",
        "over": [t["B"]],
        "detail": f"head-to-head points 3{DASH}0",
    }
    updates = await entries(api, admin, action="event.update")
    assert updates[0]["actor_id"] == admin_id
    assert updates[0]["target_id"] == event_id
    assert updates[0]["details"] == {
        "old": {"tiebreakers": ["score_diff"]},
        "new": {"tiebreakers": ["head_to_head", "score_diff"]},
        "reason": reason,
    }


async def test_a_result_since_cancelled_still_froze_them(api: Api, app: MatchdayApp) -> None:
    _owner_id, owner = await make_user(api, "owner@example.com")
    event_id, t = await cup(api, owner, ["score_diff"], "A", "B")
    game = await play(api, owner, event_id, t, "A", "B", 1, 0)
    ok(await api.patch(f"/api/v1/games/{game['id']}", {"status": "cancelled"}, token=owner))
    reply = await patch_event(api, owner, event_id, {"tiebreakers": ["wins"]})
    assert_error(reply, 403, "tiebreakers_frozen")


@pytest.mark.parametrize("status", ["live", "scheduled"])
async def test_games_without_a_result_do_not_freeze_them(
    api: Api, app: MatchdayApp, status: str
) -> None:
    _owner_id, owner = await make_user(api, "owner@example.com")
    event_id, t = await cup(api, owner, ["score_diff"], "A", "B")
    game = await new_game(api, owner, event_id, t["A"], t["B"])
    if status == "live":
        await score(api, owner, game["id"], 1, 0, status="live")
    ok(await patch_event(api, owner, event_id, {"tiebreakers": ["wins"]}))


def test_openapi_documents_decided_by_and_the_freeze() -> None:
    document = build_openapi()
    schemas = document["components"]["schemas"]
    row = schemas["StandingsRow"]["properties"]["decided_by"]
    assert {"$ref": "#/components/schemas/DecidedBy"} in row["anyOf"]
    assert set(schemas["DecidedBy"]["properties"]) == {"rule", "over", "detail"}
    assert "tied" in schemas["DecidedBy"]["properties"]["rule"]["enum"]
    assert "reason" in schemas["EventUpdate"]["properties"]
    patch = document["paths"]["/api/v1/events/{event_id}"]["patch"]
    assert {"403", "422"} <= set(patch["responses"])
    assert "tiebreakers_frozen" in patch["description"]
