"""PATCH /games/{id}: move, postpone, cancel and restore a game, on both run modes; what the
spectators see on the stream, what the standings count, who may do it, and the dry run."""

from __future__ import annotations

import asyncio
from typing import Any

from server.admin_cli import create_admin
from server.app import MatchdayApp
from tests.sse_client import SseStream
from tests.support import STRONG_PASSWORD, Api, Reply

T0 = "2026-06-01T12:00:00Z"


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body[:2000])
    return reply.json


def error(reply: Reply, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.body[:2000])
    body: dict[str, Any] = reply.json["error"]
    assert body["code"] == code, body
    return body


async def league(api: Api, token: str, teams: int = 2, **fields: Any) -> tuple[int, list[int]]:
    event_id = ok(await api.post("/api/v1/events", {"name": "Cup", **fields}, token=token), 201)[
        "id"
    ]
    ids = []
    for n in range(teams):
        path = f"/api/v1/events/{event_id}/teams"
        ids.append(ok(await api.post(path, {"name": f"Team {n}"}, token=token), 201)["id"])
    return event_id, ids


async def add_game(api: Api, token: str, event_id: int, home: int, away: int, **fields: Any) -> Any:
    body = {"home_team_id": home, "away_team_id": away, **fields}
    return ok(await api.post(f"/api/v1/events/{event_id}/games", body, token=token), 201)


async def patch(api: Api, token: str | None, game_id: int, body: Any, **kw: Any) -> Reply:
    return await api.patch(f"/api/v1/games/{game_id}", body, token=token, **kw)


async def test_move_postpone_cancel_restore_reach_spectators(
    live_api: Api, live_app: MatchdayApp
) -> None:
    token = await live_api.user("owner@example.com")
    event_id, (a, b) = await league(live_api, token)
    game = await add_game(live_api, token, event_id, a, b, starts_at=T0, venue="North")
    await live_app.settled()
    stream = await SseStream.open(live_api.base_url, f"/api/v1/events/{event_id}/stream")
    assert (await stream.next()).retry  # the opening `retry:` line

    steps: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"starts_at": "2026-06-02T15:00:00Z", "venue": "South", "round": 2}, {}),
        ({"status": "postponed"}, {"status": "postponed", "starts_at": None}),
        # A new time puts a postponed game back on the schedule.
        ({"starts_at": "2026-06-09T15:00:00Z"}, {"status": "scheduled"}),
        ({"status": "cancelled"}, {"status": "cancelled"}),
        ({"status": "scheduled"}, {"status": "scheduled"}),
    ]
    version = game["version"]
    for body, expected in steps:
        reply = await patch(live_api, token, game["id"], body, headers={"If-Match": f'"{version}"'})
        changed = ok(reply)
        assert changed["version"] == version + 1 and reply.headers["ETag"] == f'"{version + 1}"'
        version = changed["version"]
        for name, value in {**body, **expected}.items():
            assert changed[name] == value, (body, changed)
        message = await stream.next_event()
        assert message is not None and message.event == "game", message
        assert message.json == changed  # spectators see exactly the stored game
    assert ok(await live_api.get(f"/api/v1/games/{game['id']}"))["venue"] == "South"
    await stream.close()


async def test_changes_are_audited_with_before_and_after(api: Api, app: MatchdayApp) -> None:
    await api.register("admin@example.com")
    await asyncio.to_thread(create_admin, app.config, "admin@example.com", STRONG_PASSWORD, "A")
    admin = await api.login("admin@example.com")
    token = await api.user("owner@example.com")
    event_id, (a, b) = await league(api, token)
    game = await add_game(api, token, event_id, a, b, starts_at=T0)
    ok(await patch(api, token, game["id"], {"starts_at": "2026-06-01T18:00:00+02:00"}))
    ok(await patch(api, admin, game["id"], {"status": "cancelled"}))  # admins may, too
    entries = ok(await api.get("/api/v1/admin/audit?action=game.update", token=admin))["items"]
    details = sorted((e["details"] for e in entries), key=lambda d: len(d["new"]))
    assert {"old": {"starts_at": T0}, "new": {"starts_at": "2026-06-01T16:00:00Z"}} in details
    assert {"old": {"status": "scheduled"}, "new": {"status": "cancelled"}} in details
    assert all(e["target_type"] == "game" and e["target_id"] == game["id"] for e in entries)


async def test_a_stale_if_match_changes_nothing(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id, (a, b) = await league(api, token)
    game = await add_game(api, token, event_id, a, b, starts_at=T0)
    ok(await patch(api, token, game["id"], {"venue": "North"}, headers={"If-Match": '"1"'}))
    stale = await patch(api, token, game["id"], {"venue": "South"}, headers={"If-Match": '"1"'})
    body = error(stale, 409, "version_conflict")  # as scores answer it (docs/decisions.md)
    assert body["details"] == {"current_version": 2}
    assert ok(await api.get(f"/api/v1/games/{game['id']}"))["venue"] == "North"
    bad = await patch(api, token, game["id"], {"venue": "South"}, headers={"If-Match": "v2"})
    error(bad, 400, "bad_if_match")


async def test_only_the_owner_and_admins_may_change_a_game(api: Api) -> None:
    owner = await api.user("owner@example.com")
    keeper_user = await api.register("keeper@example.com")
    keeper = await api.login("keeper@example.com")
    stranger = await api.user("stranger@example.com")
    event_id, (a, b) = await league(api, owner)
    path = f"/api/v1/events/{event_id}/scorekeepers"
    ok(await api.post(path, {"user_id": keeper_user["id"]}, token=owner), 201)
    game = await add_game(api, owner, event_id, a, b, starts_at=T0)
    for token in (keeper, stranger):
        error(await patch(api, token, game["id"], {"status": "cancelled"}), 403, "forbidden")
    error(await patch(api, None, game["id"], {"status": "cancelled"}), 401, "unauthorized")
    assert ok(await api.get(f"/api/v1/games/{game['id']}"))["status"] == "scheduled"
    private_id, (c, d) = await league(api, owner, visibility="private")
    hidden = await add_game(api, owner, private_id, c, d)
    error(await patch(api, stranger, hidden["id"], {"status": "cancelled"}), 404, "not_found")


async def test_bad_changes_are_refused(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id, (a, b) = await league(api, token)
    game = await add_game(api, token, event_id, a, b, starts_at=T0)
    for body in ({}, {"status": "final"}, {"status": "live"}, {"starts_at": "tomorrow"}):
        error(await patch(api, token, game["id"], body), 422, "validation_error")
    both = await patch(api, token, game["id"], {"status": "postponed", "starts_at": T0})
    assert "starts_at" in error(both, 422, "validation_error")["details"]
    ok(
        await api.put(
            f"/api/v1/games/{game['id']}/score",
            {"home_score": 1, "away_score": 0, "status": "final"},
            token=token,
        )
    )
    final = await patch(api, token, game["id"], {"status": "postponed"})
    error(final, 409, "invalid_transition")


async def test_a_postponed_game_takes_no_score_until_it_has_a_time(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id, (a, b) = await league(api, token)
    game = await add_game(api, token, event_id, a, b, starts_at=T0)
    ok(await patch(api, token, game["id"], {"status": "postponed"}))
    score = {"home_score": 1, "away_score": 0, "status": "live"}
    error(await api.put(f"/api/v1/games/{game['id']}/score", score, token=token), 409, "postponed")
    listed = ok(await api.get(f"/api/v1/events/{event_id}/games?status=postponed"))
    assert [g["id"] for g in listed["items"]] == [game["id"]]


async def test_dry_run_answers_the_change_and_stores_nothing(api: Api, app: MatchdayApp) -> None:
    token = await api.user("owner@example.com")
    event_id, (a, b) = await league(api, token)
    game = await add_game(api, token, event_id, a, b, starts_at=T0, venue="North")
    other = await add_game(api, token, event_id, a, b, starts_at="2026-06-05T12:00:00Z")
    await app.settled()
    before = ok(await api.get(f"/api/v1/games/{other['id']}"))
    reply = await patch(api, token, other["id"], {"starts_at": T0}, headers={"If-Match": '"1"'})
    error(reply, 409, "schedule_conflict")  # the real move is refused
    preview = ok(
        await api.patch(f"/api/v1/games/{other['id']}?dry_run=true", {"starts_at": T0}, token=token)
    )
    assert preview["dry_run"] is True
    assert preview["game"]["starts_at"] == T0 and preview["game"]["version"] == 1
    assert preview["changes"] == {
        "old": {"starts_at": "2026-06-05T12:00:00Z"},
        "new": {"starts_at": T0},
    }
    assert preview["violations"] == [
        {
            "rule": "team_double_booked",
            "game_ids": sorted([game["id"], other["id"]]),
            "team_ids": [a, b],
            "venue": None,
            "starts_at": T0,
        }
    ]
    assert ok(await api.get(f"/api/v1/games/{other['id']}")) == before
    cancel = await api.patch(
        f"/api/v1/games/{game['id']}?dry_run=true", {"status": "cancelled"}, token=token
    )
    assert ok(cancel)["game"]["status"] == "cancelled" and ok(cancel)["violations"] == []
    assert ok(await api.get(f"/api/v1/games/{game['id']}"))["status"] == "scheduled"


async def test_a_cancelled_final_leaves_the_standings_and_a_restore_brings_it_back(
    live_api: Api, live_app: MatchdayApp
) -> None:
    token = await live_api.user("owner@example.com")
    event_id, (a, b) = await league(live_api, token)
    game = await add_game(live_api, token, event_id, a, b, starts_at=T0)
    score = {"home_score": 3, "away_score": 1, "status": "final"}
    ok(await live_api.put(f"/api/v1/games/{game['id']}/score", score, token=token))

    async def table() -> dict[int, dict[str, Any]]:
        await live_app.settled()
        rows = ok(await live_api.get(f"/api/v1/events/{event_id}/standings"))["rows"]
        return {row["team_id"]: row for row in rows}

    assert (await table())[a]["points"] == 3
    cancelled = ok(await patch(live_api, token, game["id"], {"status": "cancelled"}))
    assert (cancelled["home_score"], cancelled["away_score"]) == (3, 1)  # kept, not counted
    rows = await table()
    assert (rows[a]["played"], rows[a]["points"], rows[b]["played"]) == (0, 0, 0)
    restored = ok(await patch(live_api, token, game["id"], {"status": "scheduled"}))
    assert restored["status"] == "final"  # back to the state it left
    assert (await table())[a]["points"] == 3
