"""The live stream in both run modes: embedded (SQLite + in-process streams) and production
(PostgreSQL + real Redis Streams). Every test asserts what a spectator or operator sees."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from models import Event, OutboxEntry
from server.app import MatchdayApp, make_app
from server.live.streams import parse_id, stream_key
from server.services.standings import standings_for
from tests.sse_client import SseMessage, SseStream
from tests.support import (
    REDIS_URL,
    Api,
    delete_redis_keys,
    eventually,
    pg_schema_url,
    settings_for,
    sqlite_copy,
    truncate_pg,
)

MODES = ["embedded", pytest.param("production", marks=pytest.mark.postgres)]


# --- running apps with custom settings -------------------------------------------------------


class Live:
    """Starts Matchday apps in one run mode with extra settings; stops them after the test."""

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path, mode: str) -> None:
        self.request = request
        self.tmp_path = tmp_path
        self.mode = mode
        self._apps: list[tuple[MatchdayApp, HTTPServer, str]] = []
        self._streams: list[SseStream] = []
        self._truncated = False
        self._started = itertools.count()  # not len(_apps): an app stopped early frees its slot

    async def start(self, redis_url: str = REDIS_URL, **env: str) -> tuple[MatchdayApp, Api]:
        data_dir = self.tmp_path / f"app{next(self._started)}"
        data_dir.mkdir()
        prefix = ""
        if self.mode == "embedded":
            template = self.request.getfixturevalue("sqlite_template_file")
            settings = settings_for(sqlite_copy(template, data_dir), data_dir, **env)
        else:
            schema = self.request.getfixturevalue("pg_schema")
            if not self._truncated:
                truncate_pg(schema)
                self._truncated = True
            prefix = f"test:{uuid.uuid4().hex[:10]}:"
            settings = settings_for(
                pg_schema_url(schema),
                data_dir,
                REDIS_URL=redis_url,
                REDIS_KEY_PREFIX=prefix,
                TASK_RUNNER="local",  # recomputes in-process, as conftest's live_app
                **env,
            )
        app = await make_app(settings)
        sock, port = bind_unused_port()
        server = HTTPServer(app, max_body_size=app.config.max_json_body_bytes * 2)
        server.add_sockets([sock])
        self._apps.append((app, server, prefix if redis_url == REDIS_URL else ""))
        return app, Api(f"http://127.0.0.1:{port}")

    def constrained_port(self, app: MatchdayApp, send_buffer: int = 4096) -> int:
        """Another listener of `app` whose connections get a small kernel send buffer."""
        server = next(server for each, server, _ in self._apps if each is app)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)  # inherited
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.setblocking(False)
        server.add_sockets([sock])
        return int(sock.getsockname()[1])

    async def open(self, api: Api, path: str, headers: dict[str, str] | None = None) -> SseStream:
        stream = await SseStream.open(api.base_url, path, headers)
        self._streams.append(stream)
        return stream

    async def stop(self, app: MatchdayApp) -> None:
        entry = next(entry for entry in self._apps if entry[0] is app)
        self._apps.remove(entry)
        _app, server, prefix = entry
        server.stop()
        await server.close_all_connections()
        async with asyncio.timeout(20):
            await app.close()
        if prefix:
            await delete_redis_keys(prefix)

    async def close(self) -> None:
        for stream in self._streams:
            await stream.close()
        for app, _server, _prefix in list(self._apps):
            await self.stop(app)


@pytest.fixture(params=MODES)
async def live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    launcher = Live(request, tmp_path, request.param)
    yield launcher
    await launcher.close()


# --- helpers ---------------------------------------------------------------------------------


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async def check() -> bool:
        return predicate()

    await eventually(check, timeout)


async def settle(app: MatchdayApp) -> None:
    """Recomputes done and every committed event relayed: a stream opened now starts after."""
    await app.settled()
    await app.relay.caught_up()


async def league(api: Api, token: str, teams: int, **event: Any) -> tuple[int, list[int]]:
    reply = await api.post("/api/v1/events", {"name": "Cup", **event}, token=token)
    assert reply.status == 201, reply.body
    ev = reply.json["id"]
    ids = []
    for n in range(teams):
        team = await api.post(f"/api/v1/events/{ev}/teams", {"name": f"Team {n}"}, token=token)
        assert team.status == 201, team.body
        ids.append(team.json["id"])
    return ev, ids


async def schedule(api: Api, token: str, ev: int, fmt: str = "round_robin") -> list[dict]:
    reply = await api.post(f"/api/v1/events/{ev}/schedule", {"format": fmt}, token=token)
    assert reply.status == 201, reply.body
    return reply.json["games"]


async def score(
    api: Api, token: str, game: int, home: int, away: int, status: str = "live"
) -> dict:
    body = {"home_score": home, "away_score": away, "status": status}
    reply = await api.put(f"/api/v1/games/{game}/score", body, token=token)
    assert reply.status == 200, reply.body
    return reply.json


async def read_frame(stream: SseStream, timeout: float = 5.0) -> list[str] | None:
    """One raw SSE block as its lines; None at the end of the stream."""
    lines: list[str] = []
    while True:
        raw = await asyncio.wait_for(stream.reader.readline(), timeout)
        if not raw:
            return lines or None
        line = raw.decode().rstrip("\n")
        if line:
            lines.append(line)
        elif lines:
            return lines


async def read_message_frame(stream: SseStream) -> dict[str, str]:
    """The next non-comment block, checked to be exactly one id:, event: and data: line."""
    while True:
        lines = await read_frame(stream)
        assert lines is not None, "stream ended"
        if all(line.startswith(":") for line in lines):
            continue  # heartbeat
        names = sorted(line.partition(":")[0] for line in lines)
        assert names == ["data", "event", "id"], lines
        fields = {
            name: value.removeprefix(" ")
            for name, _, value in (line.partition(":") for line in lines)
        }
        json.loads(fields["data"])
        return fields


def ids_increase(messages: list[SseMessage]) -> bool:
    positions = [parse_id(m.id or "") for m in messages]
    return all(a < b for a, b in itertools.pairwise(positions))


async def metric(api: Api, name: str, labels: str) -> float:
    reply = await api.get("/metrics")
    assert reply.status == 200, reply.body
    match = re.search(
        rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", reply.body.decode(), re.M
    )
    return float(match.group(1)) if match else 0.0


# --- 1. delivery -----------------------------------------------------------------------------


async def test_every_event_type_is_delivered_as_a_well_formed_message(live: Live) -> None:
    app, api = await live.start()
    token = await api.user("owner@example.com")
    ev, teams = await league(api, token, 4)
    await settle(app)
    stream = await live.open(api, f"/api/v1/events/{ev}/stream")

    assert stream.status == 200, stream.body
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "no-cache" in stream.headers["cache-control"]
    assert stream.headers["x-accel-buffering"] == "no"
    first = await read_frame(stream)
    assert first is not None and first[0] == f"retry: {app.config.sse_retry_ms}", first

    scheduled = await schedule(api, token, ev)  # round robin of 4: six games, one event each
    assert len(scheduled) == 6
    frames = [await read_message_frame(stream) for _ in scheduled]
    assert [f["event"] for f in frames] == ["game"] * 6
    assert [json.loads(f["data"]) for f in frames] == scheduled

    created = await api.post(
        f"/api/v1/events/{ev}/games",
        {"home_team_id": teams[0], "away_team_id": teams[1]},
        token=token,
    )
    assert created.status == 201, created.body
    frame = await read_message_frame(stream)
    frames.append(frame)
    assert frame["event"] == "game" and json.loads(frame["data"]) == created.json

    game = scheduled[0]
    live_game = await score(api, token, game["id"], 1, 0)
    frame = await read_message_frame(stream)
    frames.append(frame)
    assert frame["event"] == "score"
    assert json.loads(frame["data"]) == live_game
    assert live_game["version"] > game["version"] and live_game["status"] == "live"

    final_game = await score(api, token, game["id"], 2, 0, "final")
    frame = await read_message_frame(stream)
    frames.append(frame)
    assert frame["event"] == "score"
    assert json.loads(frame["data"]) == final_game
    assert final_game["version"] > live_game["version"] and final_game["status"] == "final"
    assert (await api.get(f"/api/v1/games/{game['id']}")).json == final_game

    frame = await read_message_frame(stream)
    frames.append(frame)
    assert frame["event"] == "standings"
    table = json.loads(frame["data"])
    assert table["last_event_id"] == frame["id"]
    assert table["event_id"] == ev
    leader = table["rows"][0]
    assert (leader["team_id"], leader["won"], leader["points"]) == (game["home_team_id"], 1, 3)
    await app.settled()
    assert (await api.get(f"/api/v1/events/{ev}/standings")).json == table

    positions = [parse_id(f["id"]) for f in frames]
    assert positions == sorted(set(positions))


# --- 2. resume -------------------------------------------------------------------------------


async def test_resume_replays_missed_events_then_goes_live_without_gap_or_duplicate(
    live: Live,
) -> None:
    app, api = await live.start()
    token = await api.user("owner@example.com")
    ev, _teams = await league(api, token, 2)
    game = (await schedule(api, token, ev))[0]["id"]
    await settle(app)
    path = f"/api/v1/events/{ev}/stream"
    observer = await live.open(api, path)  # never disconnects: the stream's full set
    everything: list[Any] = []
    client = await live.open(api, path)
    home = 0

    async def bump(times: int) -> None:
        nonlocal home
        for _ in range(times):
            home += 1
            await score(api, token, game, home, 0)

    await bump(3)
    before = await client.events(3)
    await client.close()
    await until(lambda: app.hub.count == 1)
    resumed_from = before[-1].id
    assert resumed_from is not None

    for how in ("header", "query"):
        await bump(4)  # missed while disconnected
        headers = {"Last-Event-ID": resumed_from} if how == "header" else None
        query = f"?last_event_id={resumed_from}" if how == "query" else ""
        # More scores are posted while the client reconnects: the replay/live seam.
        client, _ = await asyncio.gather(live.open(api, path + query, headers), bump(4))
        assert client.status == 200, client.body
        await bump(2)  # live after the replay
        got = await client.events(10)
        assert all(m.event == "score" for m in got), got
        assert ids_increase(got), [m.id for m in got]
        assert parse_id(got[0].id or "") > parse_id(resumed_from)
        assert [m.json["home_score"] for m in got] == list(range(home - 9, home + 1))

        await bump(1)  # nothing duplicated after the last one either
        after = await client.next_event()
        assert after is not None and after.json["home_score"] == home
        got.append(after)

        while len(everything) < home:
            everything.append(await observer.next_event())
        tail = [m.id for m in everything if parse_id(m.id) > parse_id(resumed_from)]
        assert [m.id for m in got] == tail
        await client.close()
        await until(lambda: app.hub.count == 1)
        resumed_from = got[-1].id
        assert resumed_from is not None
    assert ids_increase(everything)


# --- 3. reset ---------------------------------------------------------------------------------


async def test_reset_when_the_id_is_older_than_the_kept_history_or_malformed(live: Live) -> None:
    app, api = await live.start(STREAM_HISTORY_LENGTH="3")
    token = await api.user("owner@example.com")
    ev, _teams = await league(api, token, 16)
    await settle(app)
    path = f"/api/v1/events/{ev}/stream"
    stream = await live.open(api, path)
    # 240 events: Redis trims approximately (whole nodes of ~100 entries), so publish clearly
    # more than one node; the first of them is then gone in both modes.
    games = await schedule(api, token, ev, "double_round_robin")
    assert len(games) == 240
    seen = await stream.events(len(games))  # live clients get a burst longer than the history
    assert [m.json["id"] for m in seen] == [g["id"] for g in games]
    oldest, newest = seen[0].id or "", seen[-1].id or ""
    if live.mode == "production":
        client = aioredis.from_url(app.config.redis_url, decode_responses=True)
        try:
            info = await client.xinfo_stream(stream_key(app.config.redis_key_prefix, ev))
        finally:
            await client.aclose()
        assert parse_id(info["first-entry"][0]) > parse_id(oldest), info

    expired = await live.open(api, path, {"Last-Event-ID": oldest})
    garbage = await live.open(api, path, {"Last-Event-ID": "garbage"})
    kept = await live.open(api, path + f"?last_event_id={seen[-2].id}")
    for resumed, reason in ((expired, "history_expired"), (garbage, "invalid_id")):
        assert resumed.status == 200, resumed.body
        first = await resumed.next_event()
        assert first is not None and first.event == "reset", first
        assert first.json == {"reason": reason}, first
    replayed = await kept.next_event()  # still within the history: replay, no reset
    assert replayed is not None and (replayed.event, replayed.id) == ("game", newest), replayed

    await score(api, token, games[0]["id"], 1, 1)  # after a reset the stream goes on live
    for resumed in (expired, garbage, kept, stream):
        message = await resumed.next_event()
        assert message is not None and message.event == "score", message
        assert message.json["home_score"] == 1


# --- 4. private events ------------------------------------------------------------------------


async def test_private_event_stream_needs_the_owner_token(live: Live) -> None:
    app, api = await live.start()
    owner = await api.user("owner@example.com")
    other = await api.user("other@example.com")
    ev, _teams = await league(api, owner, 2, visibility="private")
    game = (await schedule(api, owner, ev))[0]["id"]
    await settle(app)
    path = f"/api/v1/events/{ev}/stream"

    refused = [
        await live.open(api, path),
        await live.open(api, path, {"Authorization": f"Bearer {other}"}),
        await live.open(api, path + f"?access_token={other}"),
    ]
    for stream in refused:
        assert stream.status == 404, (stream.status, stream.body)
        assert json.loads(stream.body)["error"]["code"] == "not_found", stream.body

    by_header = await live.open(api, path, {"Authorization": f"Bearer {owner}"})
    by_query = await live.open(api, path + f"?access_token={owner}")
    for stream in (by_header, by_query):
        assert stream.status == 200, stream.body
        assert (await stream.next()).retry is not None  # type: ignore[union-attr]
    await until(lambda: app.hub.count == 2)
    posted = await score(api, owner, game, 3, 2)
    for stream in (by_header, by_query):
        message = await stream.next_event()
        assert message is not None and message.event == "score" and message.json == posted


# --- 5. caps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "status", "code"),
    [("SSE_MAX_CONNECTIONS_PER_IP", 429, "rate_limited"), ("SSE_MAX_CONNECTIONS", 503, "capacity")],
)
async def test_connection_caps_refuse_then_free_on_close(
    live: Live, setting: str, status: int, code: str
) -> None:
    app, api = await live.start(**{setting: "2"})
    token = await api.user("owner@example.com")
    ev, _teams = await league(api, token, 2)
    path = f"/api/v1/events/{ev}/stream"
    first = await live.open(api, path)
    second = await live.open(api, path)
    assert (first.status, second.status) == (200, 200)
    await until(lambda: app.hub.count == 2)

    third = await live.open(api, path)
    assert third.status == status, (third.status, third.body)
    assert int(third.headers["retry-after"]) > 0
    assert third.headers["content-type"].startswith("application/json")
    error = json.loads(third.body)["error"]
    assert error["code"] == code and error["message"], error

    await first.close()
    await until(lambda: app.hub.count == 1)
    again = await live.open(api, path)
    assert again.status == 200, again.body
    assert (await again.next()).retry is not None  # type: ignore[union-attr]


# --- 6. heartbeat -----------------------------------------------------------------------------


async def test_idle_stream_gets_heartbeat_comments(live: Live) -> None:
    app, api = await live.start(SSE_HEARTBEAT_SECONDS="1")
    token = await api.user("owner@example.com")
    ev, _teams = await league(api, token, 2)
    await settle(app)
    stream = await live.open(api, f"/api/v1/events/{ev}/stream")
    assert (await stream.next()).retry is not None  # type: ignore[union-attr]
    for _ in range(2):
        ping = await stream.next(timeout=4)
        assert ping is not None and ping.comment == "ping", ping


# --- 7. slow reader ---------------------------------------------------------------------------


async def test_slow_reader_is_dropped_and_fast_reader_gets_everything(live: Live) -> None:
    app, api = await live.start(SSE_CLIENT_BUFFER_BYTES="4096")
    token = await api.user("owner@example.com")
    ev, _teams = await league(api, token, 16)
    await settle(app)
    path = f"/api/v1/events/{ev}/stream"
    slow_before = await metric(api, "matchday_sse_disconnects_total", 'reason="slow"')

    fast = await live.open(api, path)
    assert (await fast.next()).retry is not None  # type: ignore[union-attr]
    loop = asyncio.get_running_loop()
    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # tiny window, never read
        slow.setblocking(False)
        # Loopback send buffers autotune to megabytes; the slow client comes in through a
        # listener with a small one, as over a real network path, so the hub sees it lag.
        await loop.sock_connect(slow, ("127.0.0.1", live.constrained_port(app)))
        await loop.sock_sendall(slow, f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        await until(lambda: app.hub.count == 2)

        received: list[SseMessage] = []

        async def read_fast() -> None:
            while (message := await fast.next_event(timeout=20)) is not None:
                received.append(message)

        reader = asyncio.create_task(read_fast())
        expected = [g["id"] for g in await schedule(api, token, ev, "double_round_robin")]
        game = expected[0]
        while app.hub.count == 2:  # 240 games are ~60 kB: far more than the slow one holds
            assert len(expected) < 600, "the slow reader was never dropped"
            expected.append((await score(api, token, game, len(expected), 0))["id"])
        for _ in range(5):  # and a few more once it is gone
            expected.append((await score(api, token, game, len(expected), 0))["id"])
        await until(lambda: len(received) >= len(expected))
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader

        assert [m.json["id"] for m in received] == expected
        assert [m.json["home_score"] for m in received if m.event == "score"] == list(
            range(240, len(expected))
        )
        assert ids_increase(received)
        assert app.hub.count == 1
        assert await metric(api, "matchday_sse_disconnects_total", 'reason="slow"') > slow_before

        # The server closed the slow connection: draining it ends in EOF (or a reset).
        ended = False
        async with asyncio.timeout(10):
            while not ended:
                try:
                    ended = not await loop.sock_recv(slow, 65536)
                except ConnectionError:
                    ended = True
    finally:
        slow.close()


# --- 8. snapshot + stream ---------------------------------------------------------------------


async def test_stale_snapshot_plus_stream_equals_fresh_snapshot(live: Live) -> None:
    app, api = await live.start()
    token = await api.user("owner@example.com")
    ev, _teams = await league(api, token, 4)
    games = await schedule(api, token, ev)
    await score(api, token, games[0]["id"], 2, 1, "final")
    await score(api, token, games[1]["id"], 0, 0, "final")
    await app.settled()
    table = (await api.get(f"/api/v1/events/{ev}/standings")).json
    assert table["last_event_id"] is not None, table

    for game, (home, away) in zip(games[2:4], [(3, 0), (1, 4)], strict=True):
        await score(api, token, game["id"], home, away, "final")
    stream = await live.open(
        api, f"/api/v1/events/{ev}/stream", {"Last-Event-ID": table["last_event_id"]}
    )
    for game, (home, away) in zip(games[4:], [(2, 2), (5, 1)], strict=True):
        await score(api, token, game["id"], home, away, "final")
    await app.settled()

    async with app.sessions() as session:
        event = await session.get(Event, ev)
        assert event is not None
        fresh = await standings_for(session, event)
    assert fresh["version"] > table["version"] and fresh["last_event_id"] is not None

    while table["last_event_id"] != fresh["last_event_id"]:
        message = await stream.next_event()
        assert message is not None, "stream ended"
        if message.event == "standings" and message.json["version"] > table["version"]:
            table = message.json
    assert table == fresh

    async def served_fresh() -> bool:
        return (await api.get(f"/api/v1/events/{ev}/standings")).json == fresh

    await eventually(served_fresh, timeout=3)


# --- 9. standings cache -----------------------------------------------------------------------


async def test_public_standings_are_served_from_memory_and_follow_the_stream(live: Live) -> None:
    # A long visibility TTL and no periodic outbox sweep: any SQL seen below is the GET's own.
    app, api = await live.start(STANDINGS_CACHE_TTL_SECONDS="300", OUTBOX_SWEEP_SECONDS="300")
    token = await api.user("owner@example.com")
    ev, _teams = await league(api, token, 4)
    games = await schedule(api, token, ev)
    await settle(app)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    url = f"/api/v1/events/{ev}/standings"
    first = await api.get(url)
    assert first.status == 200, first.body
    sa_event.listen(app.engine.sync_engine, "before_cursor_execute", count)
    try:
        second = await api.get(url)
        assert (second.status, second.json) == (200, first.json)
        assert statements == []

        await score(api, token, games[0]["id"], 1, 0, "final")
        await settle(app)
        statements.clear()

        async def updated() -> bool:
            reply = await api.get(url)
            return reply.json["version"] > first.json["version"]

        await eventually(updated, timeout=3)  # far below the TTL: the stream refreshed it
        assert statements == []
    finally:
        sa_event.remove(app.engine.sync_engine, "before_cursor_execute", count)
    table = (await api.get(url)).json
    assert table["rows"][0]["points"] == 3 and table["last_event_id"] is not None


# --- shutdown ---------------------------------------------------------------------------------


async def test_app_closes_promptly_right_after_a_relay_kick(live: Live) -> None:
    # A score's commit kicks the relay; a shutdown landing in that very tick must not hang
    # (asyncio.wait_for on Python 3.11 swallowed such a cancel: the relay looped forever).
    app, api = await live.start()
    token = await api.user("owner@example.com")
    ev, _teams = await league(api, token, 2)
    game = (await schedule(api, token, ev))[0]["id"]
    await score(api, token, game, 1, 0)
    await settle(app)
    app.relay.kick()
    async with asyncio.timeout(10):
        await live.stop(app)


# --- 10. outbox across a Redis outage (production only) ---------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_redis(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = aioredis.from_url(f"redis://127.0.0.1:{port}/0")
    try:

        async def answers() -> bool:
            try:
                return bool(await client.ping())
            except aioredis.ConnectionError:
                return False

        await eventually(answers, timeout=10)
    finally:
        await client.aclose()
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture
async def production(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    launcher = Live(request, tmp_path, "production")
    yield launcher
    await launcher.close()


@pytest.mark.postgres
async def test_outbox_relays_every_event_after_a_redis_outage(production: Live) -> None:
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    process = await start_redis(port)
    try:
        app, api = await production.start(redis_url=redis_url, OUTBOX_SWEEP_SECONDS="0.2")
        token = await api.user("owner@example.com")
        ev, _teams = await league(api, token, 2)
        game = (await schedule(api, token, ev))[0]["id"]
        await settle(app)
        path = f"/api/v1/events/{ev}/stream"
        across = await production.open(api, path)  # stays open through the outage
        await score(api, token, game, 1, 0)
        assert (await across.next_event()).json["home_score"] == 1  # type: ignore[union-attr]

        stop(process)
        for home in range(2, 6):  # the API does not fail because Redis is down
            await score(api, token, game, home, 0)
        ready = await api.get("/readyz")
        assert ready.status == 503, ready.body
        assert ready.json["checks"]["redis"].startswith("failed"), ready.json
        async with app.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(OutboxEntry)) == 4

        async def backlog_shown() -> bool:  # what OutboxBacklogGrowing watches
            return REGISTRY.get_sample_value("matchday_outbox_pending") == 4

        await eventually(backlog_shown, timeout=5)

        process = await start_redis(port)  # empty: no persistence

        async def relayed() -> bool:
            async with app.sessions() as session:
                return await session.scalar(select(func.count()).select_from(OutboxEntry)) == 0

        await eventually(relayed, timeout=10)
        assert REGISTRY.get_sample_value("matchday_outbox_pending") == 0
        assert (await api.get("/readyz")).status == 200
        await score(api, token, game, 6, 0)

        after = await production.open(api, path, {"Last-Event-ID": "0-0"})
        assert after.status == 200, after.body
        replayed = await after.events(5)
        assert [m.json["home_score"] for m in replayed] == [2, 3, 4, 5, 6]
        assert ids_increase(replayed)
        # The open stream is told that its stream began anew (Redis lost what it held),
        # then goes on with the new stream: the events posted during the outage included.
        restarted = await across.next_event(timeout=10)
        assert restarted is not None and restarted.event == "reset", restarted
        assert restarted.json == {"reason": "stream_restarted"}
        kept = await across.events(5, timeout=10)
        assert [m.json["home_score"] for m in kept] == [2, 3, 4, 5, 6]
        assert [m.id for m in kept] == [m.id for m in replayed]
        await score(api, token, game, 7, 0)
        for stream in (after, across):
            message = await stream.next_event()
            assert message is not None, "the stream ended"
            assert (message.event, message.json.get("home_score")) == ("score", 7), message
    finally:
        stop(process)
