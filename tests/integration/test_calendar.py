"""Calendar feeds (GET /events/{id}/calendar.ics, /teams/{id}/calendar.ics) as a calendar app
reads them: parsed with icalendar, on SQLite and PostgreSQL; feed tokens for private events."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from config.logging import JsonFormatter
from models import CalendarToken
from server.admin_cli import create_admin
from server.app import MatchdayApp
from server.openapi import build_openapi
from tests.support import STRONG_PASSWORD, Api, Reply

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TOKEN_PATH = "/api/v1/me/calendar-token"


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body[:2000])
    return reply.json


def at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def league(api: Api, token: str, teams: int = 3, **fields: Any) -> tuple[int, list[int]]:
    event = ok(await api.post("/api/v1/events", {"name": "Cup", **fields}, token=token), 201)
    ids = []
    for n in range(teams):
        path = f"/api/v1/events/{event['id']}/teams"
        ids.append(ok(await api.post(path, {"name": f"Team {n}"}, token=token), 201)["id"])
    return event["id"], ids


async def add_game(api: Api, token: str, event_id: int, home: int, away: int, **fields: Any) -> Any:
    body = {"home_team_id": home, "away_team_id": away, **fields}
    return ok(await api.post(f"/api/v1/events/{event_id}/games", body, token=token), 201)


def entries(reply: Reply) -> dict[str, Any]:
    """The feed's VEVENTs by UID, after checking it is a calendar."""
    assert reply.status == 200, (reply.status, reply.body[:2000])
    assert reply.headers["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(reply.body)
    found = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert len(found) == len(calendar.walk("VEVENT")), "UIDs must be unique"
    return found


def uid(game_id: int) -> str:
    return f"game-{game_id}@matchday.local"


async def feed(api: Api, event_id: int, **kw: Any) -> Reply:
    return await api.get(f"/api/v1/events/{event_id}/calendar.ics", **kw)


async def test_each_timed_game_is_one_entry_with_a_stable_uid(api: Api) -> None:
    owner = await api.user("owner@example.com")
    rules = {"game_minutes": 90}
    event_id, (a, b, c) = await league(api, owner, schedule_rules=rules)
    first = await add_game(api, owner, event_id, a, b, starts_at=at(T0), venue="North, Pitch 1")
    second = await add_game(api, owner, event_id, b, c, starts_at=at(T0 + timedelta(days=7)))
    await add_game(api, owner, event_id, a, c)  # no time yet: nothing to put in a calendar

    reply = await feed(api, event_id)
    calendar = Calendar.from_ical(reply.body)
    assert str(calendar["X-WR-CALNAME"]) == "Cup"
    found = entries(reply)
    assert sorted(found) == sorted([uid(first["id"]), uid(second["id"])])
    entry = found[uid(first["id"])]
    assert str(entry["SUMMARY"]) == "Team 0 vs Team 1"
    assert str(entry["LOCATION"]) == "North, Pitch 1"  # escaped on the wire, whole again here
    assert entry.decoded("DTSTART") == T0
    assert entry.decoded("DTEND") == T0 + timedelta(minutes=90)  # the event's game length
    assert str(entry["STATUS"]) == "CONFIRMED" and int(entry["SEQUENCE"]) == 0
    assert "LOCATION" not in found[uid(second["id"])]
    again = entries(await feed(api, event_id))
    assert sorted(again) == sorted(found)  # the same UIDs on every fetch
    assert (await feed(api, event_id)).body == reply.body  # and the same bytes


async def test_a_generated_schedule_is_in_the_feed_at_once(api: Api) -> None:
    owner = await api.user("owner@example.com")
    event_id, _teams = await league(api, owner, teams=4)
    body = {"format": "round_robin", "starts_at": at(T0), "venues": ["North", "South"]}
    games = ok(await api.post(f"/api/v1/events/{event_id}/schedule", body, token=owner), 201)
    found = entries(await feed(api, event_id))
    assert sorted(found) == sorted(uid(g["id"]) for g in games["games"])  # stored in bulk
    for game in games["games"]:
        entry = found[uid(game["id"])]
        assert int(entry["SEQUENCE"]) == 0 and str(entry["LOCATION"]) == game["venue"]
        assert entry.decoded("DTSTART") == datetime.fromisoformat(game["starts_at"])


async def test_a_move_shows_at_once_with_its_sequence_raised(api: Api) -> None:
    owner = await api.user("owner@example.com")
    event_id, (a, b, _c) = await league(api, owner)
    game = await add_game(api, owner, event_id, a, b, starts_at=at(T0), venue="North")
    path = f"/api/v1/games/{game['id']}"
    moved_to = T0 + timedelta(days=1, hours=3)

    ok(await api.patch(path, {"starts_at": at(moved_to)}, token=owner))
    entry = entries(await feed(api, event_id))[uid(game["id"])]
    assert entry.decoded("DTSTART") == moved_to and int(entry["SEQUENCE"]) == 1
    ok(await api.patch(path, {"venue": "South"}, token=owner))
    entry = entries(await feed(api, event_id))[uid(game["id"])]
    assert str(entry["LOCATION"]) == "South" and int(entry["SEQUENCE"]) == 2
    # Neither a new round number nor a score moves the game in anyone's calendar.
    ok(await api.patch(path, {"round": 3}, token=owner))
    score = {"home_score": 1, "away_score": 0, "status": "live"}
    ok(await api.put(f"{path}/score", score, token=owner))
    entry = entries(await feed(api, event_id))[uid(game["id"])]
    assert int(entry["SEQUENCE"]) == 2
    assert "Round 3" in str(entry["DESCRIPTION"])


async def test_a_final_game_shows_its_score(api: Api) -> None:
    owner = await api.user("owner@example.com")
    event_id, (a, b, _c) = await league(api, owner)
    game = await add_game(api, owner, event_id, a, b, starts_at=at(T0))
    score_path = f"/api/v1/games/{game['id']}/score"
    ok(await api.put(score_path, {"home_score": 2, "away_score": 1, "status": "live"}, token=owner))
    assert str(entries(await feed(api, event_id))[uid(game["id"])]["SUMMARY"]) == (
        "Team 0 vs Team 1"
    )
    ok(
        await api.put(
            score_path, {"home_score": 2, "away_score": 1, "status": "final"}, token=owner
        )
    )
    entry = entries(await feed(api, event_id))[uid(game["id"])]
    assert str(entry["SUMMARY"]) == "Team 0 2\u20131 Team 1"


async def test_cancelled_postponed_and_restored_games(api: Api) -> None:
    owner = await api.user("owner@example.com")
    event_id, (a, b, _c) = await league(api, owner)
    game = await add_game(api, owner, event_id, a, b, starts_at=at(T0))
    path = f"/api/v1/games/{game['id']}"

    ok(await api.patch(path, {"status": "cancelled"}, token=owner))
    entry = entries(await feed(api, event_id))[uid(game["id"])]
    assert str(entry["STATUS"]) == "CANCELLED" and int(entry["SEQUENCE"]) == 1
    assert str(entry["SUMMARY"]) == "Cancelled: Team 0 vs Team 1"
    ok(await api.patch(path, {"status": "postponed"}, token=owner))
    assert entries(await feed(api, event_id)) == {}  # no time: no calendar entry
    new_time = T0 + timedelta(days=14)
    ok(await api.patch(path, {"starts_at": at(new_time)}, token=owner))
    entry = entries(await feed(api, event_id))[uid(game["id"])]  # back, under its own UID
    assert str(entry["STATUS"]) == "CONFIRMED" and entry.decoded("DTSTART") == new_time
    assert int(entry["SEQUENCE"]) == 3


async def test_an_unchanged_feed_is_304(api: Api) -> None:
    owner = await api.user("owner@example.com")
    event_id, (a, b, _c) = await league(api, owner)
    game = await add_game(api, owner, event_id, a, b, starts_at=at(T0))
    first = await feed(api, event_id)
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    cached = await feed(api, event_id, headers={"If-None-Match": tag})
    assert cached.status == 304 and cached.body == b""
    ok(await api.patch(f"/api/v1/games/{game['id']}", {"venue": "East"}, token=owner))
    changed = await feed(api, event_id, headers={"If-None-Match": tag})
    assert changed.status == 200 and changed.headers["ETag"] != tag
    assert str(entries(changed)[uid(game["id"])]["LOCATION"]) == "East"


async def test_a_team_feed_has_only_that_teams_games(api: Api) -> None:
    owner = await api.user("owner@example.com")
    event_id, (a, b, c) = await league(api, owner)
    ab = await add_game(api, owner, event_id, a, b, starts_at=at(T0))
    bc = await add_game(api, owner, event_id, b, c, starts_at=at(T0 + timedelta(days=1)))
    ca = await add_game(api, owner, event_id, c, a, starts_at=at(T0 + timedelta(days=2)))
    reply = await api.get(f"/api/v1/teams/{a}/calendar.ics")
    assert sorted(entries(reply)) == sorted([uid(ab["id"]), uid(ca["id"])])
    assert str(Calendar.from_ical(reply.body)["X-WR-CALNAME"]) == "Team 0 \u2013 Cup"
    assert uid(bc["id"]) in entries(await api.get(f"/api/v1/teams/{b}/calendar.ics"))
    missing = await api.get("/api/v1/teams/999999/calendar.ics")
    assert missing.status == 404 and missing.error_code() == "not_found"


async def test_a_private_event_needs_a_feed_token_of_someone_who_may_see_it(
    api: Api, app: MatchdayApp
) -> None:
    owner = await api.user("owner@example.com")
    stranger = await api.user("stranger@example.com")
    event_id, (a, b, _c) = await league(api, owner, visibility="private")
    game = await add_game(api, owner, event_id, a, b, starts_at=at(T0))
    team_path = f"/api/v1/teams/{a}/calendar.ics"

    assert (await feed(api, event_id)).status == 404  # as the event itself: not revealed
    assert (await api.get(team_path)).status == 404
    none_yet = await api.get(TOKEN_PATH, token=owner)
    assert none_yet.status == 404 and none_yet.error_code() == "no_calendar_token"

    issued = ok(await api.post(TOKEN_PATH, token=owner), 201)
    owners = issued["token"]
    assert issued["created_at"] == ok(await api.get(TOKEN_PATH, token=owner))["created_at"]
    event_path = f"/api/v1/events/{event_id}/calendar.ics"
    assert uid(game["id"]) in entries(await api.get(f"{event_path}?token={owners}"))
    reply = await api.get(f"{team_path}?token={owners}")
    assert uid(game["id"]) in entries(reply)
    assert reply.headers["Cache-Control"] == "private, no-cache"
    # A feed token reads feeds and nothing else: it is no access token.
    assert (await api.get("/api/v1/me", token=owners)).status == 401
    stream = await api.get(f"/api/v1/events/{event_id}/stream?access_token={owners}")
    assert stream.status == 401
    # The stranger's own token opens only what the stranger may see.
    strangers = ok(await api.post(TOKEN_PATH, token=stranger), 201)["token"]
    assert (await api.get(f"{event_path}?token={strangers}")).status == 404
    assert (await feed(api, event_id, token=stranger)).status == 404  # a bearer token alike
    # Only the token's hash is stored.
    async with app.sessions() as session:
        stored = await session.scalars(select(CalendarToken.token_hash))
        hashes = set(stored)
    assert hashlib.sha256(owners.encode()).hexdigest() in hashes and owners not in hashes

    # Revoked: 401, for this event and for any other id alike (nothing is revealed).
    revoked = await api.request("DELETE", TOKEN_PATH, token=owner)
    assert revoked.status == 204
    for path in (event_path, "/api/v1/events/999999/calendar.ics"):
        refused = await api.get(f"{path}?token={owners}")
        assert refused.status == 401 and refused.error_code() == "invalid_feed_token"
    assert (await api.get(TOKEN_PATH, token=owner)).status == 404
    assert (await api.request("DELETE", TOKEN_PATH, token=owner)).status == 204  # still fine
    # A new token replaces the last: only the newest works.
    older = ok(await api.post(TOKEN_PATH, token=owner), 201)["token"]
    newer = ok(await api.post(TOKEN_PATH, token=owner), 201)["token"]
    assert (await api.get(f"{team_path}?token={older}")).status == 401
    assert (await api.get(f"{team_path}?token={newer}")).status == 200
    assert (await api.post(TOKEN_PATH)).status == 401  # issuing one needs a login
    # Each issue and revocation is audited, under the owner's name.
    await api.register("admin@example.com")
    await asyncio.to_thread(create_admin, app.config, "admin@example.com", STRONG_PASSWORD, "A")
    admin = await api.login("admin@example.com")
    audit = ok(await api.get("/api/v1/admin/audit?per_page=200", token=admin))["items"]
    actions = [e["action"] for e in audit if e["action"].startswith("user.calendar_token")]
    assert sorted(actions) == ["user.calendar_token"] * 4 + ["user.calendar_token_revoke"]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # one backend is enough
async def test_feed_tokens_stay_out_of_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    owner = await api.user("owner@example.com")
    event_id, _teams = await league(api, owner, visibility="private")
    token = ok(await api.post(TOKEN_PATH, token=owner), 201)["token"]
    with caplog.at_level(logging.DEBUG):
        assert (
            await api.get(f"/api/v1/events/{event_id}/calendar.ics?token={token}")
        ).status == 200
        await api.request("DELETE", TOKEN_PATH, token=owner)
        assert (
            await api.get(f"/api/v1/events/{event_id}/calendar.ics?token={token}")
        ).status == 401
    access = [r for r in caplog.records if r.name == "tornado.access"]
    assert len(access) == 3 and access[0].path == f"/api/v1/events/{event_id}/calendar.ics"
    formatter = JsonFormatter()
    assert not [r for r in caplog.records if token in formatter.format(r)]


def test_the_feeds_and_the_token_are_documented() -> None:
    paths = build_openapi()["paths"]
    for path in ("/api/v1/events/{event_id}/calendar.ics", "/api/v1/teams/{team_id}/calendar.ics"):
        responses = paths[path]["get"]["responses"]
        assert {"200", "304", "401", "404", "429", "503"} <= responses.keys(), path
        assert "text/calendar" in responses["200"]["content"]
        assert "token" in {p["name"] for p in paths[path]["get"]["parameters"]}
    token = paths["/api/v1/me/calendar-token"]
    assert set(token) >= {"get", "post", "delete"}
    assert {"401", "404"} <= token["get"]["responses"].keys()
    assert "401" in token["delete"]["responses"]


async def test_a_password_change_ends_the_feed_token(api: Api) -> None:
    owner = await api.user("owner@example.com")
    event_id, _teams = await league(api, owner, visibility="private")
    token = ok(await api.post(TOKEN_PATH, token=owner), 201)["token"]
    path = f"/api/v1/events/{event_id}/calendar.ics?token={token}"
    assert (await api.get(path)).status == 200
    change = {"current_password": STRONG_PASSWORD, "new_password": "an entirely new passphrase"}
    assert (await api.post("/api/v1/me/password", change, token=owner)).status == 204
    refused = await api.get(path)  # one made with a stolen password must not outlive it
    assert refused.status == 401 and refused.error_code() == "invalid_feed_token"
