"""The admin API (corrections, recomputes, roles) and the audit trail, on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

from server.admin_cli import create_admin
from server.app import MatchdayApp
from tests.sse_client import SseStream
from tests.support import STRONG_PASSWORD, Api, Reply

AUDIT = "/api/v1/admin/audit"
ENTRY_FIELDS = {
    "id",
    "at",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "request_id",
    "ip",
    "details",
}
CLIENT_IP = "127.0.0.1"


# --- helpers -------------------------------------------------------------------------------


def assert_error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    """`reply` is the contract's error body with `status` (and `code`); returns the error."""
    assert reply.status == status, (reply.status, reply.body)
    error = reply.json["error"]
    assert {"code", "message", "details", "request_id"} <= set(error), error
    assert error["request_id"] == reply.headers["X-Request-ID"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.json


async def make_admin(api: Api, app: MatchdayApp, email: str) -> tuple[int, str]:
    user = await api.register(email)
    await asyncio.to_thread(create_admin, app.config, email, STRONG_PASSWORD, "Admin")
    return user["id"], await api.login(email)


async def make_user(api: Api, email: str) -> tuple[int, str]:
    user = await api.register(email)
    return user["id"], await api.login(email)


async def league(api: Api, token: str, name: str = "Cup", **event: Any) -> tuple[int, int, int]:
    """An event with two teams; returns (event_id, home_team_id, away_team_id)."""
    event_id = ok(await api.post("/api/v1/events", {"name": name, **event}, token=token), 201)["id"]
    teams = []
    for team in ("Home", "Away"):
        path = f"/api/v1/events/{event_id}/teams"
        teams.append(ok(await api.post(path, {"name": team}, token=token), 201)["id"])
    return event_id, teams[0], teams[1]


async def new_game(api: Api, token: str, event_id: int, home: int, away: int) -> dict[str, Any]:
    body = {"home_team_id": home, "away_team_id": away}
    return ok(await api.post(f"/api/v1/events/{event_id}/games", body, token=token), 201)


async def score(
    api: Api, token: str, game_id: int, home: int, away: int, status: str = "final"
) -> dict[str, Any]:
    body = {"home_score": home, "away_score": away, "status": status}
    return ok(await api.put(f"/api/v1/games/{game_id}/score", body, token=token))


async def correct(api: Api, token: str | None, game_id: int, body: Any, **kw: Any) -> Reply:
    return await api.post(f"/api/v1/admin/games/{game_id}/corrections", body, token=token, **kw)


async def standings(api: Api, app: MatchdayApp, event_id: int) -> dict[str, Any]:
    await app.settled()
    return ok(await api.get(f"/api/v1/events/{event_id}/standings"))


def points(table: dict[str, Any]) -> dict[int, tuple[int, int, int, int]]:
    """team_id → (points, won, lost, score_diff)."""
    return {
        row["team_id"]: (row["points"], row["won"], row["lost"], row["score_diff"])
        for row in table["rows"]
    }


async def audit_list(api: Api, token: str, **filters: Any) -> dict[str, Any]:
    query = urlencode({"per_page": 200, **filters})
    return ok(await api.get(f"{AUDIT}?{query}", token=token))


async def entries(api: Api, token: str, **filters: Any) -> list[dict[str, Any]]:
    return (await audit_list(api, token, **filters))["items"]


def parse_at(value: str) -> datetime:
    assert value.endswith("Z"), value  # RFC 3339 UTC
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_entry(entry: dict[str, Any]) -> None:
    assert set(entry) == ENTRY_FIELDS, entry
    assert isinstance(entry["id"], int)
    parse_at(entry["at"])
    assert isinstance(entry["request_id"], str) and entry["request_id"], entry
    assert entry["ip"] == CLIENT_IP, entry
    assert isinstance(entry["details"], dict), entry


# --- 1. corrections ------------------------------------------------------------------------


async def test_correction_changes_the_score_the_standings_and_the_trail(
    api: Api, app: MatchdayApp
) -> None:
    admin_id, admin = await make_admin(api, app, "admin@example.com")
    _owner_id, owner = await make_user(api, "owner@example.com")
    event_id, home, away = await league(api, owner)
    game = await new_game(api, owner, event_id, home, away)
    final = await score(api, owner, game["id"], 2, 1)
    before = await standings(api, app, event_id)
    assert points(before)[home] == (3, 1, 0, 1) and points(before)[away] == (0, 0, 1, -1)

    reason = "the referee's report shows the away side scored twice more"
    reply = await correct(
        api, admin, game["id"], {"home_score": 2, "away_score": 3, "reason": reason}
    )
    corrected = ok(reply)
    assert corrected["id"] == game["id"] and corrected["event_id"] == event_id
    assert (corrected["home_score"], corrected["away_score"]) == (2, 3)
    assert corrected["status"] == "final"
    assert corrected["version"] == final["version"] + 1
    assert reply.headers["ETag"] == f'"{corrected["version"]}"'
    assert ok(await api.get(f"/api/v1/games/{game['id']}")) == corrected

    after = await standings(api, app, event_id)
    assert after["version"] > before["version"]
    assert points(after)[home] == (0, 0, 1, -1)
    assert points(after)[away] == (3, 1, 0, 1)
    assert after["rows"][0]["team_id"] == away

    [entry] = await entries(api, admin, action="game.correct")
    check_entry(entry)
    assert entry["actor_id"] == admin_id
    assert (entry["target_type"], entry["target_id"]) == ("game", game["id"])
    assert entry["request_id"] == reply.headers["X-Request-ID"]
    assert entry["details"] == {
        "old": {"home_score": 2, "away_score": 1},
        "new": {"home_score": 2, "away_score": 3},
        "reason": reason,
    }

    # A client-chosen request id is echoed and recorded.
    again = await correct(
        api,
        admin,
        game["id"],
        {"home_score": 4, "away_score": 3, "reason": "second look"},
        headers={"X-Request-ID": "fix-game-7"},
    )
    assert ok(again)["version"] == corrected["version"] + 1
    assert again.headers["X-Request-ID"] == "fix-game-7"
    newest = (await entries(api, admin, action="game.correct"))[0]
    assert newest["request_id"] == "fix-game-7"
    assert newest["details"]["old"] == {"home_score": 2, "away_score": 3}


async def test_correction_refusals_change_nothing(api: Api, app: MatchdayApp) -> None:
    _admin_id, admin = await make_admin(api, app, "admin@example.com")
    _owner_id, owner = await make_user(api, "owner@example.com")
    keeper_id, keeper = await make_user(api, "keeper@example.com")
    _user_id, user = await make_user(api, "user@example.com")
    event_id, home, away = await league(api, owner)
    ok(
        await api.post(
            f"/api/v1/events/{event_id}/scorekeepers", {"user_id": keeper_id}, token=owner
        ),
        201,
    )
    scheduled = await new_game(api, owner, event_id, home, away)
    live = await new_game(api, owner, event_id, away, home)
    live = await score(api, owner, live["id"], 1, 1, "live")
    final = await new_game(api, owner, event_id, home, away)
    final = await score(api, owner, final["id"], 1, 0)
    good = {"home_score": 5, "away_score": 5, "reason": "typo"}

    # Only final scores are corrected.
    for game in (scheduled, live):
        assert_error(await correct(api, admin, game["id"], good), 409, "not_final")
        assert ok(await api.get(f"/api/v1/games/{game['id']}")) == game

    # The reason is required and not blank; scores are validated as for PUT score.
    invalid = {
        "no reason": ({"home_score": 0, "away_score": 1}, "reason"),
        "empty reason": ({"home_score": 0, "away_score": 1, "reason": ""}, "reason"),
        "blank reason": ({"home_score": 0, "away_score": 1, "reason": "   "}, "reason"),
        "null reason": ({"home_score": 0, "away_score": 1, "reason": None}, "reason"),
        "no home score": ({"away_score": 1, "reason": "x"}, "home_score"),
        "negative score": ({"home_score": -1, "away_score": 1, "reason": "x"}, "home_score"),
        "string score": ({"home_score": "1", "away_score": 1, "reason": "x"}, "home_score"),
    }
    for name, (body, field) in invalid.items():
        error = assert_error(await correct(api, admin, final["id"], body), 422)
        assert field in error["details"], (name, error)
    assert_error(await correct(api, admin, final["id"], None), 422)

    # Unknown games.
    assert_error(await correct(api, admin, 999_999, good), 404)
    assert_error(await correct(api, admin, 2**40, good), 404)

    # Not an admin: the owner, a scorekeeper of the event, anyone else.
    for token in (owner, keeper, user):
        assert_error(await correct(api, token, final["id"], good), 403)
    assert_error(await correct(api, None, final["id"], good), 401)

    assert ok(await api.get(f"/api/v1/games/{final['id']}")) == final
    assert await entries(api, admin, action="game.correct") == []

    # The identical score again: 200, nothing changes, nothing is recorded.
    same = await correct(
        api, admin, final["id"], {"home_score": 1, "away_score": 0, "reason": "double check"}
    )
    assert ok(same) == final
    assert ok(await api.get(f"/api/v1/games/{final['id']}"))["version"] == final["version"]
    assert await entries(api, admin, action="game.correct") == []


async def test_correction_is_published_then_the_standings(
    live_app: MatchdayApp, live_api: Api
) -> None:
    app, api = live_app, live_api
    _admin_id, admin = await make_admin(api, app, "admin@example.com")
    _owner_id, owner = await make_user(api, "owner@example.com")
    event_id, home, away = await league(api, owner)
    game = await new_game(api, owner, event_id, home, away)
    await score(api, owner, game["id"], 3, 0)
    table = await standings(api, app, event_id)
    assert table["last_event_id"], table  # the table is current to this stream id

    # Resume right after it: nothing in between is missed, so the next two are ours.
    stream = await SseStream.open(
        api.base_url,
        f"/api/v1/events/{event_id}/stream",
        {"Last-Event-ID": table["last_event_id"]},
    )
    try:
        assert stream.status == 200, stream.body
        reason = "scores swapped on the sheet"
        reply = await correct(
            api, admin, game["id"], {"home_score": 0, "away_score": 3, "reason": reason}
        )
        corrected = ok(reply)
        first, second = await stream.events(2, timeout=10)
        assert first.event == "correction", (first, second)
        assert first.json == {"game": corrected, "reason": reason}
        assert second.event == "standings", second
        published = second.json
        assert published["event_id"] == event_id
        assert published["version"] > table["version"]
        assert points(published)[away] == (3, 1, 0, 3)
        assert points(published)[home] == (0, 0, 1, -3)
        assert published["last_event_id"] == second.id
        assert await standings(api, app, event_id) == published
    finally:
        await stream.close()


# --- 2. recompute --------------------------------------------------------------------------


async def test_recompute_is_queued_recorded_and_published(api: Api, app: MatchdayApp) -> None:
    admin_id, admin = await make_admin(api, app, "admin@example.com")
    _owner_id, owner = await make_user(api, "owner@example.com")
    event_id, home, away = await league(api, owner)
    private_id, _, _ = await league(api, owner, "Hidden Cup", visibility="private")
    game = await new_game(api, owner, event_id, home, away)
    await score(api, owner, game["id"], 1, 0)
    before = await standings(api, app, event_id)

    reply = await api.post(f"/api/v1/admin/events/{event_id}/recompute", token=admin)
    task = ok(reply, 202)
    assert set(task) == {"task_id"} and isinstance(task["task_id"], str) and task["task_id"]
    after = await standings(api, app, event_id)
    assert after["version"] > before["version"]
    assert after["rows"] == before["rows"]  # same results, same table

    [entry] = await entries(api, admin, action="standings.recompute")
    check_entry(entry)
    assert entry["actor_id"] == admin_id
    assert (entry["target_type"], entry["target_id"]) == ("event", event_id)
    assert entry["request_id"] == reply.headers["X-Request-ID"]

    # Admins may recompute events they cannot otherwise see as owners.
    ok(await api.post(f"/api/v1/admin/events/{private_id}/recompute", token=admin), 202)
    await app.settled()

    assert_error(await api.post("/api/v1/admin/events/999999/recompute", token=admin), 404)
    assert_error(await api.post(f"/api/v1/admin/events/{2**40}/recompute", token=admin), 404)
    assert_error(await api.post(f"/api/v1/admin/events/{event_id}/recompute", token=owner), 403)
    assert len(await entries(api, admin, action="standings.recompute")) == 2


# --- 3. the audit trail --------------------------------------------------------------------


async def test_audit_trail_records_every_action(api: Api, app: MatchdayApp) -> None:
    owner_id = (await api.register("owner@example.com", name="Owner"))["id"]
    owner = await api.login("owner@example.com")
    wrong = await api.post(
        "/api/v1/auth/login", {"email": "owner@example.com", "password": "not-the-password-1"}
    )
    assert_error(wrong, 401)
    nobody = await api.post(
        "/api/v1/auth/login", {"email": "nobody@example.com", "password": "not-the-password-1"}
    )
    assert_error(nobody, 401)
    admin_id, admin = await make_admin(api, app, "admin@example.com")

    event = ok(await api.post("/api/v1/events", {"name": "Spring Cup"}, token=owner), 201)
    patch = await api.patch(f"/api/v1/events/{event['id']}", {"name": "Autumn Cup"}, token=owner)
    ok(patch)
    home = ok(
        await api.post(f"/api/v1/events/{event['id']}/teams", {"name": "Home"}, token=owner), 201
    )
    away = ok(
        await api.post(f"/api/v1/events/{event['id']}/teams", {"name": "Away"}, token=owner), 201
    )
    game = await new_game(api, owner, event["id"], home["id"], away["id"])
    await score(api, owner, game["id"], 1, 0, "live")
    await score(api, owner, game["id"], 2, 0, "final")
    body = {"home_score": 2, "away_score": 1, "reason": "late goal missed"}
    ok(await correct(api, admin, game["id"], body))
    ok(await api.post(f"/api/v1/admin/events/{event['id']}/recompute", token=admin), 202)
    role = await api.post(f"/api/v1/admin/users/{owner_id}/role", {"role": "admin"}, token=admin)
    ok(role)
    logout = await api.post("/api/v1/auth/logout", token=owner)
    assert logout.status == 204, logout.body
    await app.settled()

    listing = await audit_list(api, admin)
    items = listing["items"]
    assert listing["total"] == len(items)
    for entry in items:
        check_entry(entry)
    # Newest first.
    times = [parse_at(entry["at"]) for entry in items]
    assert times == sorted(times, reverse=True)
    ids = [entry["id"] for entry in items]
    assert len(set(ids)) == len(ids)
    expected_order = [
        "user.register",
        "user.login",
        "user.login_failed",
        "user.login_failed",
        "user.register",
        "user.login",
        "event.create",
        "event.update",
        "team.create",
        "team.create",
        "game.create",
        "game.score",
        "game.score",
        "game.correct",
        "standings.recompute",
        "user.role_change",
        "user.logout",
    ]
    assert [entry["action"] for entry in reversed(items)] == expected_order

    by_action: dict[str, list[dict[str, Any]]] = {}
    for entry in reversed(items):  # oldest first within each action
        by_action.setdefault(entry["action"], []).append(entry)

    def target(entry: dict[str, Any]) -> tuple[Any, Any]:
        return entry["target_type"], entry["target_id"]

    registered_owner, registered_admin = by_action["user.register"]
    assert registered_owner["actor_id"] == owner_id
    assert target(registered_owner) == ("user", owner_id)
    assert registered_admin["actor_id"] == admin_id
    login_owner, login_admin = by_action["user.login"]
    assert login_owner["actor_id"] == owner_id and target(login_owner) == ("user", owner_id)
    assert login_admin["actor_id"] == admin_id

    # A failed login is made by no one authenticated (actor null): it names the email tried
    # and, for an existing account, targets it; never the password.
    failed_owner, failed_nobody = by_action["user.login_failed"]
    assert failed_owner["actor_id"] is None
    assert failed_owner["details"]["email"] == "owner@example.com"
    assert target(failed_owner) == ("user", owner_id)
    assert failed_nobody["actor_id"] is None
    assert failed_nobody["details"]["email"] == "nobody@example.com"
    assert failed_nobody["target_id"] is None
    for entry in (failed_owner, failed_nobody):
        assert "not-the-password-1" not in str(entry)
    assert failed_owner["request_id"] == wrong.headers["X-Request-ID"]

    [created] = by_action["event.create"]
    assert created["actor_id"] == owner_id and target(created) == ("event", event["id"])
    assert created["details"]["new"]["name"] == "Spring Cup"
    teams = by_action["team.create"]
    assert [target(entry) for entry in teams] == [("team", home["id"]), ("team", away["id"])]
    assert all(entry["actor_id"] == owner_id for entry in teams)
    assert teams[0]["details"]["new"]["name"] == "Home"
    [game_created] = by_action["game.create"]
    assert game_created["actor_id"] == owner_id and target(game_created) == ("game", game["id"])

    went_live, went_final = by_action["game.score"]
    assert target(went_live) == target(went_final) == ("game", game["id"])
    assert went_live["actor_id"] == owner_id
    assert went_live["details"]["old"]["home_score"] is None
    assert went_live["details"]["new"] == {"home_score": 1, "away_score": 0, "status": "live"}
    assert went_final["details"]["old"] == {"home_score": 1, "away_score": 0, "status": "live"}
    assert went_final["details"]["new"] == {"home_score": 2, "away_score": 0, "status": "final"}

    [corrected] = by_action["game.correct"]
    assert corrected["actor_id"] == admin_id and target(corrected) == ("game", game["id"])
    assert corrected["details"]["reason"] == "late goal missed"
    [recomputed] = by_action["standings.recompute"]
    assert recomputed["actor_id"] == admin_id and target(recomputed) == ("event", event["id"])
    [role_change] = by_action["user.role_change"]
    assert role_change["actor_id"] == admin_id and target(role_change) == ("user", owner_id)
    assert role_change["request_id"] == role.headers["X-Request-ID"]
    assert role_change["details"] == {"old": {"role": "user"}, "new": {"role": "admin"}}
    [logged_out] = by_action["user.logout"]
    assert logged_out["actor_id"] == owner_id and target(logged_out) == ("user", owner_id)
    assert logged_out["request_id"] == logout.headers["X-Request-ID"]

    [updated] = by_action["event.update"]
    assert updated["actor_id"] == owner_id and target(updated) == ("event", event["id"])
    assert updated["request_id"] == patch.headers["X-Request-ID"]
    # Like every other change, the update's details hold `old` and `new` (API.md).
    assert updated["details"].get("old") == {"name": "Spring Cup"}, updated["details"]
    assert updated["details"].get("new") == {"name": "Autumn Cup"}, updated["details"]


async def test_audit_list_pages_and_filters(api: Api, app: MatchdayApp) -> None:
    admin_id, admin = await make_admin(api, app, "admin@example.com")
    owner_id, owner = await make_user(api, "owner@example.com")
    event_id, _home, _away = await league(api, owner)
    await asyncio.sleep(0.05)
    cut = datetime.now(UTC)
    await asyncio.sleep(0.05)
    for name in ("Third", "Fourth", "Fifth"):
        ok(await api.post(f"/api/v1/events/{event_id}/teams", {"name": name}, token=owner), 201)
    ok(await api.post(f"/api/v1/admin/events/{event_id}/recompute", token=admin), 202)
    await app.settled()

    everything = await audit_list(api, admin)
    items = everything["items"]
    # admin: register + login; owner: register + login, event, 2 teams | 3 teams; recompute
    assert everything["total"] == len(items) == 11
    assert (everything["page"], everything["per_page"]) == (1, 200)

    # Pages split the same newest-first order.
    pages = []
    for page in (1, 2, 3, 4):
        listing = await audit_list(api, admin, page=page, per_page=3)
        assert (listing["page"], listing["per_page"], listing["total"]) == (page, 3, 11)
        pages.append(listing["items"])
    assert [len(p) for p in pages] == [3, 3, 3, 2]
    assert [entry for page in pages for entry in page] == items
    beyond = await audit_list(api, admin, page=5, per_page=3)
    assert beyond["items"] == [] and beyond["total"] == 11
    default = ok(await api.get(AUDIT, token=admin))
    assert (default["page"], default["per_page"], default["total"]) == (1, 50, 11)
    assert default["items"] == items

    # By actor.
    mine = await audit_list(api, admin, actor_id=owner_id)
    assert mine["total"] == 8
    assert mine["items"] == [entry for entry in items if entry["actor_id"] == owner_id]
    assert {entry["actor_id"] for entry in (await entries(api, admin, actor_id=admin_id))} == {
        admin_id
    }
    assert (await audit_list(api, admin, actor_id=999_999))["total"] == 0

    # By action.
    teams = await audit_list(api, admin, action="team.create")
    assert teams["total"] == 5
    assert all(entry["action"] == "team.create" for entry in teams["items"])
    assert (await audit_list(api, admin, action="import.run"))["total"] == 0

    # Since: an instant after the first entries leaves them out.
    later = [entry for entry in items if parse_at(entry["at"]) >= cut]
    assert [entry["action"] for entry in later] == ["standings.recompute"] + ["team.create"] * 3
    since_z = cut.isoformat().replace("+00:00", "Z")
    assert await entries(api, admin, since=since_z) == later
    shifted = cut.astimezone(timezone(timedelta(hours=2))).isoformat()  # the same instant, +02:00
    assert shifted.endswith("+02:00")
    assert await entries(api, admin, since=shifted) == later
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await audit_list(api, admin, since=future))["total"] == 0
    past = (cut - timedelta(days=1)).isoformat()
    assert await entries(api, admin, since=past) == items

    # Filters combine.
    combined = await audit_list(api, admin, actor_id=owner_id, action="team.create", since=since_z)
    assert combined["total"] == 3
    assert combined["items"] == [entry for entry in later if entry["action"] == "team.create"]

    # Bad filters are refused with the field named.
    bad = {
        "since=yesterday": "since",
        "since=2026-01-01T00:00:00": "since",  # RFC 3339 needs an offset
        "since=": "since",
        "actor_id=abc": "actor_id",
        "actor_id=0": "actor_id",
        "actor_id=-1": "actor_id",
        "per_page=500": "per_page",
        "per_page=0": "per_page",
        "page=0": "page",
        "page=x": "page",
    }
    for query, field in bad.items():
        error = assert_error(await api.get(f"{AUDIT}?{query}", token=admin), 422)
        assert field in error["details"], (query, error)
    encoded = quote("2026-01-01T00:00:00+99:00")
    assert_error(await api.get(f"{AUDIT}?since={encoded}", token=admin), 422)


# --- 4. roles ------------------------------------------------------------------------------


async def test_role_changes_apply_at_once_and_keep_an_admin(api: Api, app: MatchdayApp) -> None:
    admin_id, admin = await make_admin(api, app, "admin@example.com")
    user_id, user = await make_user(api, "user@example.com")
    role_path = f"/api/v1/admin/users/{user_id}/role"
    assert_error(await api.get(AUDIT, token=user), 403)

    reply = await api.post(role_path, {"role": "admin"}, token=admin)
    promoted = ok(reply)
    assert promoted["id"] == user_id and promoted["role"] == "admin"
    assert promoted["email"] == "user@example.com"
    assert "password_hash" not in promoted
    # The token issued before the promotion now opens the admin endpoints.
    assert ok(await api.get("/api/v1/me", token=user))["role"] == "admin"
    assert ok(await api.get(AUDIT, token=user))["total"] >= 1

    [entry] = await entries(api, user, action="user.role_change")
    check_entry(entry)
    assert entry["actor_id"] == admin_id
    assert (entry["target_type"], entry["target_id"]) == ("user", user_id)
    assert entry["request_id"] == reply.headers["X-Request-ID"]
    assert entry["details"] == {"old": {"role": "user"}, "new": {"role": "admin"}}

    # The same role again changes and records nothing.
    assert ok(await api.post(role_path, {"role": "admin"}, token=admin))["role"] == "admin"
    assert len(await entries(api, admin, action="user.role_change")) == 1

    # Bad requests.
    for body in ({"role": "superuser"}, {"role": "Admin"}, {"role": None}, {"role": 1}, {}):
        error = assert_error(await api.post(role_path, body, token=admin), 422)
        assert "role" in error["details"], (body, error)
    assert_error(
        await api.post("/api/v1/admin/users/999999/role", {"role": "user"}, token=admin), 404
    )

    # The promoted user demotes the first admin, whose token loses admin rights at once.
    demoted = ok(
        await api.post(f"/api/v1/admin/users/{admin_id}/role", {"role": "user"}, token=user)
    )
    assert demoted["role"] == "user"
    assert_error(await api.get(AUDIT, token=admin), 403)
    assert_error(await api.post(role_path, {"role": "user"}, token=admin), 403)

    # Now the last admin: cannot be demoted, not even by themselves.
    assert_error(await api.post(role_path, {"role": "user"}, token=user), 409, "last_admin")
    assert ok(await api.get("/api/v1/me", token=user))["role"] == "admin"
    changes = await entries(api, user, action="user.role_change")
    assert [e["details"]["new"]["role"] for e in changes] == ["user", "admin"]
    assert changes[0]["actor_id"] == user_id and changes[0]["target_id"] == admin_id


async def test_concurrent_demotions_leave_an_admin(api: Api, app: MatchdayApp) -> None:
    """The only two admins demote each other at once: one may win, never both."""
    survivors: list[int] = []
    for round_ in range(3):
        a_id, a = await make_admin(api, app, f"a{round_}@example.com")
        b_id, b = await make_admin(api, app, f"b{round_}@example.com")
        for survivor in survivors:  # a and b become the only admins
            ok(await api.post(f"/api/v1/admin/users/{survivor}/role", {"role": "user"}, token=a))
        replies = await asyncio.gather(
            api.post(f"/api/v1/admin/users/{b_id}/role", {"role": "user"}, token=a),
            api.post(f"/api/v1/admin/users/{a_id}/role", {"role": "user"}, token=b),
        )
        statuses = sorted(reply.status for reply in replies)
        roles = {
            uid: ok(await api.get("/api/v1/me", token=t))["role"]
            for uid, t in ((a_id, a), (b_id, b))
        }
        assert "admin" in roles.values(), (round_, statuses, [r.body for r in replies])
        # The loser is refused as no longer an admin (403) or as the last admin (409).
        assert statuses in ([200, 403], [200, 409]), (round_, statuses, roles)
        survivors = [uid for uid, role in roles.items() if role == "admin"]


async def test_concurrent_self_demotions_leave_an_admin(api: Api, app: MatchdayApp) -> None:
    """The only two admins each step down at once: one may, never both."""
    survivors: list[int] = []
    for round_ in range(3):
        a_id, a = await make_admin(api, app, f"a{round_}@example.com")
        b_id, b = await make_admin(api, app, f"b{round_}@example.com")
        for survivor in survivors:  # a and b become the only admins
            ok(await api.post(f"/api/v1/admin/users/{survivor}/role", {"role": "user"}, token=a))
        replies = await asyncio.gather(
            api.post(f"/api/v1/admin/users/{a_id}/role", {"role": "user"}, token=a),
            api.post(f"/api/v1/admin/users/{b_id}/role", {"role": "user"}, token=b),
        )
        statuses = sorted(reply.status for reply in replies)
        roles = {
            uid: ok(await api.get("/api/v1/me", token=t))["role"]
            for uid, t in ((a_id, a), (b_id, b))
        }
        assert "admin" in roles.values(), (round_, statuses, roles)
        assert statuses == [200, 409], (round_, statuses, roles)
        survivors = [uid for uid, role in roles.items() if role == "admin"]


# --- 5. every admin endpoint needs an admin ------------------------------------------------


async def test_admin_endpoints_refuse_non_admins(api: Api, app: MatchdayApp) -> None:
    _admin_id, admin = await make_admin(api, app, "admin@example.com")
    owner_id, owner = await make_user(api, "owner@example.com")
    keeper_id, keeper = await make_user(api, "keeper@example.com")
    user_id, user = await make_user(api, "user@example.com")
    event_id, home, away = await league(api, owner)
    path = f"/api/v1/events/{event_id}/scorekeepers"
    ok(await api.post(path, {"user_id": keeper_id}, token=owner), 201)
    game = await new_game(api, owner, event_id, home, away)
    game = await score(api, owner, game["id"], 1, 0)
    await app.settled()
    trail = await audit_list(api, admin)

    calls: list[tuple[str, str, Any]] = [
        (
            "POST",
            f"/api/v1/admin/games/{game['id']}/corrections",
            {"home_score": 0, "away_score": 9, "reason": "mine now"},
        ),
        ("POST", f"/api/v1/admin/events/{event_id}/recompute", None),
        ("GET", AUDIT, None),
        ("GET", f"{AUDIT}?action=user.login", None),
        ("POST", f"/api/v1/admin/users/{user_id}/role", {"role": "admin"}),
        ("POST", f"/api/v1/admin/users/{owner_id}/role", {"role": "admin"}),
        # Unknown targets and bad input: still refused first, revealing nothing.
        ("POST", "/api/v1/admin/games/999999/corrections", {"home_score": 1}),
        ("POST", "/api/v1/admin/events/999999/recompute", None),
        ("POST", "/api/v1/admin/users/999999/role", {"role": "x"}),
        ("GET", f"{AUDIT}?per_page=500", None),
    ]
    problems = []
    for who, token in (("anonymous", None), ("user", user), ("owner", owner), ("keeper", keeper)):
        status, code = (401, "unauthorized") if token is None else (403, "forbidden")
        for method, target, body in calls:
            reply = await api.request(method, target, body, token=token)
            try:
                error = assert_error(reply, status, code)
                if status == 401:
                    assert reply.headers.get("WWW-Authenticate", "").startswith("Bearer")
            except (AssertionError, KeyError, ValueError, TypeError):
                problems.append(f"{who} {method} {target}: {reply.status} {reply.body[:200]!r}")
            else:
                assert error["details"] == {}, error
    assert not problems, "\n".join(problems)

    await app.settled()
    assert ok(await api.get(f"/api/v1/games/{game['id']}")) == game
    for uid, tok in ((user_id, user), (owner_id, owner)):
        assert ok(await api.get("/api/v1/me", token=tok))["role"] == "user", uid
    assert await audit_list(api, admin) == trail
