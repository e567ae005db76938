"""The live stream across real `matchday serve` processes: several instances sharing Redis and
PostgreSQL, `--processes N`, Redis restarted under an open stream, and the SIGTERM drain."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa

from server.live.streams import stream_key
from tests.e2e.processes import Serve, free_port, matchday_env, serving, wait_ready
from tests.sse_client import SseMessage, SseStream
from tests.support import (
    REDIS_URL,
    TEST_SECRET,
    Api,
    create_pg_schema,
    delete_redis_keys,
    drop_pg_schema,
    eventually,
    expected_table,
    pg_schema_url,
    table_of,
)

pytestmark = pytest.mark.e2e
RELAY_PAUSED = "outbox relay paused"  # server/live/outbox.py logs it for each failed pass
DRAIN_SECONDS = 5
EXIT_MARGIN_SECONDS = 3


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with serving(tmp_path) as start:
        yield start


@pytest.fixture
def production(tmp_path: Path) -> Iterator[Callable[..., dict[str, str]]]:
    """`production(**extra)`: the environment of production mode on a fresh PostgreSQL schema
    and a unique Redis key prefix, both removed afterwards. Request it before `serve`, so the
    servers stop before their schema is dropped.

    Standings are recomputed in the web process (TASK_RUNNER=local; ignored where the setting
    does not exist): these tests are about the live stream, not the task queue."""
    schema = create_pg_schema()
    prefix = f"test-{uuid.uuid4().hex[:12]}:"

    def env(**extra: str) -> dict[str, str]:
        settings = {
            "DATABASE_URL": pg_schema_url(schema),
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": prefix,
            "JWT_SECRET": TEST_SECRET,
            "TASK_RUNNER": "local",
            **extra,
        }
        return matchday_env(tmp_path, **settings)

    try:
        yield env
    finally:
        drop_pg_schema(schema)
        asyncio.run(delete_redis_keys(prefix))


# --- a league to score ----------------------------------------------------------------------


class League:
    """A public round-robin event: its organiser's token, teams and scheduled games."""

    def __init__(self, api: Api, token: str, event_id: int, teams: list[int], games: list[dict]):
        self.api, self.token, self.event_id = api, token, event_id
        self.teams, self.games = teams, games
        self.results: dict[int, tuple[int, int]] = {}

    @property
    def stream_path(self) -> str:
        return f"/api/v1/events/{self.event_id}/stream"

    @classmethod
    async def create(cls, api: Api, teams: int) -> League:
        token = await api.user(f"organiser-{uuid.uuid4().hex[:8]}@example.com")
        event = await api.post(
            "/api/v1/events", {"name": "Live Cup", "visibility": "public"}, token=token
        )
        assert event.status == 201, event.body
        event_id = event.json["id"]
        team_ids = []
        for index in range(teams):
            team = await api.post(
                f"/api/v1/events/{event_id}/teams", {"name": f"Team {index}"}, token=token
            )
            assert team.status == 201, team.body
            team_ids.append(team.json["id"])
        schedule = await api.post(
            f"/api/v1/events/{event_id}/schedule", {"format": "round_robin"}, token=token
        )
        assert schedule.status == 201, schedule.body
        return cls(api, token, event_id, team_ids, schedule.json["games"])

    async def score(self, index: int, home: int, away: int, api: Api | None = None) -> dict:
        game = self.games[index]
        reply = await (api or self.api).put(
            f"/api/v1/games/{game['id']}/score",
            {"home_score": home, "away_score": away, "status": "final"},
            token=self.token,
        )
        assert reply.status == 200, (reply.status, reply.body)
        self.results[game["id"]] = (home, away)
        return reply.json

    def expected_table(self) -> dict[int, tuple[int, ...]]:
        return expected_table(self.teams, self.games, self.results)


async def next_live(stream: SseStream, timeout: float = 5.0) -> SseMessage:
    """The next `score`/`standings`/`correction` message (`game` messages from the schedule's
    relay may still trickle in; they are not what these tests look at)."""
    while True:
        message = await stream.next_event(timeout)
        assert message is not None, "the stream ended"
        if message.event != "game":
            return message


async def next_score(stream: SseStream, game_id: int, timeout: float = 5.0) -> SseMessage:
    """The `score` message of this game. Tables may come first: the recomputes after each new
    team run in the background and may publish after the league is set up."""
    while True:
        message = await next_live(stream, timeout)
        if message.event != "standings":
            assert message.event == "score", message
            assert message.json["id"] == game_id, message
            return message


async def table_showing(
    stream: SseStream, expected: dict[int, tuple[int, ...]], timeout: float = 5.0
) -> SseMessage:
    """The first `standings` message with this table, after the score that made it: a table
    computed before that score (a late recompute of the set-up) may still come in between."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        message = await next_live(stream, left)
        assert message.event == "standings", message
        if table_of(message.json) == expected:
            return message
    raise AssertionError(f"no table {expected} within {timeout} s")


async def open_stream(base_url: str, path: str, headers: dict[str, str] | None = None) -> SseStream:
    stream = await asyncio.wait_for(SseStream.open(base_url, path, headers), 10)
    assert stream.status == 200, (stream.status, stream.body)
    first = await stream.next()
    assert first is not None and first.retry is not None, first
    return stream


# --- 1. cross-process delivery --------------------------------------------------------------


def _children(parent: int) -> set[int]:
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                children.add(int(stat.parent.name))
    return children


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    return inodes


def stream_owner(server: subprocess.Popen[bytes], port: int, stream: SseStream) -> int | None:
    """The pid of the `--processes` worker holding the server side of this stream."""
    client_port = stream.writer.get_extra_info("sockname")[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.rsplit(":", 1)[1], 16) == port and int(remote.rsplit(":", 1)[1], 16) == (
            client_port
        ):
            inode = fields[9]
    return next((pid for pid in _children(server.pid) if inode in _socket_inodes(pid)), None)


@pytest.mark.postgres
async def test_a_score_posted_to_one_instance_reaches_spectators_on_every_instance(
    production, serve
) -> None:
    env = production()
    _proc_a, url_a = serve(env)
    _proc_b, url_b = serve(env)
    multi, url_multi = serve(env, "--processes", "2")
    api_a = Api(url_a)
    await asyncio.gather(*(wait_ready(Api(url)) for url in (url_a, url_b, url_multi)))
    league = await League.create(api_a, teams=4)

    # A spectator on instance B sees a score posted to instance A, then the new table.
    spectator = await open_stream(url_b, league.stream_path)
    posted = time.monotonic()
    await league.score(0, 2, 1)
    score = await next_score(spectator, league.games[0]["id"])
    assert (score.json["home_score"], score.json["away_score"]) == (2, 1)
    standings = await table_showing(spectator, league.expected_table())
    assert standings.json["last_event_id"] == standings.id
    assert time.monotonic() - posted < 5
    await spectator.close()

    # `--processes 2` on one port: streams held by different workers all see the next score.
    port = int(url_multi.rsplit(":", 1)[1])
    streams: list[SseStream] = []
    owners: set[int | None] = set()
    try:
        while len(streams) < 4 or (len(owners - {None}) < 2 and len(streams) < 24):
            stream = await open_stream(url_multi, league.stream_path)
            streams.append(stream)
            owners.add(stream_owner(multi, port, stream))
        assert len(owners - {None}) >= 2, f"every stream landed on one worker: {owners}"
        await league.score(1, 0, 0)
        for stream in streams:
            await next_score(stream, league.games[1]["id"])
            await table_showing(stream, league.expected_table())
    finally:
        for stream in streams:
            await stream.close()


# --- 2. Redis restarted under an open stream ------------------------------------------------


class OwnRedis:
    """A redis-server of the test's own, persisting to an append-only file, so that a stop and
    a start on the same port and directory bring the streams back."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    async def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--appendonly",
                "yes",
                "--dir",
                str(self.directory),
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        async def answers() -> bool:
            client = aioredis.from_url(self.url, socket_timeout=1)
            try:
                return bool(await client.ping())
            except (aioredis.ConnectionError, aioredis.TimeoutError):
                return False
            finally:
                await client.aclose()

        await eventually(answers, timeout=10)

    async def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)  # a clean shutdown flushes the append-only file
        assert await asyncio.to_thread(self.proc.wait, 10) == 0

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Spectator:
    """Follows a stream in the background like a browser's EventSource: when the server ends
    it, reconnects with the last id seen (at first `after`, when given)."""

    def __init__(self, base_url: str, path: str, after: str | None = None) -> None:
        self.base_url, self.path, self.after = base_url, path, after
        self.messages: list[SseMessage] = []
        self.connections = 0
        self.refusals: list[int] = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def last_id(self) -> str | None:
        return next((m.id for m in reversed(self.messages) if m.id), self.after)

    def of_kind(self, kind: str) -> list[SseMessage]:
        return [m for m in self.messages if m.event == kind]

    async def _run(self) -> None:
        while True:
            headers = {"Last-Event-ID": self.last_id} if self.last_id else {}
            try:
                stream = await asyncio.wait_for(
                    SseStream.open(self.base_url, self.path, headers), 5
                )
            except (OSError, TimeoutError, IndexError):
                await asyncio.sleep(0.2)
                continue
            try:
                if stream.status != 200:
                    self.refusals.append(stream.status)
                    await asyncio.sleep(0.2)
                    continue
                self.connections += 1
                while (message := await stream.next_event(timeout=None)) is not None:
                    self.messages.append(message)
            except (OSError, ValueError):
                pass
            finally:
                await stream.close()
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@pytest.mark.postgres
async def test_redis_restarted_mid_stream_spectators_lose_nothing(
    production, serve, tmp_path: Path
) -> None:
    redis = OwnRedis(tmp_path / "redis")
    spectator: Spectator | None = None
    client: aioredis.Redis | None = None
    try:
        await redis.start()
        env = production(REDIS_URL=redis.url)
        _proc, url = serve(env)
        api = Api(url)
        await wait_ready(api)
        league = await League.create(api, teams=4)
        client = aioredis.from_url(redis.url, decode_responses=True)
        key = stream_key(env["REDIS_KEY_PREFIX"], league.event_id)
        # From here on the spectator must see exactly what the stream holds, including any
        # table the set-up's recomputes publish late.
        start_id = (await client.xrevrange(key, count=1) or [("0-0", None)])[0][0]

        spectator = Spectator(url, league.stream_path, after=start_id)
        await eventually(lambda: _true(spectator.connections), timeout=5)
        await league.score(0, 2, 1)
        await league.score(1, 0, 0)

        def scores_seen() -> list[tuple[int, int, int]]:
            return [
                (m.json["id"], m.json["home_score"], m.json["away_score"])
                for m in spectator.of_kind("score")
            ]

        async def all_scores_seen() -> bool:
            return {game_id for game_id, *_ in scores_seen()} >= set(league.results)

        async def table_current() -> bool:
            tables = spectator.of_kind("standings")
            return bool(tables) and table_of(tables[-1].json) == league.expected_table()

        await within(all_scores_seen, 10, "scores did not reach the stream")
        await within(table_current, 10, "the new table did not reach the stream")

        await redis.stop()
        await within(lambda: _status_is(api, "/readyz", 503), 10, "/readyz ignores Redis")
        await league.score(2, 3, 1)  # accepted while Redis is down: the outbox keeps them
        await league.score(3, 1, 2)
        # Redis stays down until the outbox holds the scores and its relay has failed to
        # publish them several times over: longer than any in-process retry (the publisher's
        # backoff is ~2 s; the relay sweeps every second).
        log = tmp_path / f"serve-{url.rsplit(':', 1)[1]}.log"
        paused_before = log.read_text().count(RELAY_PAUSED)

        async def outlasted() -> bool:
            paused = log.read_text().count(RELAY_PAUSED) - paused_before
            return paused >= 3 and outbox_size(env["DATABASE_URL"]) >= 2

        await within(outlasted, 20, "the outbox relay did not keep retrying the held scores")
        await redis.start()
        await client.aclose()
        client = aioredis.from_url(redis.url, decode_responses=True)

        await within(all_scores_seen, 15, "scores posted while Redis was down never arrived")
        await within(lambda: _status_is(api, "/readyz", 200), 10, "not ready after Redis returned")
        await within(
            table_current,
            15,
            "the stream's newest table misses the scores posted while Redis was down "
            "(the recompute during the outage could not publish it, and none followed)",
        )
        published: list[tuple[str, dict[str, str]]] = []

        async def in_step() -> bool:  # late recomputes may still land: compare at one instant
            published[:] = await client.xrange(key, min=f"({start_id}", max="+")
            return spectator.last_id == published[-1][0]

        await within(in_step, 5, "the stream fell behind")
        # Every event, in order, none lost, none twice: exactly what the Redis stream holds.
        received = [(m.id, m.event) for m in spectator.messages]
        assert received == [(id_, fields["kind"]) for id_, fields in published]
        assert scores_seen() == [(game_id, *result) for game_id, result in league.results.items()]

        async def rest_current() -> bool:
            reply = await api.get(f"/api/v1/events/{league.event_id}/standings")
            return reply.status == 200 and table_of(reply.json) == league.expected_table()

        await within(rest_current, 10, "GET /standings is stale")
    finally:
        if spectator is not None:
            await spectator.close()
        if client is not None:
            await client.aclose()
        redis.kill()


def outbox_size(database_url: str) -> int:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one())
    finally:
        engine.dispose()


async def within(check: Callable[[], Awaitable[bool]], timeout: float, failure: str) -> None:
    try:
        await eventually(check, timeout)
    except AssertionError:
        raise AssertionError(f"{failure} (within {timeout} s)") from None


async def _true(value: object) -> bool:
    return bool(value)


async def _status_is(api: Api, path: str, status: int) -> bool:
    try:
        return (await api.get(path)).status == status
    except OSError:
        return False


# --- 3, 4. SIGTERM drain --------------------------------------------------------------------


async def _keep_alive(base_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """An HTTP/1.1 connection that has served one request and stays open for another."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    assert await _request_on(reader, writer, "/healthz") == 200
    return reader, writer


async def _request_on(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str
) -> int | None:
    """Send a GET on an open connection; its status, or None if the server closed it."""
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: matchday\r\n\r\n".encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        if not status_line:
            return None
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        return int(status_line.split()[1])
    except (ConnectionError, asyncio.IncompleteReadError):
        return None


async def _new_stream_status(base_url: str, path: str) -> tuple[int | None, bytes]:
    """A fresh stream request: its status and body, or None if no connection was accepted."""
    try:
        stream = await asyncio.wait_for(SseStream.open(base_url, path), 5)
    except (OSError, IndexError):  # refused, or closed before answering
        return None, b""
    await stream.close()
    return stream.status, stream.body


@pytest.mark.parametrize(
    "mode", [pytest.param("production", marks=pytest.mark.postgres), "embedded"]
)
async def test_sigterm_tells_streams_to_reconnect_refuses_new_ones_and_exits(
    mode: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = {"DRAIN_SECONDS": str(DRAIN_SECONDS)}
    if mode == "production":
        env = request.getfixturevalue("production")(**settings)
    else:
        env = matchday_env(tmp_path, **settings)
    proc, url = request.getfixturevalue("serve")(env)  # after `production`: stopped first
    api = Api(url)
    await wait_ready(api)
    league = await League.create(api, teams=2)
    streams = [await open_stream(url, league.stream_path) for _ in range(2)]
    idle = await _keep_alive(url)
    try:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        for stream in streams:
            goodbye = await stream.next_event(timeout=DRAIN_SECONDS)
            while goodbye is not None and goodbye.id:  # live events still on their way
                goodbye = await stream.next_event(timeout=DRAIN_SECONDS)
            assert goodbye is not None, "the stream ended without a reconnect message"
            assert goodbye.event == "reconnect", goodbye
            assert goodbye.retry is not None and goodbye.retry > 0, goodbye
            assert await stream.next(timeout=DRAIN_SECONDS) is None, "more after the goodbye"

        # The drain has begun: readiness is 503 (or the server no longer answers at all), and
        # a new stream is refused (503 `draining`, or no connection).
        assert await _request_on(*idle, "/readyz") in (None, 503)
        with contextlib.suppress(OSError):
            assert (await api.get("/readyz")).status == 503
        status, body = await _new_stream_status(url, league.stream_path)
        assert status in (None, 503), (status, body)
        if status == 503:
            assert b"draining" in body

        code = await asyncio.to_thread(proc.wait, DRAIN_SECONDS + EXIT_MARGIN_SECONDS)
        assert code == 0
        assert time.monotonic() - started < DRAIN_SECONDS + EXIT_MARGIN_SECONDS
    finally:
        idle[1].close()
        for stream in streams:
            await stream.close()
