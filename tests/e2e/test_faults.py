"""Faults a deployment meets, with real `matchday serve` processes (docs/operations.md):
SIGTERM with a request in flight, a `--processes` worker that exits, PostgreSQL restarting."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from models.migrate import upgrade
from tests.e2e.own_postgres import own_postgres
from tests.e2e.processes import Serve, matchday_env, serving, wait_ready
from tests.support import (
    TEST_SECRET,
    Api,
    create_pg_schema,
    drop_pg_schema,
    eventually,
    pg_schema_url,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
DRAIN_SECONDS = 5
LOCK_HELD_AFTER_SIGTERM = 1.0


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with serving(tmp_path) as start:
        yield start


@pytest.fixture
def schema() -> Iterator[str]:
    """A fresh schema on the shared PostgreSQL. Request it before `serve`: servers stop
    before their schema is dropped."""
    name = create_pg_schema()
    yield name
    drop_pg_schema(name)


async def _one_game(api: Api) -> tuple[str, int]:
    """An organiser's token and the id of a scheduled game of theirs."""
    token = await api.user(f"organiser-{uuid.uuid4().hex[:8]}@example.com")
    event = await api.post("/api/v1/events", {"name": "Drain Cup"}, token=token)
    assert event.status == 201, event.body
    for name in ("Lions", "Tigers"):
        team = await api.post(
            f"/api/v1/events/{event.json['id']}/teams", {"name": name}, token=token
        )
        assert team.status == 201, team.body
    schedule = await api.post(
        f"/api/v1/events/{event.json['id']}/schedule", {"format": "round_robin"}, token=token
    )
    assert schedule.status == 201, schedule.body
    return token, schedule.json["games"][0]["id"]


@pytest.fixture
async def database(schema: str) -> AsyncIterator[sa.ext.asyncio.AsyncEngine]:
    """The test's own connections to the server's schema (to hold row locks)."""
    engine = create_async_engine(pg_schema_url(schema))
    yield engine
    await engine.dispose()


async def _blocked_behind(conn: AsyncConnection) -> int:
    """How many sessions wait on a lock this connection holds."""
    me = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
    query = "SELECT count(*) FROM pg_stat_activity WHERE :me = ANY(pg_blocking_pids(pid))"
    return (await conn.execute(sa.text(query), {"me": me})).scalar_one()


def _refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


async def _keep_alive(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """An HTTP/1.1 connection that has served one request and waits, idle, for another."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: matchday\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return reader, writer


# --- SIGTERM (deploys) -----------------------------------------------------------------------


@pytest.mark.parametrize("processes", ["1", "2"])
async def test_sigterm_answers_the_request_in_flight_then_exits(
    processes: str, schema: str, database: Any, serve: Serve, tmp_path: Path
) -> None:
    env = matchday_env(
        tmp_path,
        DATABASE_URL=pg_schema_url(schema),
        JWT_SECRET=TEST_SECRET,
        DRAIN_SECONDS=str(DRAIN_SECONDS),
    )
    proc, url = serve(env, "--processes", processes)
    api = Api(url)
    await wait_ready(api)
    token, game_id = await _one_game(api)
    idle_reader, idle_writer = await _keep_alive(url)

    async with database.connect() as lock:
        await lock.execute(
            sa.text("SELECT id FROM games WHERE id = :id FOR UPDATE"), {"id": game_id}
        )
        score = {"home_score": 3, "away_score": 1, "status": "final"}
        put = asyncio.create_task(api.put(f"/api/v1/games/{game_id}/score", score, token=token))

        async def put_waits_on_the_lock() -> bool:
            return await _blocked_behind(lock) == 1

        await eventually(put_waits_on_the_lock)
        sigterm = time.monotonic()
        proc.send_signal(signal.SIGTERM)

        # Nothing new is accepted, and the idle keep-alive connection is closed at once: it
        # does not hold up the drain.
        async def refused() -> bool:
            return await asyncio.to_thread(_refused, url)

        await eventually(refused, timeout=LOCK_HELD_AFTER_SIGTERM)
        assert await asyncio.wait_for(idle_reader.read(), LOCK_HELD_AFTER_SIGTERM) == b""
        assert not put.done()
        await asyncio.sleep(LOCK_HELD_AFTER_SIGTERM - (time.monotonic() - sigterm))
        await lock.rollback()  # the PUT takes the lock now

    reply = await put
    answered = time.monotonic() - sigterm
    assert reply.status == 200, (reply.status, reply.body)
    assert (reply.json["id"], reply.json["home_score"], reply.json["away_score"]) == (
        game_id,
        3,
        1,
    )
    assert reply.json["status"] == "final"
    async with database.connect() as conn:
        row = (
            await conn.execute(
                sa.text("SELECT home_score, away_score, status FROM games WHERE id = :id"),
                {"id": game_id},
            )
        ).one()
    assert tuple(row) == (3, 1, "final")  # committed

    code = await asyncio.to_thread(proc.wait, DRAIN_SECONDS)
    exited = time.monotonic() - sigterm
    assert code == 0
    assert exited < DRAIN_SECONDS
    idle_writer.close()
    print(f"\nPUT answered {answered:.2f}s after SIGTERM; process exited after {exited:.2f}s")


# --- A serve process dies -------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return {int(line) for line in found.stdout.split()}


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


async def test_a_worker_that_exits_is_replaced_until_the_parent_stops(
    schema: str, serve: Serve, tmp_path: Path
) -> None:
    env = matchday_env(tmp_path, DATABASE_URL=pg_schema_url(schema), JWT_SECRET=TEST_SECRET)
    proc, url = serve(env, "--processes", "2")
    api = Api(url)
    log_file = next(tmp_path.glob("serve-*.log"))

    async def serving(count: int) -> None:
        """Until `count` workers in all have started serving (signals are handled from then
        on: a worker still starting just dies of SIGTERM, with nothing to drain)."""

        async def started() -> bool:
            return log_file.read_text().count(" INFO matchday serving") >= count

        await eventually(started, timeout=30)

    await serving(2)
    originals = _children(proc.pid)
    assert len(originals) == 2, originals

    # A rolling restart by hand: each original worker, sent SIGTERM on its own, drains and
    # exits with status 0, and is replaced; meanwhile the other keeps answering.
    for started, victim in enumerate(sorted(originals), start=3):
        before = _children(proc.pid)
        sent = time.monotonic()
        subprocess.run(["kill", "-TERM", str(victim)], check=True)

        async def replaced(victim: int = victim, before: set[int] = before) -> bool:
            now = _children(proc.pid)
            return victim not in now and len(now) == 2 and len(now - before) == 1

        await eventually(replaced, timeout=DRAIN_SECONDS + 10)
        for _ in range(10):
            assert (await api.get("/healthz")).status == 200
        await serving(started)
        print(f"\nworker {victim} replaced, serving in {time.monotonic() - sent:.2f}s")
    replacements = _children(proc.pid)
    assert not replacements & originals
    for _ in range(10):  # answered by the replacements alone
        assert (await api.get("/api/v1/events")).status == 200
    log = log_file.read_text()
    assert log.count("exited with status 0; restarting it") == 2, log

    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, DRAIN_SECONDS + 5) == 0
    assert not any(_alive(pid) for pid in replacements)
    assert _refused(url)


# --- PostgreSQL restarts --------------------------------------------------------------------


def _log_lines(path: Path, request_id: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("request_id") == request_id]


async def test_postgresql_restart_answers_503_with_one_warning_then_recovers(
    serve: Serve, tmp_path: Path
) -> None:
    with own_postgres() as postgres:
        upgrade(postgres.url)
        env = matchday_env(
            tmp_path, DATABASE_URL=postgres.url, JWT_SECRET=TEST_SECRET, LOG_FORMAT="json"
        )
        proc, url = serve(env)
        api = Api(url)
        await wait_ready(api)
        token, game_id = await _one_game(api)
        log_file = next(tmp_path.glob("serve-*.log"))
        score = {"home_score": 2, "away_score": 2, "status": "final"}

        def request_id(case: str) -> str:
            return f"pg-down-{case}-{uuid.uuid4().hex[:8]}"

        # A request in the middle of its transaction when PostgreSQL stops (its session is
        # ended under it), then requests while it is down (no connection at all).
        engine = create_async_engine(postgres.url)
        lock = await engine.connect()
        await lock.execute(
            sa.text("SELECT id FROM games WHERE id = :id FOR UPDATE"), {"id": game_id}
        )
        in_flight = request_id("in-flight")
        put = asyncio.create_task(
            api.put(
                f"/api/v1/games/{game_id}/score",
                score,
                token=token,
                headers={"X-Request-ID": in_flight},
            )
        )

        async def put_waits_on_the_lock() -> bool:
            return await _blocked_behind(lock) == 1

        await eventually(put_waits_on_the_lock)
        postgres.stop()
        await lock.invalidate()
        await engine.dispose()
        replies = {in_flight: await put}
        anonymous, authenticated = request_id("anonymous"), request_id("authenticated")
        replies[anonymous] = await api.get("/api/v1/events", headers={"X-Request-ID": anonymous})
        replies[authenticated] = await api.post(
            "/api/v1/events",
            {"name": "Down Cup"},
            token=token,
            headers={"X-Request-ID": authenticated},
        )
        for rid, reply in replies.items():
            assert reply.status == 503, (rid, reply.status, reply.body)
            assert reply.error_code() == "database_unavailable"
            assert reply.json["error"]["request_id"] == rid

        for rid in replies:

            async def logged(rid: str = rid) -> bool:
                return bool(_log_lines(log_file, rid))

            await eventually(logged)
        await asyncio.sleep(0.5)  # anything else these requests would log comes with them
        for rid in replies:
            # One line: the access log's, at WARNING, saying why; no traceback. (A request
            # slower than SLOW_REQUEST_MS on a loaded machine also gets the slow-request line,
            # which is not about the failure.)
            lines = [
                line
                for line in _log_lines(log_file, rid)
                if not line["message"].startswith("slow request")
            ]
            assert len(lines) == 1, lines
            (line,) = lines
            assert line["level"] == "warning", line
            assert line["logger"] == "tornado.access", line
            assert line["message"].startswith("503 "), line
            assert "database unavailable: " in line["message"], line
            assert "exception" not in line, line
        everything = [json.loads(line) for line in log_file.read_text().splitlines()]
        assert not [line for line in everything if line["level"] in ("error", "critical")]
        assert "Traceback" not in log_file.read_text()

        postgres.start()
        reply = await api.get("/api/v1/events")  # the pool replaces its dead connections
        assert reply.status == 200, (reply.status, reply.body)
        reply = await api.put(f"/api/v1/games/{game_id}/score", score, token=token)
        assert reply.status == 200, (reply.status, reply.body)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 15) == 0
