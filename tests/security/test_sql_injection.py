"""SQL injection, attacked: a corpus of classic and blind payloads sent into every string field
of every JSON request body, every query parameter, every path id and the CSV import, on SQLite
and PostgreSQL. The operations and their fields come from the OpenAPI document, so a new
operation or field is attacked without editing this file (and a new operation with a body
fails here until it gets a valid base body below).

Expected: never a 500, never a database error text in a reply, no time-based payload slows a
reply down, a value the field accepts is stored verbatim (read back identical), and the
database is intact afterwards."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from models import Base
from models.db import make_sync_engine
from server.admin_cli import create_admin
from server.app import MatchdayApp, make_app
from server.openapi import build_openapi
from server.services.csv_import import COLUMNS as CSV_COLUMNS
from tests.sse_client import SseStream
from tests.support import STRONG_PASSWORD, Api, Reply, settings_for

# Each payload is a valid name where the field takes free text (no control characters, no
# surrounding spaces, at most 50 characters), so an accepted one must read back identical.
PAYLOADS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR "1"="1',
    '"; DROP TABLE users; --',
    "'; DROP TABLE events; --",
    "admin'--",
    "x' /* comment */ OR '1'='1",
    "1' UNION SELECT null, email, password_hash FROM users --",
    "' UNION ALL SELECT sqlite_version() --",
    "1; DELETE FROM teams",
    "'; SELECT pg_sleep(5); --",
    "' AND 1=(SELECT 1 FROM pg_sleep(5)) --",
    "' AND SLEEPY(5000) AND 'a'='a",
    "' || (SELECT randomblob(500000000)) || '",
    "x%00' OR '1'='1",
    "\\'; SELECT 1; --\\",
    "\u2019 OR \u20181\u2019=\u20181",  # typographic quotes
    "\uff07 OR \uff071\uff07=\uff071",  # fullwidth apostrophe
    "Ωmega' -- ünïcode",
    "%27%20OR%201%3D1",
]
# Refused by validation, never by the database.
REFUSED = ["x\x00' OR 1=1 --", "'\n; DROP TABLE users; --"]
SLEEP_PAYLOADS = {p for p in PAYLOADS if "sleep" in p.lower() or "randomblob" in p.lower()}
SLEEP_BUDGET = 3.0  # seconds; the time-based payloads ask for 5
# Leak markers: a reply may echo the payload (a stored name), never any of these.
LEAKS = [
    "syntax error",
    "sqlite",
    "psycopg",
    "sqlalchemy",
    "operationalerror",
    "programmingerror",
    "integrityerror",
    "traceback",
    "unrecognized token",
    "unterminated quoted",
    'near "',
    "select ",
    "drop table",
]
# Fields whose accepted value the reply (and a read-back) must show unchanged.
ECHOED = {
    "createEvent": {"name", "sport"},
    "updateEvent": {"name", "sport"},
    "createTeam": {"name", "group"},
    "createGame": {"venue"},
    "updateGame": {"venue"},
    "register": {"display_name"},
}
MIN_CASES_PER_FIELD = 8
DURABLE_TABLES = ["users", "events", "teams", "games", "scorekeepers", "audit_entries"]


@pytest.fixture
async def attacked(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[MatchdayApp, Api]]:
    """The app with rate limiting off: hundreds of requests from one address."""
    app = await make_app(settings_for(database_url, tmp_path, RATE_LIMIT_ENABLED="false"))
    sock, port = bind_unused_port()
    server = HTTPServer(app, max_body_size=app.config.max_json_body_bytes * 2)
    server.add_sockets([sock])
    yield app, Api(f"http://127.0.0.1:{port}")
    server.stop()
    await server.close_all_connections()
    await app.close()


# --- the document -------------------------------------------------------------------------


@dataclass
class Op:
    method: str
    path: str
    op_id: str
    body_schema: dict[str, Any] | None
    body_type: str | None
    query: list[dict[str, Any]]
    string_fields: list[tuple[Any, ...]] = field(default_factory=list)
    other_fields: list[tuple[Any, ...]] = field(default_factory=list)


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _leaves(doc: dict[str, Any], schema: dict[str, Any], prefix: tuple[Any, ...] = ()) -> Iterator:
    """(path, schema) of every scalar in a body schema; a list item has index 0."""
    schema = _resolve(doc, schema)
    if schema.get("type") == "object":
        for name, sub in schema.get("properties", {}).items():
            yield from _leaves(doc, sub, (*prefix, name))
    elif schema.get("type") == "array":
        yield from _leaves(doc, schema["items"], (*prefix, 0))
    else:
        yield prefix, schema


def operations() -> list[Op]:
    doc = build_openapi()
    ops = []
    for path, item in doc["paths"].items():
        for method, spec in item.items():
            if method == "parameters":
                continue
            content = spec.get("requestBody", {}).get("content", {})
            body_type, body_schema = next(
                ((kind, media["schema"]) for kind, media in content.items()), (None, None)
            )
            query = [p for p in spec.get("parameters", []) if p["in"] == "query"]
            op = Op(method.upper(), path, spec["operationId"], body_schema, body_type, query)
            if body_type == "application/json":
                for leaf, schema in _leaves(doc, body_schema):
                    target = op.string_fields if schema.get("type") == "string" else op.other_fields
                    target.append(leaf)
            ops.append(op)
    return ops


def _with(body: dict[str, Any], leaf: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    node = body
    for i, key in enumerate(leaf[:-1]):
        if isinstance(key, int):
            continue
        nxt = leaf[i + 1]
        if nxt == 0 and i + 1 == len(leaf) - 1:
            node[key] = [value]
            return body
        node = node.setdefault(key, [{}] if nxt == 0 else {})
        if isinstance(node, list):
            node = node[0]
    last = leaf[-1]
    if last == 0:  # a list of scalars at the top level
        raise AssertionError(f"unexpected leaf {leaf}")
    node[last] = value
    return body


# --- the world ----------------------------------------------------------------------------


@dataclass
class World:
    admin: str
    admin_email: str
    victim_email: str
    victim_password: str
    victim: str
    spare_user: int
    event: int
    teams: list[int]
    game: int
    final_game: int
    counter: int = 0
    schedule_event: int | None = None  # unscheduled; used up by a generated schedule

    def unique(self, stem: str) -> str:
        self.counter += 1
        return f"{stem} {self.counter}"


async def build_world(app: MatchdayApp, api: Api) -> World:
    admin_email = "admin@example.com"
    await asyncio.to_thread(create_admin, app.config, admin_email, STRONG_PASSWORD, "Admin")
    admin = await api.login(admin_email)
    victim = await api.user("victim@example.com")
    spare = await api.register("spare@example.com")
    event = (await api.post("/api/v1/events", {"name": "World Cup"}, token=admin)).json["id"]
    teams = []
    for name in ("Lions", "Bears", "Tigers", "Wolves"):
        reply = await api.post(f"/api/v1/events/{event}/teams", {"name": name}, token=admin)
        assert reply.status == 201, reply.body
        teams.append(reply.json["id"])
    games = []
    for home, away in ((0, 1), (2, 3)):
        body = {"home_team_id": teams[home], "away_team_id": teams[away]}
        reply = await api.post(f"/api/v1/events/{event}/games", body, token=admin)
        assert reply.status == 201, reply.body
        games.append(reply.json["id"])
    final = {"home_score": 2, "away_score": 1, "status": "final"}
    reply = await api.put(f"/api/v1/games/{games[1]}/score", final, token=admin)
    assert reply.status == 200, reply.body
    return World(
        admin,
        admin_email,
        "victim@example.com",
        STRONG_PASSWORD,
        victim,
        spare["id"],
        event,
        teams,
        games[0],
        games[1],
    )


async def fresh_event(api: Api, world: World) -> int:
    """An event with two teams and no games (a schedule can be generated once per event)."""
    event = await api.post("/api/v1/events", {"name": world.unique("Cup")}, token=world.admin)
    event_id = event.json["id"]
    for name in ("Home", "Away"):
        await api.post(f"/api/v1/events/{event_id}/teams", {"name": name}, token=world.admin)
    return event_id


async def base_request(api: Api, world: World, op: Op) -> tuple[str, dict[str, Any] | None, str]:
    """(path, an otherwise valid body, token) for one attack on `op`."""
    ids = {
        "event_id": world.event,
        "game_id": world.game,
        "user_id": world.spare_user,
        "team_id": world.teams[0],
        # The first subscription and delivery ids: they exist where an earlier attack on
        # createWebhook subscribed (the embedded default takes any URL), else a 404.
        "webhook_id": 1,
        "delivery_id": 1,
    }
    if op.op_id == "generateSchedule":
        if world.schedule_event is None:
            world.schedule_event = await fresh_event(api, world)
        ids["event_id"] = world.schedule_event
    if op.op_id == "correctScore":
        ids["game_id"] = world.final_game
    path = op.path.format(**ids)
    bodies: dict[str, dict[str, Any]] = {
        "register": {
            "email": f"{world.unique('user').replace(' ', '')}@example.com",
            "password": STRONG_PASSWORD,
            "display_name": world.unique("Player"),
        },
        "login": {"email": world.admin_email, "password": STRONG_PASSWORD},
        "refreshTokens": {"refresh_token": "not-a-token"},
        "changePassword": {"current_password": world.victim_password, "new_password": "x" * 4},
        "createEvent": {"name": world.unique("Event"), "sport": "football"},
        "updateEvent": {"name": world.unique("Renamed")},
        "addScorekeeper": {"user_id": world.spare_user},
        "createTeam": {"name": world.unique("Team"), "group": "A"},
        "createGame": {"home_team_id": world.teams[0], "away_team_id": world.teams[2]},
        "updateGame": {"venue": "Arena", "round": 2},
        "generateSchedule": {"format": "round_robin", "venues": ["Arena"]},
        "putScore": {"home_score": 1, "away_score": 0, "status": "live"},
        "correctScore": {"home_score": 2, "away_score": 1, "reason": "typo"},
        "setRole": {"role": "user"},
        "askQuestion": {"question": "who has the most points?", "event_id": world.event},
        "createWebhook": {"url": "https://hooks.example.com/matchday", "event_types": ["score"]},
        "updateWebhook": {"url": "https://hooks.example.com/other", "active": False},
    }
    token = world.victim if op.op_id == "changePassword" else world.admin
    if op.body_type != "application/json":
        return path, None, token
    assert op.op_id in bodies, f"{op.op_id} has a JSON body: give it a valid base body here"
    return path, bodies[op.op_id], token


# --- one attack ---------------------------------------------------------------------------


@dataclass
class Attacks:
    api: Api
    world: World
    sent: int = 0
    accepted: dict[str, set[str]] = field(default_factory=dict)

    def check(self, reply: Reply, elapsed: float, payload: Any, what: str) -> None:
        self.sent += 1
        assert reply.status < 500, f"{what}: {reply.status} {reply.body[:300]!r}"
        text = reply.body.decode("utf-8", "replace")
        for sent in payload if isinstance(payload, list) else [payload]:
            for echoed in (
                str(sent),
                json.dumps(sent)[1:-1],
                json.dumps(sent, ensure_ascii=False)[1:-1],
            ):
                text = text.replace(echoed, "")
        lowered = text.lower()
        for leak in LEAKS:
            assert leak not in lowered, f"{what}: {leak!r} in {reply.body[:300]!r}"
        if not isinstance(payload, str) or payload in SLEEP_PAYLOADS:
            assert elapsed < SLEEP_BUDGET, f"{what}: took {elapsed:.1f}s"

    async def send(
        self, method: str, path: str, body: Any, token: str, what: str, payload: Any
    ) -> Reply:
        started = time.monotonic()
        reply = await self.api.request(method, path, body, token=token)
        self.check(reply, time.monotonic() - started, payload, what)
        return reply

    async def body_field(self, op: Op, leaf: tuple[Any, ...], payload: Any) -> None:
        path, base, token = await base_request(self.api, self.world, op)
        assert base is not None
        body = _with(base, leaf, payload)
        what = f"{op.method} {op.path} {'.'.join(map(str, leaf))}={payload!r}"
        reply = await self.send(op.method, path, body, token, what, payload)
        if op.op_id == "changePassword" and reply.status == 204 and leaf == ("new_password",):
            # The payload was a strong enough password: it is the victim's password now.
            self.world.victim_password = payload
            self.world.victim = await self.api.login(self.world.victim_email, payload)
        if op.op_id == "generateSchedule" and reply.status == 201:
            self.world.schedule_event = None
        if reply.status >= 300 or not isinstance(payload, str):
            return
        name = leaf[0]
        if name in ECHOED.get(op.op_id, set()):
            shown = reply.json["user"] if op.op_id == "register" else reply.json
            assert shown[name] == payload, f"{what}: stored as {shown[name]!r}"
            self.accepted.setdefault(op.op_id, set()).add(payload)
            if op.op_id in {"createEvent", "updateEvent"}:
                event_id = reply.json["id"]
                again = await self.api.get(f"/api/v1/events/{event_id}", token=token)
                assert again.json[name] == payload, f"{what}: read back {again.json[name]!r}"
        if op.op_id == "generateSchedule" and leaf == ("venues", 0):
            assert {g["venue"] for g in reply.json["games"]} == {payload}, what

    async def query_param(self, op: Op, param: dict[str, Any], payload: str) -> None:
        path, _, token = await base_request(self.api, self.world, op)
        url = f"{path}?{urllib.parse.urlencode({param['name']: payload})}"
        what = f"{op.method} {url}"
        if op.op_id == "streamEvent":
            await self.stream(url, what, payload)
            return
        await self.send(op.method, url, None, token, what, payload)

    async def stream(self, url: str, what: str, payload: str) -> None:
        """An event stream never ends: read its status line, then hang up."""
        started = time.monotonic()
        stream = await asyncio.wait_for(SseStream.open(self.api.base_url, url), SLEEP_BUDGET)
        elapsed = time.monotonic() - started
        await stream.close()
        self.check(Reply(stream.status, stream.headers, stream.body), elapsed, payload, what)


def _table_counts(app: MatchdayApp) -> dict[str, int]:
    engine = make_sync_engine(app.config)
    try:
        with engine.connect() as conn:
            return {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


# --- the test -----------------------------------------------------------------------------


async def test_sql_injection_everywhere(attacked: tuple[MatchdayApp, Api]) -> None:
    app, api = attacked
    world = await build_world(app, api)
    before = await asyncio.to_thread(_table_counts, app)
    attacks = Attacks(api, world)
    ops = operations()
    covered: dict[str, int] = {}

    for op in ops:
        for leaf in op.string_fields:
            for payload in PAYLOADS + REFUSED:
                await attacks.body_field(op, leaf, payload)
            covered[f"{op.op_id} {leaf}"] = len(PAYLOADS) + len(REFUSED)
        for leaf in op.other_fields:  # type confusion: a string where a number goes
            for payload in [PAYLOADS[0], "1 OR 1=1", "1; DROP TABLE users"]:
                await attacks.body_field(op, leaf, payload)
        for param in op.query:
            for payload in PAYLOADS + REFUSED:
                await attacks.query_param(op, param, payload)
            covered[f"{op.op_id} ?{param['name']}"] = len(PAYLOADS) + len(REFUSED)
        if "{" in op.path and op.op_id != "streamEvent":  # path ids: always 404 or 400
            for payload in ("1 OR 1=1", "1'--", "1;DROP TABLE users", "1 UNION SELECT 1"):
                path = op.path
                for name in ("event_id", "game_id", "user_id", "team_id"):
                    path = path.replace("{" + name + "}", urllib.parse.quote(payload, safe=""))
                body = {} if op.body_type == "application/json" else None
                reply = await attacks.send(
                    op.method, path, body, world.admin, f"{op.method} {path}", payload
                )
                assert reply.status in {400, 404, 405, 415, 422}, f"{path}: {reply.status}"

    # Every operation with a string field or query parameter was attacked, each with all payloads.
    expected = {f"{op.op_id} {leaf}" for op in ops for leaf in op.string_fields} | {
        f"{op.op_id} ?{p['name']}" for op in ops for p in op.query
    }
    assert set(covered) == expected
    assert all(count >= MIN_CASES_PER_FIELD for count in covered.values())

    # The CSV import: payloads as team names and as a venue, all in one file.
    csv_payloads = [p for p in PAYLOADS if len(p) <= 100]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for payload in csv_payloads:
        writer.writerow(["team", payload, "", "", "", "", "", "", "", "", ""])
    writer.writerow(
        [
            "game",
            "",
            "",
            csv_payloads[0],
            csv_payloads[1],
            "",
            csv_payloads[3],
            "",
            "",
            "",
            "scheduled",
        ]
    )
    target = await fresh_event(api, world)
    started = time.monotonic()
    reply = await api.request(
        "POST",
        f"/api/v1/events/{target}/import",
        raw=out.getvalue().encode(),
        token=world.admin,
        headers={"Content-Type": "text/csv"},
    )
    attacks.check(reply, time.monotonic() - started, csv_payloads, "CSV import")
    assert reply.status == 201, reply.body
    teams = await api.get(f"/api/v1/events/{target}/teams?per_page=200", token=world.admin)
    names = {team["name"] for team in teams.json["items"]}
    assert set(csv_payloads) <= names
    assert reply.json["games"][0]["venue"] == csv_payloads[3]

    # Stored verbatim: everything the team endpoint accepted is in the world event, unchanged.
    teams = await api.get(f"/api/v1/events/{world.event}/teams?per_page=200", token=world.admin)
    stored = {team["name"] for team in teams.json["items"]} | {
        team["group"] for team in teams.json["items"]
    }
    assert attacks.accepted["createTeam"] <= stored
    assert set(PAYLOADS) <= attacks.accepted["createTeam"]
    assert set(PAYLOADS) <= attacks.accepted["createEvent"]

    # The database is intact: every table is there, nothing vanished, normal requests work.
    after = await asyncio.to_thread(_table_counts, app)
    assert set(after) == set(before)
    for table in DURABLE_TABLES:  # the others (outbox, snapshots) are drained or replaced
        count = before[table]
        assert after[table] >= count, f"{table}: {count} rows before, {after[table]} after"
    assert (await api.get(f"/api/v1/events/{world.event}", token=world.admin)).status == 200
    game = await api.get(f"/api/v1/games/{world.game}")
    assert game.status == 200 and game.json["home_team_id"] == world.teams[0]
    assert await api.login(world.admin_email)
    assert attacks.sent > 500
