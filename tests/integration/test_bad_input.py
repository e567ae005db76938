"""Bad input everywhere: the contract's error body, never a 500, and nothing stored changes.

Each table below is one test: the rows run against one freshly built event (building a world
per row would make the suite slow), every reply is checked, every problem is reported, and the
stored data is compared before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import pytest

from server.app import MatchdayApp
from tests.support import STRONG_PASSWORD, Api, Reply

OWNER = "owner@example.com"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-XSS-Protection": "0",
    "Strict-Transport-Security": None,  # present, value not pinned
    "Content-Security-Policy": None,
    "Referrer-Policy": None,
    "Permissions-Policy": None,
}


# --- checks ------------------------------------------------------------------------------


def header_problems(reply: Reply) -> list[str]:
    problems = []
    if not reply.headers.get("X-Request-ID"):
        problems.append("no X-Request-ID header")
    for name, value in SECURITY_HEADERS.items():
        got = reply.headers.get(name)
        if not got or (value is not None and got != value):
            problems.append(f"header {name}: {got!r}")
    hsts = reply.headers.get("Strict-Transport-Security") or ""
    if "max-age=" not in hsts:
        problems.append(f"Strict-Transport-Security without max-age: {hsts!r}")
    return problems


def error_problems(
    reply: Reply, status: int | tuple[int, ...], field: str | None = None
) -> list[str]:
    """Everything wrong with `reply` as the contract's error answer; [] when it is right."""
    statuses = status if isinstance(status, tuple) else (status,)
    problems = []
    if reply.status not in statuses:
        problems.append(f"status {reply.status}, expected {status}: {reply.body[:300]!r}")
    problems += header_problems(reply)
    if b"Traceback" in reply.body:
        problems.append("a stack trace in the body")
    if not reply.headers.get("Content-Type", "").startswith("application/json"):
        problems.append(f"Content-Type {reply.headers.get('Content-Type')!r}")
    try:
        body = reply.json
    except ValueError:
        return [*problems, f"body is not JSON: {reply.body[:200]!r}"]
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [*problems, f"not the error shape: {body!r}"]
    error = body["error"]
    missing = {"code", "message", "details", "request_id"} - set(error)
    if missing:
        return [*problems, f"error lacks {sorted(missing)}: {error!r}"]
    if not isinstance(error["code"], str) or not error["code"]:
        problems.append(f"code {error['code']!r}")
    if not isinstance(error["message"], str) or not error["message"]:
        problems.append(f"message {error['message']!r}")
    if not isinstance(error["details"], dict):
        problems.append(f"details {error['details']!r} is not an object")
    elif reply.status == 422 and not error["details"]:
        problems.append("422 without details")
    elif reply.status == 422 and field is not None and field not in error["details"]:
        problems.append(f"details {error['details']!r} do not name {field!r}")
    if error["request_id"] != reply.headers.get("X-Request-ID"):
        problems.append(f"request_id {error['request_id']!r} differs from the header")
    return problems


def assert_error(
    reply: Reply, status: int | tuple[int, ...], field: str | None = None, code: str | None = None
) -> None:
    problems = error_problems(reply, status, field)
    if code is not None and not problems and reply.error_code() != code:
        problems.append(f"code {reply.error_code()!r}, expected {code!r}")
    assert not problems, "\n".join(problems)


# --- a small world -----------------------------------------------------------------------


@dataclass
class World:
    token: str
    ids: dict[str, int] = field(default_factory=dict)

    def path(self, template: str) -> str:
        return template.format(**self.ids)


async def created(reply: Reply) -> dict[str, Any]:
    assert reply.status == 201, reply.body
    return reply.json


async def new_event(api: Api, token: str, teams: list[str], **fields: Any) -> tuple[int, list[int]]:
    event = await created(await api.post("/api/v1/events", {"name": "Cup", **fields}, token=token))
    team_ids = []
    for name in teams:
        path = f"/api/v1/events/{event['id']}/teams"
        team_ids.append((await created(await api.post(path, {"name": name}, token=token)))["id"])
    return event["id"], team_ids


async def build_world(api: Api) -> World:
    """An owner; a public event with teams A, B and a game A-B; another event with team X."""
    user = await api.register(OWNER)
    world = World(await api.login(OWNER), {"user": user["id"]})
    event, (team_a, team_b) = await new_event(
        api,
        world.token,
        ["Team A", "Team B"],
        name="Spring Cup",
        starts_on="2030-06-01",
        ends_on="2030-06-30",
    )
    other_event, (other_team,) = await new_event(api, world.token, ["Team X"], name="Other Cup")
    game = await created(
        await api.post(
            f"/api/v1/events/{event}/games",
            {"home_team_id": team_a, "away_team_id": team_b, "venue": "Main"},
            token=world.token,
        )
    )
    world.ids.update(
        event=event,
        team_a=team_a,
        team_b=team_b,
        other_event=other_event,
        other_team=other_team,
        game=game["id"],
    )
    return world


async def snapshot(api: Api, app: MatchdayApp, world: World) -> dict[str, Any]:
    """Everything a client can read about the world (after background recomputes settle)."""
    await app.settled()
    paths = [
        "/api/v1/events?per_page=200",
        "/api/v1/events/{event}",
        "/api/v1/events/{event}/teams?per_page=200",
        "/api/v1/events/{event}/games?per_page=200",
        "/api/v1/events/{event}/standings",
        "/api/v1/games/{game}",
        "/api/v1/events/{other_event}/teams?per_page=200",
        "/api/v1/events/{other_event}/games?per_page=200",
        "/api/v1/me",
    ]
    state = {}
    for template in paths:
        reply = await api.get(world.path(template), token=world.token)
        assert reply.status == 200, (template, reply.body)
        state[template] = reply.json
    return state


# --- the tables --------------------------------------------------------------------------

Raw = bytes | Callable[[int], bytes]  # a literal body, or one built from the size limit


@dataclass(frozen=True)
class Bad:
    name: str
    method: str
    path: str
    body: Any = None  # strings "$key" are replaced by the world's ids
    field: str | None = None  # a key a 422's `details` must name
    _: KW_ONLY
    status: int | tuple[int, ...] = 422
    raw: Raw | None = None
    headers: dict[str, str] | None = None


def fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("$") and value[1:] in ids:
        return ids[value[1:]]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


async def send(api: Api, world: World, limit: int, bad: Bad) -> Reply:
    raw = bad.raw(limit) if callable(bad.raw) else bad.raw
    return await api.request(
        bad.method,
        world.path(bad.path),
        fill(bad.body, world.ids),
        token=world.token,
        headers=bad.headers,
        raw=raw,
    )


EVENTS = "/api/v1/events"
EVENT = "/api/v1/events/{event}"
TEAMS = "/api/v1/events/{event}/teams"
GAMES = "/api/v1/events/{event}/games"
SCHEDULE = "/api/v1/events/{event}/schedule"
KEEPERS = "/api/v1/events/{event}/scorekeepers"
SCORE = "/api/v1/games/{game}/score"
REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
HUGE = "99999999999999999999"
GAME_BODY = {"home_team_id": "$team_a", "away_team_id": "$team_b"}
LIVE = {"home_score": 1, "away_score": 0, "status": "live"}


def score(**changes: Any) -> dict[str, Any]:
    return {**LIVE, **changes}


def game(**changes: Any) -> dict[str, Any]:
    return {**GAME_BODY, **changes}


def user(**changes: Any) -> dict[str, Any]:
    return {"email": "newbie@example.com", "password": STRONG_PASSWORD, "display_name": "N"} | (
        changes
    )


def big_json(limit: int) -> bytes:
    return b'{"name": "' + b"x" * limit + b'"}'


def big_score(limit: int) -> bytes:
    return b'{"home_score": 1, "away_score": 0, "status": "live", "pad": "' + b"x" * limit + b'"}'


NESTED = 100_000
TEXT = {"Content-Type": "text/plain"}

TABLES: dict[str, list[Bad]] = {
    "malformed": [
        Bad("truncated", "POST", EVENTS, raw=b'{"name": "x"', status=400),
        Bad("trailing-garbage", "POST", EVENTS, raw=b'{"name": "x"} xyz', status=400),
        Bad("single-quotes", "POST", EVENTS, raw=b"{'name': 'x'}", status=400),
        Bad("array", "POST", EVENTS, raw=b'[{"name": "x"}]', status=400),
        Bad("string", "POST", EVENTS, raw=b'"Spring Cup"', status=400),
        Bad("number", "POST", TEAMS, raw=b"42", status=400),
        Bad("null", "PUT", SCORE, raw=b"null", status=400),
        Bad("array-score", "PUT", SCORE, raw=b"[1, 0]", status=400),
        Bad("nan", "POST", EVENTS, raw=b'{"name": "x", "scoring": {"win": NaN}}', status=400),
        Bad(
            "nan-score",
            "PUT",
            SCORE,
            raw=b'{"home_score": NaN, "away_score": 0, "status": "live"}',
            status=400,
        ),
        Bad(
            "infinity-score",
            "PUT",
            SCORE,
            raw=b'{"home_score": Infinity, "away_score": 0, "status": "live"}',
            status=400,
        ),
        Bad(
            "minus-infinity",
            "POST",
            GAMES,
            raw=b'{"home_team_id": -Infinity, "away_team_id": 2}',
            status=400,
        ),
        Bad("invalid-utf8", "POST", EVENTS, raw=b'{"name": "\xff\xfe"}', status=400),
        Bad(
            "deeply-nested",
            "POST",
            EVENTS,
            raw=b'{"name": ' + b"[" * NESTED + b"]" * NESTED + b"}",
            status=(400, 422),
        ),
    ],
    "content_type": [
        Bad("text-plain", "POST", EVENTS, {"name": "x"}, headers=TEXT, status=415),
        Bad(
            "form",
            "POST",
            EVENTS,
            raw=b"name=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            status=415,
        ),
        Bad(
            "multipart",
            "POST",
            TEAMS,
            raw=b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
            headers={"Content-Type": "multipart/form-data; boundary=b"},
            status=415,
        ),
        Bad("score-text", "PUT", SCORE, LIVE, headers=TEXT, status=415),
        Bad(
            "patch-xml",
            "PATCH",
            EVENT,
            raw=b"<name>x</name>",
            headers={"Content-Type": "application/xml"},
            status=415,
        ),
        Bad(
            "json-lookalike",
            "POST",
            GAMES,
            GAME_BODY,
            headers={"Content-Type": "application/jsonp"},
            status=415,
        ),
        Bad(
            "register-text",
            "POST",
            REGISTER,
            user(),
            headers=TEXT,
            status=415,
        ),
    ],
    "too_large": [
        Bad("event", "POST", EVENTS, raw=big_json, status=413),
        Bad("patch", "PATCH", EVENT, raw=big_json, status=413),
        Bad("team", "POST", TEAMS, raw=big_json, status=413),
        Bad("score", "PUT", SCORE, raw=big_score, status=413),
        Bad("register", "POST", REGISTER, raw=big_json, status=413),
        Bad("wrong-type-and-large", "POST", EVENTS, raw=big_json, headers=TEXT, status=(413, 415)),
    ],
    "missing_fields": [
        Bad("event-empty-object", "POST", EVENTS, {}, field="name"),
        Bad("event-empty-body", "POST", EVENTS, raw=b"", field="name"),
        Bad("event-null-name", "POST", EVENTS, {"name": None}, field="name"),
        Bad("patch-null-name", "PATCH", EVENT, {"name": None}, field="name"),
        Bad("team", "POST", TEAMS, {"group": "A"}, field="name"),
        Bad("game-away", "POST", GAMES, {"home_team_id": "$team_a"}, field="away_team_id"),
        Bad("game-home", "POST", GAMES, {"away_team_id": "$team_b"}, field="home_team_id"),
        Bad("score-status", "PUT", SCORE, {"home_score": 1, "away_score": 0}, field="status"),
        Bad("score-home", "PUT", SCORE, {"away_score": 0, "status": "live"}, field="home_score"),
        Bad("score-away", "PUT", SCORE, {"home_score": 0, "status": "live"}, field="away_score"),
        Bad("schedule", "POST", SCHEDULE, {}, field="format"),
        Bad("scorekeeper", "POST", KEEPERS, {}, field="user_id"),
        Bad("register-name", "POST", REGISTER, {"email": "n@example.com"}, field="display_name"),
        Bad("register-password", "POST", REGISTER, {"email": "n@example.com"}, field="password"),
        Bad("login-password", "POST", LOGIN, {"email": OWNER}, field="password"),
        Bad("refresh", "POST", REFRESH, {}, field="refresh_token"),
    ],
    "unknown_fields": [
        Bad("event", "POST", EVENTS, {"name": "x", "colour": "red"}, field="colour"),
        Bad("event-owner", "POST", EVENTS, {"name": "x", "owner_id": 99}, field="owner_id"),
        Bad("patch-owner", "PATCH", EVENT, {"owner_id": 99}, field="owner_id"),
        Bad("patch-id", "PATCH", EVENT, {"id": 99}, field="id"),
        Bad("team", "POST", TEAMS, {"name": "x", "event_id": "$other_event"}, field="event_id"),
        Bad("game", "POST", GAMES, game(event_id="$other_event"), field="event_id"),
        Bad("game-status", "POST", GAMES, game(status="final"), field="status"),
        Bad("score", "PUT", SCORE, score(winner="home"), field="winner"),
        Bad("score-version", "PUT", SCORE, score(version=7), field="version"),
        Bad("register-role", "POST", REGISTER, user(role="admin"), field="role"),
        Bad("schedule", "POST", SCHEDULE, {"format": "round_robin", "teams": 4}, field="teams"),
    ],
    "wrong_types": [
        Bad("score-string", "PUT", SCORE, score(home_score="3"), field="home_score"),
        Bad("score-float", "PUT", SCORE, score(home_score=3.0), field="home_score"),
        Bad("score-fraction", "PUT", SCORE, score(away_score=2.5), field="away_score"),
        Bad("score-bool", "PUT", SCORE, score(home_score=True), field="home_score"),
        Bad("score-false", "PUT", SCORE, score(away_score=False), field="away_score"),
        Bad("score-null", "PUT", SCORE, score(home_score=None), field="home_score"),
        Bad("score-list", "PUT", SCORE, score(home_score=[1]), field="home_score"),
        Bad("score-object", "PUT", SCORE, score(home_score={"n": 1}), field="home_score"),
        Bad("status-int", "PUT", SCORE, score(status=1), field="status"),
        Bad("status-null", "PUT", SCORE, score(status=None), field="status"),
        Bad("team-id-string", "POST", GAMES, game(home_team_id="1"), field="home_team_id"),
        Bad("team-id-float", "POST", GAMES, game(home_team_id=1.0), field="home_team_id"),
        Bad("team-id-bool", "POST", GAMES, game(away_team_id=True), field="away_team_id"),
        Bad("round-string", "POST", GAMES, game(round="1"), field="round"),
        Bad("name-int", "POST", EVENTS, {"name": 123}, field="name"),
        Bad("name-list", "POST", EVENTS, {"name": ["x"]}, field="name"),
        Bad("team-name-object", "POST", TEAMS, {"name": {"en": "x"}}, field="name"),
        Bad("visibility-bool", "POST", EVENTS, {"name": "x", "visibility": True}, "visibility"),
        Bad("scoring-string", "POST", EVENTS, {"name": "x", "scoring": "3-1-0"}, field="scoring"),
        Bad("scoring-win-string", "PATCH", EVENT, {"scoring": {"win": "3"}}, field="scoring"),
        Bad("tiebreakers-string", "POST", EVENTS, {"name": "x", "tiebreakers": "score_diff"}),
        Bad("keeper-id-string", "POST", KEEPERS, {"user_id": "1"}, field="user_id"),
        Bad(
            "interval-string", "POST", SCHEDULE, {"format": "round_robin", "interval_minutes": "60"}
        ),
        Bad("venues-string", "POST", SCHEDULE, {"format": "round_robin", "venues": "Main"}),
        Bad("format-list", "POST", SCHEDULE, {"format": ["round_robin"]}, field="format"),
        Bad("email-int", "POST", REGISTER, user(email=42), field="email"),
        Bad("password-int", "POST", REGISTER, user(password=123456789012345), field="password"),
        Bad("login-email-list", "POST", LOGIN, {"email": [OWNER], "password": "x" * 12}),
        Bad("refresh-int", "POST", REFRESH, {"refresh_token": 5}, field="refresh_token"),
    ],
    "numbers": [
        Bad("score-huge", "PUT", SCORE, score(home_score=10**30), field="home_score"),
        Bad("score-2**63", "PUT", SCORE, score(away_score=2**63), field="away_score"),
        Bad(
            "score-1e400",
            "PUT",
            SCORE,
            raw=b'{"home_score": 1, "away_score": 1e400, "status": "live"}',
            status=(400, 422),
        ),
        Bad("score-negative", "PUT", SCORE, score(home_score=-1), field="home_score"),
        Bad("score-negative-away", "PUT", SCORE, score(away_score=-5), field="away_score"),
        Bad("team-id-huge", "POST", GAMES, game(home_team_id=10**30), field="home_team_id"),
        Bad("team-id-2**31", "POST", GAMES, game(away_team_id=2**31), field="away_team_id"),
        Bad("team-id-zero", "POST", GAMES, game(away_team_id=0), field="away_team_id"),
        Bad("team-id-negative", "POST", GAMES, game(home_team_id=-1), field="home_team_id"),
        Bad("round-zero", "POST", GAMES, game(round=0), field="round"),
        Bad("round-huge", "POST", GAMES, game(round=10**30), field="round"),
        Bad("keeper-huge", "POST", KEEPERS, {"user_id": 10**30}, field="user_id"),
        Bad("scoring-huge", "POST", EVENTS, {"name": "x", "scoring": {"win": 10**30}}, "scoring"),
        Bad(
            "interval-huge", "POST", SCHEDULE, {"format": "round_robin", "interval_minutes": 10**30}
        ),
        Bad("interval-zero", "POST", SCHEDULE, {"format": "round_robin", "interval_minutes": 0}),
    ],
    "enums": [
        *(
            Bad(f"status-{status or 'empty'}", "PUT", SCORE, score(status=status), field="status")
            for status in ("scheduled", "cancelled", "FINAL", "", "done", " live")
        ),
        Bad("visibility", "POST", EVENTS, {"name": "x", "visibility": "secret"}, "visibility"),
        Bad("visibility-patch", "PATCH", EVENT, {"visibility": "hidden"}, field="visibility"),
        Bad("format", "POST", SCHEDULE, {"format": "swiss"}, field="format"),
        Bad(
            "scoring-order",
            "POST",
            EVENTS,
            {"name": "x", "scoring": {"win": 0, "draw": 1, "loss": 0}},
            field="scoring",
        ),
        Bad("tiebreaker-unknown", "POST", EVENTS, {"name": "x", "tiebreakers": ["coin_flip"]}),
        Bad("tiebreaker-case", "POST", EVENTS, {"name": "x", "tiebreakers": ["SCORE_DIFF"]}),
        Bad("tiebreaker-int", "PATCH", EVENT, {"tiebreakers": [1]}, field="tiebreakers"),
        Bad("tiebreakers-null", "PATCH", EVENT, {"tiebreakers": None}, field="tiebreakers"),
        Bad(
            "tiebreaker-duplicate",
            "POST",
            EVENTS,
            {"name": "x", "tiebreakers": ["score_diff", "wins", "score_diff"]},
            field="tiebreakers",
        ),
        Bad(
            "tiebreaker-duplicate-patch",
            "PATCH",
            EVENT,
            {"tiebreakers": ["head_to_head", "head_to_head"]},
            field="tiebreakers",
        ),
        Bad(
            "venues-duplicate",
            "POST",
            SCHEDULE,
            {"format": "round_robin", "venues": ["North", "north"]},
            field="venues",
        ),
    ],
    "references": [
        Bad("other-event-team", "POST", GAMES, game(home_team_id="$other_team"), "home_team_id"),
        Bad("other-event-away", "POST", GAMES, game(away_team_id="$other_team"), "away_team_id"),
        Bad("no-such-team", "POST", GAMES, game(away_team_id=999_999), field="away_team_id"),
        Bad("against-itself", "POST", GAMES, game(away_team_id="$team_a")),
        Bad(
            "keeper-no-such-user",
            "POST",
            KEEPERS,
            {"user_id": 999_999},
            "user_id",
            status=(404, 422),
        ),
    ],
    "names": [
        Bad("nul", "POST", EVENTS, {"name": "Spring\x00Cup"}, field="name"),
        Bad("newline", "POST", EVENTS, {"name": "Spring\nCup"}, field="name"),
        Bad("escape", "POST", TEAMS, {"name": "\x1b[31mRed"}, field="name"),
        Bad("bell", "POST", TEAMS, {"name": "Team\x07"}, field="name"),
        Bad("zero-width", "POST", EVENTS, {"name": "Spring\u200bCup"}, field="name"),
        Bad("bidi-override", "POST", TEAMS, {"name": "\u202eevil"}, field="name"),
        Bad("lone-surrogate", "POST", TEAMS, {"name": "bad\ud800name"}, status=400),
        Bad("patch-nul", "PATCH", EVENT, {"name": "x\x00"}, field="name"),
        Bad("sport-control", "PATCH", EVENT, {"sport": "foot\tball"}, field="sport"),
        Bad("group-control", "POST", TEAMS, {"name": "T", "group": "A\x00"}, field="group"),
        Bad("venue-control", "POST", GAMES, game(venue="Main\x00"), field="venue"),
        Bad("display-name-control", "POST", REGISTER, user(display_name="Ann\x00"), "display_name"),
        Bad(
            "display-name-surrogate",
            "POST",
            REGISTER,
            user(display_name="A\udfff"),
            status=(400, 422),
        ),
        Bad("empty-name", "POST", EVENTS, {"name": ""}, field="name"),
        Bad("blank-name", "POST", TEAMS, {"name": "   "}, field="name"),
        Bad("blank-display-name", "POST", REGISTER, user(display_name=" "), "display_name"),
        Bad("event-name-201", "POST", EVENTS, {"name": "x" * 201}, field="name"),
        Bad("event-name-patch-201", "PATCH", EVENT, {"name": "x" * 201}, field="name"),
        Bad("team-name-101", "POST", TEAMS, {"name": "x" * 101}, field="name"),
        Bad("sport-51", "POST", EVENTS, {"name": "x", "sport": "x" * 51}, field="sport"),
        Bad("group-51", "POST", TEAMS, {"name": "T", "group": "g" * 51}, field="group"),
        Bad("venue-101", "POST", GAMES, game(venue="v" * 101), field="venue"),
        Bad("display-name-101", "POST", REGISTER, user(display_name="x" * 101), "display_name"),
        Bad("name-10k", "POST", EVENTS, {"name": "x" * 10_000}, field="name"),
    ],
    "dates": [
        Bad("feb-30", "POST", EVENTS, {"name": "x", "starts_on": "2030-02-30"}, "starts_on"),
        Bad("month-13", "POST", EVENTS, {"name": "x", "starts_on": "2030-13-01"}, "starts_on"),
        Bad("words", "POST", EVENTS, {"name": "x", "ends_on": "tomorrow"}, field="ends_on"),
        Bad("int-date", "POST", EVENTS, {"name": "x", "starts_on": 20300101}, "starts_on"),
        Bad("patch-date", "PATCH", EVENT, {"starts_on": "2030-06-31"}, field="starts_on"),
        Bad("starts-at-words", "POST", GAMES, game(starts_at="soon"), field="starts_at"),
        Bad("starts-at-naive", "POST", GAMES, game(starts_at="2030-06-02T10:00:00")),
        Bad("starts-at-bad-day", "POST", GAMES, game(starts_at="2030-06-31T10:00:00Z")),
        Bad("starts-at-year", "POST", GAMES, game(starts_at="99999-01-01T10:00:00Z")),
        Bad("starts-at-int", "POST", GAMES, game(starts_at=1_900_000_000), field="starts_at"),
        Bad("schedule-start", "POST", SCHEDULE, {"format": "round_robin", "starts_at": "noon"}),
        Bad(
            "ends-before-starts",
            "POST",
            EVENTS,
            {"name": "x", "starts_on": "2030-06-10", "ends_on": "2030-06-01"},
            field="ends_on",
        ),
        Bad("patch-ends-before-stored-start", "PATCH", EVENT, {"ends_on": "2030-05-01"}),
        Bad("patch-starts-after-stored-end", "PATCH", EVENT, {"starts_on": "2030-07-15"}),
        Bad(
            "patch-both-reversed",
            "PATCH",
            EVENT,
            {"starts_on": "2030-06-10", "ends_on": "2030-06-01"},
            field="ends_on",
        ),
    ],
    "pagination": [
        *(
            Bad(f"events-{query}", "GET", f"{EVENTS}?{query}", field=query.split("=")[0])
            for query in (
                "page=0",
                "page=-1",
                "page=abc",
                "page=1.5",
                "page=",
                f"page={HUGE}",
                "per_page=0",
                "per_page=201",
                "per_page=500",
                "per_page=abc",
            )
        ),
        Bad("teams-per-page", "GET", f"{TEAMS}?per_page=500", field="per_page"),
        Bad("teams-page", "GET", f"{TEAMS}?page=0", field="page"),
        Bad("games-page", "GET", f"{GAMES}?page=abc", field="page"),
        Bad("games-status", "GET", f"{GAMES}?status=bogus", field="status"),
        Bad("games-team", "GET", f"{GAMES}?team_id=abc", field="team_id"),
        Bad("games-team-huge", "GET", f"{GAMES}?team_id={HUGE}", field="team_id"),
        Bad("games-round", "GET", f"{GAMES}?round=0", field="round"),
        Bad("games-status-not-utf8", "GET", f"{GAMES}?status=%ff", status=(400, 422)),
        Bad("games-status-nul", "GET", f"{GAMES}?status=%00", field="status"),
    ],
    "not_found": [
        Bad("event-huge", "GET", f"{EVENTS}/{HUGE}", status=404),
        Bad("event-2**31", "GET", f"{EVENTS}/2147483648", status=404),
        Bad("event-2**63", "GET", f"{EVENTS}/9223372036854775808", status=404),
        Bad("event-zero", "GET", f"{EVENTS}/0", status=404),
        Bad("event-negative", "GET", f"{EVENTS}/-1", status=404),
        Bad("event-word", "GET", f"{EVENTS}/abc", status=404),
        Bad("event-missing", "GET", f"{EVENTS}/999999", status=404),
        Bad("teams-huge", "GET", f"{EVENTS}/{HUGE}/teams", status=404),
        Bad("games-huge", "GET", f"{EVENTS}/{HUGE}/games", status=404),
        Bad("standings-huge", "GET", f"{EVENTS}/{HUGE}/standings", status=404),
        Bad("game-huge", "GET", f"/api/v1/games/{HUGE}", status=404),
        Bad("game-missing", "GET", "/api/v1/games/999999", status=404),
        Bad("score-huge", "PUT", f"/api/v1/games/{HUGE}/score", LIVE, status=404),
        Bad("patch-huge", "PATCH", f"{EVENTS}/{HUGE}", {"name": "x"}, status=404),
        Bad("team-huge", "POST", f"{EVENTS}/{HUGE}/teams", {"name": "x"}, status=404),
        Bad("game-post-huge", "POST", f"{EVENTS}/{HUGE}/games", GAME_BODY, status=404),
        Bad(
            "schedule-huge",
            "POST",
            f"{EVENTS}/{HUGE}/schedule",
            {"format": "round_robin"},
            status=404,
        ),
        Bad("unknown-get", "GET", "/api/v1/nope", status=404),
        Bad("unknown-post", "POST", "/api/v1/nope", {"a": 1}, status=404),
        Bad("unknown-version", "GET", "/api/v2/events", status=404),
        Bad("unknown-sub", "GET", f"{EVENT}/nope", status=404),
        Bad("unknown-put", "PUT", "/api/v1/games/{game}/scores", LIVE, status=404),
        Bad("method-delete", "DELETE", EVENT, status=405),
        Bad("method-put-list", "PUT", EVENTS, {"name": "x"}, status=405),
    ],
    "headers": [
        *(
            Bad(
                f"idempotency-{i}", "PUT", SCORE, LIVE, headers={"Idempotency-Key": key}, status=400
            )
            for i, key in enumerate(["a b", "x" * 201, "tab\there"])
        ),
        *(
            Bad(f"if-match-{i}", "PUT", SCORE, LIVE, headers={"If-Match": value}, status=400)
            for i, value in enumerate(["abc", '"v1"', "1.5", '"-1"', '"99999999999"', "1,2"])
        ),
        Bad("if-match-stale", "PUT", SCORE, LIVE, headers={"If-Match": '"999"'}, status=409),
    ],
    "auth_input": [
        Bad("email-plain", "POST", REGISTER, user(email="not-an-email"), field="email"),
        Bad("email-no-domain", "POST", REGISTER, user(email="newbie@"), field="email"),
        Bad("email-no-local", "POST", REGISTER, user(email="@example.com"), field="email"),
        Bad("email-space", "POST", REGISTER, user(email="new bie@example.com"), field="email"),
        Bad("email-empty", "POST", REGISTER, user(email=""), field="email"),
        Bad("email-nul", "POST", REGISTER, user(email="new\x00bie@example.com"), field="email"),
        Bad("email-long", "POST", REGISTER, user(email="x" * 250 + "@example.com"), "email"),
        Bad("email-taken", "POST", REGISTER, user(email=OWNER), status=409),
        Bad("email-taken-case", "POST", REGISTER, user(email=OWNER.upper()), status=409),
        Bad("password-short", "POST", REGISTER, user(password="Sh0rt!"), field="password"),
        Bad("password-73-bytes", "POST", REGISTER, user(password="Zq9" + "x" * 70), "password"),
        Bad("password-80-bytes", "POST", REGISTER, user(password="é" * 38 + "Zq9!"), "password"),
        Bad(
            "login-73-bytes",
            "POST",
            LOGIN,
            {"email": OWNER, "password": "Zq9" + "x" * 70},
            status=401,
        ),
        Bad("login-multibyte", "POST", LOGIN, {"email": OWNER, "password": "é" * 40}, status=401),
        Bad("login-1000", "POST", LOGIN, {"email": OWNER, "password": "p" * 1000}, status=401),
        Bad(
            "login-unknown",
            "POST",
            LOGIN,
            {"email": "ghost@x.org", "password": "g" * 100},
            status=401,
        ),
        Bad(
            "login-email-nul",
            "POST",
            LOGIN,
            {"email": "owner\x00@example.com", "password": STRONG_PASSWORD},
            status=(401, 422),
        ),
        Bad(
            "login-email-surrogate",
            "POST",
            LOGIN,
            {"email": "owner\ud800@example.com", "password": STRONG_PASSWORD},
            status=400,
        ),
        Bad("email-surrogate", "POST", REGISTER, user(email="new\ud800@example.com"), status=400),
        Bad(
            "password-surrogate",
            "POST",
            REGISTER,
            user(password="correct-horse-\ud800-staple"),
            status=(400, 422),
        ),
        Bad(
            "login-password-surrogate",
            "POST",
            LOGIN,
            {"email": OWNER, "password": STRONG_PASSWORD + "\ud800"},
            status=400,
        ),
        Bad(
            "login-password-nul",
            "POST",
            LOGIN,
            {"email": OWNER, "password": STRONG_PASSWORD + "\x00"},
            status=401,
        ),
        Bad("refresh-surrogate", "POST", REFRESH, {"refresh_token": "a\ud800b"}, status=400),
        Bad("refresh-garbage", "POST", REFRESH, {"refresh_token": "garbage"}, status=401),
        Bad("refresh-nul", "POST", REFRESH, {"refresh_token": "a\x00b"}, status=401),
    ],
}


@pytest.mark.parametrize("rows", [pytest.param(rows, id=name) for name, rows in TABLES.items()])
async def test_bad_input_is_rejected_and_changes_nothing(
    api: Api, app: MatchdayApp, rows: list[Bad]
) -> None:
    world = await build_world(api)
    before = await snapshot(api, app, world)
    limit = app.config.max_json_body_bytes
    failures = []
    for bad in rows:
        reply = await send(api, world, limit, bad)
        problems = error_problems(reply, bad.status, bad.field)
        failures += [f"{bad.name}: {problem}" for problem in problems]
    after = await snapshot(api, app, world)
    assert not failures, "\n".join(failures)
    assert after == before


# --- requests that need a particular state -----------------------------------------------


async def put_score(api: Api, world: World, body: Any, **kw: Any) -> Reply:
    return await api.put(world.path(SCORE), body, token=world.token, **kw)


async def get_game(api: Api, world: World) -> dict[str, Any]:
    reply = await api.get(world.path("/api/v1/games/{game}"), token=world.token)
    assert reply.status == 200
    return reply.json


async def test_stale_if_match_is_a_version_conflict(api: Api, app: MatchdayApp) -> None:
    world = await build_world(api)
    game_before = await get_game(api, world)
    version = game_before["version"]

    stale = await put_score(api, world, LIVE, headers={"If-Match": f'"{version + 1}"'})
    assert_error(stale, 409, code="version_conflict")
    assert await get_game(api, world) == game_before

    fresh = await put_score(api, world, LIVE, headers={"If-Match": f'"{version}"'})
    assert fresh.status == 200, fresh.body
    assert fresh.json["version"] > version
    assert fresh.headers.get("X-Request-ID")

    replayed = await put_score(
        api, world, score(home_score=2), headers={"If-Match": f'"{version}"'}
    )
    assert_error(replayed, 409, code="version_conflict")
    assert await get_game(api, world) == fresh.json


async def test_final_score_is_locked_but_identical_resend_is_harmless(
    api: Api, app: MatchdayApp
) -> None:
    world = await build_world(api)
    final = {"home_score": 2, "away_score": 1, "status": "final"}
    first = await put_score(api, world, final)
    assert first.status == 200, first.body
    assert first.json["status"] == "final"

    again = await put_score(api, world, final)
    assert again.status == 200, again.body
    assert again.json == first.json
    assert again.json["version"] == first.json["version"]

    before = await snapshot(api, app, world)
    for body in (
        {"home_score": 3, "away_score": 1, "status": "final"},
        {"home_score": 2, "away_score": 2, "status": "final"},
        {"home_score": 2, "away_score": 1, "status": "live"},
    ):
        assert_error(await put_score(api, world, body), 409, code="final_locked")
    assert await snapshot(api, app, world) == before
    assert await get_game(api, world) == first.json


async def test_schedule_twice_is_a_conflict(api: Api, app: MatchdayApp) -> None:
    world = await build_world(api)
    event, _teams = await new_event(api, world.token, ["North", "South", "East"])
    path = f"/api/v1/events/{event}/schedule"
    first = await api.post(path, {"format": "round_robin"}, token=world.token)
    assert first.status == 201, first.body
    assert len(first.json["games"]) == 3

    before = await snapshot(api, app, world)
    games_before = await api.get(f"/api/v1/events/{event}/games", token=world.token)
    for fmt in ("round_robin", "double_round_robin", "single_elimination"):
        assert_error(await api.post(path, {"format": fmt}, token=world.token), 409)
    games_after = await api.get(f"/api/v1/events/{event}/games", token=world.token)
    assert games_after.json == games_before.json
    assert await snapshot(api, app, world) == before


async def test_schedule_needs_two_teams(api: Api, app: MatchdayApp) -> None:
    world = await build_world(api)
    event, _ = await new_event(api, world.token, [])
    path = f"/api/v1/events/{event}/schedule"
    assert_error(await api.post(path, {"format": "round_robin"}, token=world.token), 422)
    await created(
        await api.post(f"/api/v1/events/{event}/teams", {"name": "Solo"}, token=world.token)
    )
    for fmt in ("round_robin", "double_round_robin", "single_elimination"):
        assert_error(await api.post(path, {"format": fmt}, token=world.token), 422)
    games = await api.get(f"/api/v1/events/{event}/games", token=world.token)
    assert games.json["items"] == []
    assert games.json["total"] == 0


async def test_duplicate_team_name_is_a_conflict(api: Api, app: MatchdayApp) -> None:
    world = await build_world(api)
    before = await snapshot(api, app, world)
    for name in ("Team A", "  Team A  "):
        reply = await api.post(world.path(TEAMS), {"name": name}, token=world.token)
        assert_error(reply, 409)
    assert await snapshot(api, app, world) == before
    # The same name in another event is fine.
    other = await api.post(
        world.path("/api/v1/events/{other_event}/teams"), {"name": "Team A"}, token=world.token
    )
    assert other.status == 201, other.body


async def test_knockout_final_cannot_end_in_a_draw(api: Api, app: MatchdayApp) -> None:
    world = await build_world(api)
    event, _ = await new_event(api, world.token, ["Left", "Right"])
    schedule = await api.post(
        f"/api/v1/events/{event}/schedule", {"format": "single_elimination"}, token=world.token
    )
    assert schedule.status == 201, schedule.body
    (final,) = schedule.json["games"]
    path = f"/api/v1/games/{final['id']}/score"

    draw = await api.put(
        path, {"home_score": 1, "away_score": 1, "status": "final"}, token=world.token
    )
    assert_error(draw, 422)
    stored = await api.get(f"/api/v1/games/{final['id']}", token=world.token)
    assert stored.json == final  # unchanged, team names included

    live_draw = await api.put(
        path, {"home_score": 1, "away_score": 1, "status": "live"}, token=world.token
    )
    assert live_draw.status == 200, live_draw.body
    decided = await api.put(
        path, {"home_score": 2, "away_score": 1, "status": "final"}, token=world.token
    )
    assert decided.status == 200, decided.body
    assert decided.json["status"] == "final"


WEAK_PASSWORDS = [
    "short",
    "",
    "aaaaaaaaaaaaaaaa",  # long enough, too simple
    "password1234",  # common
    "Zq9" + "x" * 70,  # 73 bytes: bcrypt would silently truncate
    "é" * 37,  # 74 bytes in 37 characters
]


async def test_weak_passwords_are_rejected_and_nothing_is_stored(api: Api) -> None:
    email = "newbie@example.com"
    for password in WEAK_PASSWORDS:
        reply = await api.post(
            REGISTER, {"email": email, "password": password, "display_name": "Newbie"}
        )
        assert_error(reply, 422, field="password")
        login = await api.post(LOGIN, {"email": email, "password": password})
        assert_error(login, 401)
    # The address was never taken by the rejected attempts.
    assert (await api.register(email))["email"] == email


async def test_overlong_password_at_login_is_401_not_500(api: Api) -> None:
    await api.register(OWNER)
    # bcrypt ignores bytes after the 72nd: the stored password plus junk must not log in.
    padded = STRONG_PASSWORD + "x" * (80 - len(STRONG_PASSWORD))
    for password in (padded, "ü" * 37, "y" * 73):
        reply = await api.post(LOGIN, {"email": OWNER, "password": password})
        assert_error(reply, 401)
    assert await api.login(OWNER)


async def test_client_request_id_is_echoed(api: Api) -> None:
    request_id = "client-req-42.abc:1"
    bad = await api.post(LOGIN, raw=b"{", headers={"X-Request-ID": request_id})
    assert_error(bad, 400)
    assert bad.headers["X-Request-ID"] == request_id
    assert bad.json["error"]["request_id"] == request_id

    missing = await api.get("/api/v1/nope", headers={"X-Request-ID": request_id})
    assert_error(missing, 404)
    assert missing.json["error"]["request_id"] == request_id

    ok = await api.get(EVENTS, headers={"X-Request-ID": request_id})
    assert ok.status == 200
    assert ok.headers["X-Request-ID"] == request_id

    first, second = await api.get("/api/v1/me"), await api.get("/api/v1/me")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert first.json["error"]["request_id"] == first.headers["X-Request-ID"]


async def test_every_response_carries_the_security_headers(api: Api, app: MatchdayApp) -> None:
    world = await build_world(api)
    login = await api.post(LOGIN, {"email": OWNER, "password": STRONG_PASSWORD})
    replies = {
        "healthz": await api.get("/healthz"),
        "events": await api.get(EVENTS),
        "event": await api.get(world.path(EVENT)),
        "standings": await api.get(world.path("/api/v1/events/{event}/standings")),
        "created": await api.post(EVENTS, {"name": "Headers Cup"}, token=world.token),
        "me": await api.get("/api/v1/me", token=world.token),
        "login": login,
        "logout": await api.post("/api/v1/auth/logout", token=login.json["access_token"]),
        "401": await api.get("/api/v1/me"),
        "404": await api.get("/api/v1/nope"),
        "413": await api.post(EVENTS, raw=big_json(app.config.max_json_body_bytes)),
        "415": await api.post(EVENTS, {"name": "x"}, headers=TEXT, token=world.token),
    }
    expected = {"created": 201, "logout": 204, "401": 401, "404": 404, "413": 413, "415": 415}
    problems = []
    for name, reply in replies.items():
        if reply.status != expected.get(name, 200):
            problems.append(f"{name}: status {reply.status}")
        problems += [f"{name}: {p}" for p in header_problems(reply)]
    assert not problems, "\n".join(problems)
