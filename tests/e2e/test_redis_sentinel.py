"""Redis through Sentinel (REDIS_SENTINELS): a Redis primary, its replica and a Sentinel of the
test's own (deploy/redis/sentinel.conf's settings, shorter timings). The primary is killed
while a scorekeeper posts scores; Sentinel promotes the replica, the server's clients follow it,
and the outbox publishes what it could not meanwhile: a spectator sees every score, in order.
A Celery task also goes through the `sentinel://` broker to a worker process."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from server.app import MatchdayApp, make_app
from tests.e2e.processes import MATCHDAY, free_port, matchday_env
from tests.e2e.test_workers import Worker
from tests.sse_client import SseStream
from tests.support import (
    TEST_SECRET,
    Api,
    create_pg_schema,
    drop_pg_schema,
    eventually,
    pg_schema_url,
    settings_for,
)
from workers.celery_app import RECOMPUTE

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
MASTER = "matchday"
SCORES = 40


@dataclass
class RedisSet:
    """A primary, a replica and one Sentinel (quorum 1) on free ports."""

    root: Path
    primary: int
    replica: int
    sentinel: int
    processes: dict[int, subprocess.Popen[bytes]]

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=2, decode_responses=True)

    def current_primary(self) -> int:
        address: Any = self.client(self.sentinel).sentinel_get_master_addr_by_name(MASTER)
        return int(address[1])

    def kill(self, port: int) -> None:
        proc = self.processes.pop(port)
        proc.kill()
        proc.wait()


def _start(root: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    data = root / str(port)
    data.mkdir()
    return subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(redis.RedisError, OSError, ValueError):
            if check():
                return
        assert time.monotonic() < deadline, "Redis set-up did not come up in time"
        time.sleep(0.05)


@contextlib.contextmanager
def redis_with_sentinel() -> Iterator[RedisSet]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    root = Path(tempfile.mkdtemp(prefix="matchday-sentinel-"))
    primary, replica, sentinel = free_port(), free_port(), free_port()
    processes: dict[int, subprocess.Popen[bytes]] = {}
    try:
        persistence = ("--appendonly", "yes", "--appendfsync", "everysec")
        processes[primary] = _start(root, primary, *persistence)
        processes[replica] = _start(
            root, replica, "--replicaof", "127.0.0.1", str(primary), *persistence
        )
        conf = root / "sentinel.conf"  # Sentinel rewrites its file: one of its own
        conf.write_text(
            f"port {sentinel}\nbind 127.0.0.1\ndir {root}\nlogfile {root}/sentinel.log\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {primary} 1\n"
            f"sentinel down-after-milliseconds {MASTER} 1000\n"
            f"sentinel failover-timeout {MASTER} 5000\n"
        )
        processes[sentinel] = subprocess.Popen(
            ["redis-server", str(conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rs = RedisSet(root, primary, replica, sentinel, processes)
        _wait(lambda: rs.client(replica).info("replication")["master_link_status"] == "up")
        _wait(lambda: len(rs.client(sentinel).sentinel_slaves(MASTER)) == 1)
        yield rs
    finally:
        for proc in processes.values():
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def redis_set() -> Iterator[RedisSet]:
    with redis_with_sentinel() as running:
        yield running


@pytest.fixture
async def app(redis_set: RedisSet, tmp_path: Path) -> AsyncIterator[MatchdayApp]:
    schema = create_pg_schema()
    settings = settings_for(
        pg_schema_url(schema),
        tmp_path,
        REDIS_URL="redis:///0",
        REDIS_SENTINELS=f"127.0.0.1:{redis_set.sentinel}",
        REDIS_SENTINEL_MASTER=MASTER,
        REDIS_KEY_PREFIX=f"test:{uuid.uuid4().hex[:10]}:",
        TASK_RUNNER="local",
        OUTBOX_SWEEP_SECONDS="0.2",
    )
    application = await make_app(settings)
    try:
        yield application
    finally:
        await application.close()
        drop_pg_schema(schema)


@pytest.fixture
async def api(app: MatchdayApp) -> AsyncIterator[Api]:
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    yield Api(f"http://127.0.0.1:{port}")
    server.stop()
    await server.close_all_connections()


async def test_a_primary_failover_loses_no_live_event(
    app: MatchdayApp, api: Api, redis_set: RedisSet
) -> None:
    token = await api.user("keeper@example.org")
    event_id = (await api.post("/api/v1/events", {"name": "Sentinel Cup"}, token=token)).json["id"]
    teams = [
        (await api.post(f"/api/v1/events/{event_id}/teams", {"name": n}, token=token)).json["id"]
        for n in ("Lions", "Tigers")
    ]
    game = await api.post(
        f"/api/v1/events/{event_id}/games",
        {"home_team_id": teams[0], "away_team_id": teams[1]},
        token=token,
    )
    game_id = game.json["id"]
    await app.settled()
    path = f"/api/v1/events/{event_id}/stream"
    stream = await SseStream.open(api.base_url, path)
    assert stream.status == 200
    seen: list[int] = []
    last_id: str | None = None

    async def spectate() -> None:
        """Every score the spectator is sent; reconnects with Last-Event-ID if cut off."""
        nonlocal stream, last_id
        while len(seen) < SCORES:
            message = await stream.next_event(timeout=30)
            if message is None:  # the server ended the stream: resume where we were
                await stream.close()
                headers = {"Last-Event-ID": last_id} if last_id else None
                stream = await SseStream.open(api.base_url, path, headers)
                continue
            last_id = message.id or last_id
            if message.event == "score":
                seen.append(message.json["home_score"])

    spectator = asyncio.create_task(spectate())
    old_primary = redis_set.current_primary()
    for goals in range(1, SCORES + 1):
        if goals == SCORES // 4:
            redis_set.kill(old_primary)  # the primary dies; Sentinel needs ~1-3 s to promote
        reply = await api.put(
            f"/api/v1/games/{game_id}/score",
            {"home_score": goals, "away_score": 0, "status": "live"},
            token=token,
        )
        assert reply.status == 200, reply.body  # scores are stored whatever Redis does
        await asyncio.sleep(0.1)

    await eventually(lambda: _true(redis_set.current_primary() == redis_set.replica), timeout=30)
    await asyncio.wait_for(spectator, 60)
    await stream.close()
    assert seen == list(range(1, SCORES + 1))  # every score, once, in order


async def _true(value: bool) -> bool:
    return value


async def test_celery_tasks_go_through_the_sentinel_broker(
    redis_set: RedisSet, tmp_path: Path
) -> None:
    """The server queues a recompute on the `sentinel://` broker; a `matchday worker` that
    found the same primary through Sentinel runs it."""
    schema = create_pg_schema()
    through_sentinel = {
        "DATABASE_URL": pg_schema_url(schema),
        "REDIS_URL": "redis:///0",
        "REDIS_SENTINELS": f"127.0.0.1:{redis_set.sentinel}",
        "REDIS_SENTINEL_MASTER": MASTER,
        "REDIS_KEY_PREFIX": f"test:{uuid.uuid4().hex[:10]}:",
        "TASK_RUNNER": "celery",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [MATCHDAY, "worker", "--pool", "solo", "--queues", "standings,audit"],
            env=matchday_env(tmp_path, JWT_SECRET=TEST_SECRET, **through_sentinel),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    worker = Worker(proc, log_path)
    app = await make_app(settings_for(pg_schema_url(schema), tmp_path, **through_sentinel))
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    api = Api(f"http://127.0.0.1:{port}")
    try:
        await worker.ready()
        assert "sentinel://" in worker.log()  # Celery's banner names the broker it uses
        token = await api.user("keeper@example.org")
        event_id = (await api.post("/api/v1/events", {"name": "Cup"}, token=token)).json["id"]
        teams = [
            (await api.post(f"/api/v1/events/{event_id}/teams", {"name": n}, token=token)).json[
                "id"
            ]
            for n in ("Lions", "Tigers")
        ]
        game = await api.post(
            f"/api/v1/events/{event_id}/games",
            {"home_team_id": teams[0], "away_team_id": teams[1]},
            token=token,
        )
        final = await api.put(
            f"/api/v1/games/{game.json['id']}/score",
            {"home_score": 2, "away_score": 0, "status": "final"},
            token=token,
        )
        assert final.status == 200, final.body

        async def recomputed() -> bool:
            table = (await api.get(f"/api/v1/events/{event_id}/standings")).json
            return bool(table["rows"]) and table["rows"][0]["points"] == 3

        await eventually(recomputed, timeout=30)
        assert await worker.ran(RECOMPUTE), worker.log()
    finally:
        server.stop()
        await server.close_all_connections()
        await app.close()
        worker.kill()
        drop_pg_schema(schema)
