"""The authorization matrix (roles x endpoints x visibility), event listing, and token handling."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest

from server.admin_cli import create_admin
from server.app import MatchdayApp
from tests.support import STRONG_PASSWORD, TEST_SECRET, Api, Reply

EMAILS = {
    "owner": "owner@example.com",
    "keeper": "keeper@example.com",
    "other_keeper": "otherkeeper@example.com",
    "user": "stranger@example.com",
    "admin": "admin@example.com",
}
# Denied roles first: their attempts must leave nothing behind; then the ones that may write.
ROLES = ["anonymous", "user", "other_keeper", "keeper", "owner", "admin"]
READS = ["GET event", "GET teams", "GET games", "GET standings", "GET game"]
WRITES = [
    "PATCH event",
    "POST scorekeepers",
    "POST teams",
    "POST games",
    "POST schedule",
    "PUT score",
]
SUCCESS = {"PATCH event": 200, "POST scorekeepers": 201, "POST teams": 201, "POST games": 201}
SUCCESS |= {"POST schedule": 201, "PUT score": 200} | dict.fromkeys(READS, 200)


def expected_status(role: str, visibility: str, endpoint: str) -> int:
    """The contract's answer for `role` calling `endpoint` on an event of `visibility`."""
    sees = visibility == "public" or role in {"owner", "keeper", "admin"}
    if endpoint in READS:
        return 200 if sees else 404
    if role == "anonymous":
        return 401
    if role in {"owner", "admin"}:
        return SUCCESS[endpoint]
    if not sees:
        return 404  # a private event's existence is not revealed
    if role == "keeper" and endpoint == "PUT score":
        return 200
    return 403


def error_problem(reply: Reply) -> str | None:
    """Why `reply` is not the contract's error body, or None."""
    try:
        error = reply.json["error"]
    except (ValueError, KeyError, TypeError):
        return f"not an error body: {reply.body[:200]!r}"
    if not {"code", "message", "details", "request_id"} <= set(error):
        return f"error body lacks fields: {error!r}"
    if error["request_id"] != reply.headers.get("X-Request-ID"):
        return "request_id differs from X-Request-ID"
    return None


# --- the world ---------------------------------------------------------------------------


@dataclass
class World:
    tokens: dict[str, str | None] = field(default_factory=lambda: {"anonymous": None})
    users: dict[str, int] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


async def ok(reply: Reply, status: int = 201) -> dict[str, Any]:
    assert reply.status == status, reply.body
    return reply.json


async def make_event(
    api: Api, token: str, name: str, visibility: str, teams: int = 2, keeper: int | None = None
) -> tuple[int, list[int]]:
    event = await ok(
        await api.post("/api/v1/events", {"name": name, "visibility": visibility}, token=token)
    )
    team_ids = []
    for n in range(teams):
        path = f"/api/v1/events/{event['id']}/teams"
        team_ids.append((await ok(await api.post(path, {"name": f"Team {n}"}, token=token)))["id"])
    if keeper is not None:
        path = f"/api/v1/events/{event['id']}/scorekeepers"
        await ok(await api.post(path, {"user_id": keeper}, token=token))
    return event["id"], team_ids


async def make_admin(api: Api, app: MatchdayApp, email: str) -> tuple[int, str]:
    user = await api.register(email)
    await asyncio.to_thread(create_admin, app.config, email, STRONG_PASSWORD, "Admin")
    return user["id"], await api.login(email)


async def build_world(api: Api, app: MatchdayApp, visibility: str) -> World:
    """Event E (teams, a game, a scorekeeper), S1/S2 (teams, no games) of `visibility`, and a
    public event O with its own scorekeeper; two spare users to name as scorekeepers."""
    world = World()
    for role, email in EMAILS.items():
        if role == "admin":
            world.users[role], world.tokens[role] = await make_admin(api, app, email)
        else:
            world.users[role] = (await api.register(email))["id"]
            world.tokens[role] = await api.login(email)
    for spare in ("spare1", "spare2"):
        world.users[spare] = (await api.register(f"{spare}@example.com"))["id"]
    owner, keeper = world.tokens["owner"], world.users["keeper"]
    assert owner is not None
    event, (home, away) = await make_event(api, owner, "Main Cup", visibility, keeper=keeper)
    game = await ok(
        await api.post(
            f"/api/v1/events/{event}/games",
            {"home_team_id": home, "away_team_id": away},
            token=owner,
        )
    )
    s1, _ = await make_event(api, owner, "Schedule One", visibility, keeper=keeper)
    s2, _ = await make_event(api, owner, "Schedule Two", visibility, keeper=keeper)
    other, _ = await make_event(
        api, owner, "Other Cup", "public", keeper=world.users["other_keeper"]
    )
    world.ids = {
        "event": event,
        "home": home,
        "away": away,
        "game": game["id"],
        "s1": s1,
        "s2": s2,
        "other": other,
    }
    return world


async def call(api: Api, world: World, role: str, endpoint: str) -> Reply:
    token = world.tokens[role]
    ids = world.ids
    event = f"/api/v1/events/{ids['event']}"
    n = ROLES.index(role) + 1
    match endpoint:
        case "GET event":
            return await api.get(event, token=token)
        case "GET teams":
            return await api.get(f"{event}/teams", token=token)
        case "GET games":
            return await api.get(f"{event}/games", token=token)
        case "GET standings":
            return await api.get(f"{event}/standings", token=token)
        case "GET game":
            return await api.get(f"/api/v1/games/{ids['game']}", token=token)
        case "PATCH event":
            return await api.patch(event, {"name": f"Renamed by {role}"}, token=token)
        case "POST scorekeepers":
            spare = world.users["spare2" if role == "admin" else "spare1"]
            return await api.post(f"{event}/scorekeepers", {"user_id": spare}, token=token)
        case "POST teams":
            return await api.post(f"{event}/teams", {"name": f"Newcomers {role}"}, token=token)
        case "POST games":
            body = {"home_team_id": ids["away"], "away_team_id": ids["home"], "round": n}
            return await api.post(f"{event}/games", body, token=token)
        case "POST schedule":
            target = ids["s2" if role == "admin" else "s1"]
            body = {"format": "round_robin"}
            return await api.post(f"/api/v1/events/{target}/schedule", body, token=token)
        case "PUT score":
            body = {"home_score": n, "away_score": 0, "status": "live"}
            return await api.put(f"/api/v1/games/{ids['game']}/score", body, token=token)
    raise AssertionError(endpoint)


async def owner_view(api: Api, app: MatchdayApp, world: World) -> dict[str, Any]:
    await app.settled()
    token = world.tokens["owner"]
    paths = [
        f"/api/v1/events/{world.ids['event']}",
        f"/api/v1/events/{world.ids['event']}/teams",
        f"/api/v1/events/{world.ids['event']}/games",
        f"/api/v1/events/{world.ids['event']}/standings",
        f"/api/v1/events/{world.ids['s1']}/games",
        f"/api/v1/events/{world.ids['s2']}/games",
        f"/api/v1/games/{world.ids['game']}",
        "/api/v1/events?per_page=200",
    ]
    return {path: (await api.get(path, token=token)).json for path in paths}


# --- the matrix --------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["public", "private"])
async def test_authorization_matrix(api: Api, app: MatchdayApp, visibility: str) -> None:
    world = await build_world(api, app, visibility)
    untouched = await owner_view(api, app, world)
    got: dict[tuple[str, str], int] = {}
    expected: dict[tuple[str, str], int] = {}
    problems = []
    for role in ROLES:
        for endpoint in READS + WRITES:
            reply = await call(api, world, role, endpoint)
            got[role, endpoint] = reply.status
            expected[role, endpoint] = expected_status(role, visibility, endpoint)
            if reply.status >= 400 and (problem := error_problem(reply)):
                problems.append(f"{role} {endpoint}: {problem}")
        if role == "other_keeper":
            # Everything so far was refused: nothing may have changed.
            assert await owner_view(api, app, world) == untouched
    mismatches = {key: (got[key], want) for key, want in expected.items() if got[key] != want}
    assert not mismatches, "(role, endpoint): (got, expected)\n" + "\n".join(
        f"{key}: {value}" for key, value in mismatches.items()
    )
    assert not problems, "\n".join(problems)

    # The successful writes really landed.
    final = await owner_view(api, app, world)
    event = final[f"/api/v1/events/{world.ids['event']}"]
    assert event["name"] == "Renamed by admin"
    names = {team["name"] for team in final[f"/api/v1/events/{world.ids['event']}/teams"]["items"]}
    assert {"Newcomers owner", "Newcomers admin"} <= names
    assert not {"Newcomers user", "Newcomers keeper", "Newcomers anonymous"} & names
    assert final[f"/api/v1/games/{world.ids['game']}"]["home_score"] == ROLES.index("admin") + 1
    for schedule in ("s1", "s2"):
        assert final[f"/api/v1/events/{world.ids[schedule]}/games"]["total"] == 1


async def test_scorekeeper_scores_only_their_own_event(api: Api, app: MatchdayApp) -> None:
    world = await build_world(api, app, "public")
    owner = world.tokens["owner"]
    assert owner is not None
    private_event, (home, away) = await make_event(api, owner, "Private Cup", "private")
    private_game = await ok(
        await api.post(
            f"/api/v1/events/{private_event}/games",
            {"home_team_id": home, "away_team_id": away},
            token=owner,
        )
    )
    body = {"home_score": 1, "away_score": 1, "status": "live"}
    keeper = world.tokens["keeper"]
    own = await api.put(f"/api/v1/games/{world.ids['game']}/score", body, token=keeper)
    assert own.status == 200, own.body
    private = await api.put(f"/api/v1/games/{private_game['id']}/score", body, token=keeper)
    assert private.status == 404, private.body
    # Keeping score grants no management rights on the event.
    patch = await api.patch(f"/api/v1/events/{world.ids['event']}", {"name": "Mine"}, token=keeper)
    assert patch.status == 403, patch.body


async def test_private_event_is_indistinguishable_from_a_missing_one(
    api: Api, app: MatchdayApp
) -> None:
    world = await build_world(api, app, "private")
    event, game = world.ids["event"], world.ids["game"]
    pairs = [
        ("GET", f"/api/v1/events/{event}", "/api/v1/events/999999", None),
        ("GET", f"/api/v1/events/{event}/teams", "/api/v1/events/999999/teams", None),
        ("GET", f"/api/v1/events/{event}/games", "/api/v1/events/999999/games", None),
        ("GET", f"/api/v1/events/{event}/standings", "/api/v1/events/999999/standings", None),
        ("GET", f"/api/v1/games/{game}", "/api/v1/games/999999", None),
        ("PATCH", f"/api/v1/events/{event}", "/api/v1/events/999999", {"name": "x"}),
        ("POST", f"/api/v1/events/{event}/teams", "/api/v1/events/999999/teams", {"name": "x"}),
        (
            "PUT",
            f"/api/v1/games/{game}/score",
            "/api/v1/games/999999/score",
            {"home_score": 1, "away_score": 0, "status": "live"},
        ),
    ]
    for role in ("anonymous", "user", "other_keeper"):
        for method, hidden, missing, body in pairs:
            if role == "anonymous" and method != "GET":
                continue
            token = world.tokens[role]
            a = await api.request(method, hidden, body, token=token)
            b = await api.request(method, missing, body, token=token)
            assert a.status == b.status == 404, (role, method, hidden, a.body, b.body)
            assert a.error_code() == b.error_code(), (role, method, hidden)
            assert a.json["error"]["message"] == b.json["error"]["message"], (role, hidden)


# --- listing and visibility changes ------------------------------------------------------


async def listed(api: Api, token: str | None) -> tuple[set[int], int]:
    reply = await api.get("/api/v1/events?per_page=200", token=token)
    assert reply.status == 200, reply.body
    return {event["id"] for event in reply.json["items"]}, reply.json["total"]


async def test_event_list_shows_public_events_and_the_callers_private_ones(
    api: Api, app: MatchdayApp
) -> None:
    owner = await api.user("owner@example.com")
    stranger = await api.user("stranger@example.com")
    _admin_id, admin = await make_admin(api, app, "admin@example.com")
    public, _ = await make_event(api, owner, "Open Cup", "public", teams=0)
    mine, _ = await make_event(api, owner, "Owner's Private Cup", "private", teams=0)
    theirs, _ = await make_event(api, stranger, "Stranger's Private Cup", "private", teams=0)
    stranger_public, _ = await make_event(api, stranger, "Stranger's Open Cup", "public", teams=0)

    everyone = {public, stranger_public}
    assert await listed(api, None) == (everyone, 2)
    assert await listed(api, owner) == (everyone | {mine}, 3)
    assert await listed(api, stranger) == (everyone | {theirs}, 3)
    assert await listed(api, admin) == (everyone | {mine, theirs}, 4)

    # Paging counts only what the caller may see.
    page = await api.get("/api/v1/events?per_page=1&page=2", token=owner)
    assert page.json["total"] == 3
    assert page.json["page"] == 2
    assert page.json["per_page"] == 1
    assert len(page.json["items"]) == 1


async def test_making_an_event_private_hides_it(api: Api, app: MatchdayApp) -> None:
    owner = await api.user("owner@example.com")
    stranger = await api.user("stranger@example.com")
    event, _ = await make_event(api, owner, "Flip Cup", "public", teams=2)
    path = f"/api/v1/events/{event}"
    assert (await api.get(path, token=stranger)).status == 200

    hidden = await api.patch(path, {"visibility": "private"}, token=owner)
    assert hidden.status == 200, hidden.body
    for token in (None, stranger):
        for suffix in ("", "/teams", "/games", "/standings"):
            assert (await api.get(path + suffix, token=token)).status == 404, suffix
        assert event not in (await listed(api, token))[0]
    # The stranger cannot unhide it either.
    assert (await api.patch(path, {"visibility": "public"}, token=stranger)).status == 404

    shown = await api.patch(path, {"visibility": "public"}, token=owner)
    assert shown.status == 200, shown.body
    assert (await api.get(path, token=stranger)).status == 200


async def test_admin_role_is_reported(api: Api, app: MatchdayApp) -> None:
    user_id, admin = await make_admin(api, app, "admin@example.com")
    me = await api.get("/api/v1/me", token=admin)
    assert me.status == 200
    assert me.json["role"] == "admin"
    assert me.json["id"] == user_id
    plain = await api.register("plain@example.com")
    assert plain["role"] == "user"


# --- tokens ------------------------------------------------------------------------------


async def login_pair(api: Api, email: str) -> dict[str, Any]:
    reply = await api.post("/api/v1/auth/login", {"email": email, "password": STRONG_PASSWORD})
    assert reply.status == 200, reply.body
    assert reply.json["token_type"] == "Bearer"
    assert isinstance(reply.json["expires_in"], int)
    return reply.json


async def refresh(api: Api, token: str) -> Reply:
    return await api.post("/api/v1/auth/refresh", {"refresh_token": token})


def assert_401(reply: Reply) -> None:
    assert reply.status == 401, reply.body
    assert error_problem(reply) is None, error_problem(reply)


async def test_logout_revokes_the_access_token_and_its_refresh_token(api: Api) -> None:
    email = "owner@example.com"
    await api.register(email)
    session, other_session = await login_pair(api, email), await login_pair(api, email)
    assert (await api.get("/api/v1/me", token=session["access_token"])).status == 200

    logout = await api.post("/api/v1/auth/logout", token=session["access_token"])
    assert logout.status == 204, logout.body
    assert logout.headers.get("X-Request-ID")

    assert_401(await api.get("/api/v1/me", token=session["access_token"]))
    assert_401(await api.post("/api/v1/events", {"name": "x"}, token=session["access_token"]))
    assert_401(await api.post("/api/v1/auth/logout", token=session["access_token"]))
    assert_401(await refresh(api, session["refresh_token"]))

    # Another session of the same account is unaffected.
    assert (await api.get("/api/v1/me", token=other_session["access_token"])).status == 200
    assert (await refresh(api, other_session["refresh_token"])).status == 200


async def test_refresh_rotates_the_refresh_token(api: Api) -> None:
    email = "owner@example.com"
    await api.register(email)
    first = await login_pair(api, email)
    rotated = await refresh(api, first["refresh_token"])
    assert rotated.status == 200, rotated.body
    second = rotated.json
    assert second["token_type"] == "Bearer"
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await api.get("/api/v1/me", token=second["access_token"])).status == 200
    third = await refresh(api, second["refresh_token"])
    assert third.status == 200, third.body

    # Logging out with the newest access token ends the newest refresh token too.
    newest = third.json
    assert (await api.post("/api/v1/auth/logout", token=newest["access_token"])).status == 204
    assert_401(await refresh(api, newest["refresh_token"]))
    # Refresh tokens used once already are refused. (Reusing one while its session is alive
    # ends the whole session: tests/security/test_jwt.py.)
    assert_401(await refresh(api, first["refresh_token"]))
    assert_401(await refresh(api, second["refresh_token"]))


async def test_token_types_are_not_interchangeable(api: Api) -> None:
    email = "owner@example.com"
    await api.register(email)
    pair = await login_pair(api, email)
    assert_401(await api.get("/api/v1/me", token=pair["refresh_token"]))
    assert_401(await api.post("/api/v1/events", {"name": "x"}, token=pair["refresh_token"]))
    assert_401(await refresh(api, pair["access_token"]))
    # The failed attempts did not spend the refresh token.
    assert (await refresh(api, pair["refresh_token"])).status == 200


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forged_tokens(app: MatchdayApp, user_id: int) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "type": "access",
        "jti": "forged-jti",
        "iss": app.config.jwt_issuer,
        "aud": app.config.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    secret = TEST_SECRET

    def sign(key: str = secret, **changes: Any) -> str:
        payload = {k: v for k, v in {**claims, **changes}.items() if v is not None}
        return jwt.encode(payload, key, algorithm="HS256")

    return {
        "control: well-formed": sign(),
        "expired": sign(iat=now - 7200, nbf=now - 7200, exp=now - 3600),
        "not yet valid": sign(nbf=now + 3600),
        "wrong secret": sign("another-secret-" + "y" * 40),
        "wrong audience": sign(aud="someone-else"),
        "wrong issuer": sign(iss="someone-else"),
        "no expiry": sign(exp=None),
        "no type": sign(type=None),
        "refresh type": sign(type="refresh"),
        "unknown user": sign(sub="999999"),
        "non-numeric subject": sign(sub="admin"),
        "alg none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + ".",
        "garbage": "garbage",
        "three dots": "a.b.c",
        "huge": "x" * 5000,
    }


async def test_invalid_tokens_are_401(api: Api, app: MatchdayApp) -> None:
    user = await api.register("owner@example.com")
    tokens = forged_tokens(app, user["id"])
    # The forging is right: the control token works.
    control = tokens.pop("control: well-formed")
    assert (await api.get("/api/v1/me", token=control)).status == 200

    headers = {
        f"header {value!r}": value for value in ("Basic x", "Bearer", "Bearer   ", "Token a")
    }
    cases = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
    problems = []
    for name, header in {**cases, **{k: {"Authorization": v} for k, v in headers.items()}}.items():
        for method, path, body in (
            ("GET", "/api/v1/me", None),
            ("POST", "/api/v1/events", {"name": "x"}),
            ("GET", "/api/v1/events", None),  # a bad token is refused even where none is needed
        ):
            reply = await api.request(method, path, body, headers=header)
            if reply.status != 401 or error_problem(reply):
                problems.append(f"{name} {method} {path}: {reply.status} {reply.body[:150]!r}")
    assert not problems, "\n".join(problems)


async def test_me_and_logout_need_a_token(api: Api) -> None:
    assert_401(await api.get("/api/v1/me"))
    assert_401(await api.post("/api/v1/auth/logout"))
    token = await api.user("owner@example.com")
    me = await api.get("/api/v1/me", headers={"Authorization": f"bearer {token}"})
    assert me.status == 200, me.body  # the scheme is case-insensitive
    assert me.json["email"] == "owner@example.com"
