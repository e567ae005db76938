"""The processes a fault scenario runs and breaks: a redis-server of its own, `matchday serve`
on a fixed port (so a restarted server is found where the old one was), `matchday worker`,
and the database (a fresh schema on the shared PostgreSQL, or a PostgreSQL of its own for the
scenario that restarts it). The shared PostgreSQL and Redis are never restarted or flushed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

import redis.asyncio as aioredis
import sqlalchemy as sa

from tests.e2e.processes import MATCHDAY, free_port, matchday_env, wait_ready
from tests.support import TEST_SECRET, Api

GRACE_SECONDS = 5
# Short enough for the scenarios' bounds, long enough to be realistic: what a lost task owes
# is finished by the server's sweep after FOLLOW_UP_GRACE_SECONDS; a task held by a dead
# worker is redelivered after TASK_VISIBILITY_TIMEOUT_SECONDS.
SCENARIO_SETTINGS = {
    "JWT_SECRET": TEST_SECRET,
    "RATE_LIMIT_ENABLED": "false",  # every client comes from 127.0.0.1
    "SSE_MAX_CONNECTIONS_PER_IP": "1000",
    "SSE_HEARTBEAT_SECONDS": "2",
    "SSE_RETRY_MS": "500",
    "OUTBOX_SWEEP_SECONDS": "0.2",
    "FOLLOW_UP_GRACE_SECONDS": "3",
    "TASK_VISIBILITY_TIMEOUT_SECONDS": "5",
    "DRAIN_SECONDS": "5",
    "LOG_LEVEL": "INFO",
}


def alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(pid: int) -> list[int]:
    """Live child processes of `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return sorted(found)


class OwnRedis:
    """A redis-server of the scenario's own on a fixed port and data directory. With `aof`,
    every write is fsynced (`--appendfsync always`): a restart, even after SIGKILL, brings back
    everything acknowledged. Without it, a restart comes back empty (data lost)."""

    def __init__(self, data_dir: Path, *, aof: bool) -> None:
        self.port = free_port()
        self.dir = data_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.aof = aof
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        persistence = (
            ("--appendonly", "yes", "--appendfsync", "always")
            if self.aof
            else ("--appendonly", "no")
        )
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.dir), *persistence, "--save", "", "--daemonize", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = aioredis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        try:
            while True:
                with contextlib.suppress(aioredis.ConnectionError, aioredis.BusyLoadingError):
                    if await client.ping():
                        return
                assert self.proc.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not answer"
                await asyncio.sleep(0.02)
        finally:
            await client.aclose()

    async def stop(self, signum: int = signal.SIGTERM) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)
        try:
            await asyncio.to_thread(proc.wait, GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait)

    async def flushall(self) -> None:
        client = aioredis.Redis(port=self.port)
        try:
            await client.flushall()
        finally:
            await client.aclose()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Stack:
    """One scenario's processes. `serve` listens on `self.port` whenever it runs."""

    tmp_path: Path
    database_url: str
    redis: OwnRedis
    processes: int = 1  # `matchday serve --processes`
    port: int = field(default_factory=free_port)
    serve_proc: subprocess.Popen[bytes] | None = None
    worker_proc: subprocess.Popen[bytes] | None = None
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)
    prefix: str = field(default_factory=lambda: f"faults-{uuid.uuid4().hex[:10]}:")
    serve_starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return matchday_env(
            self.tmp_path,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis.url,
            REDIS_KEY_PREFIX=self.prefix,
            **SCENARIO_SETTINGS,
        )

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"{name}.log", "ab")  # noqa: SIM115 — closed in close()
        self.logs.append(log)
        proc = subprocess.Popen(
            [MATCHDAY, *args],
            env=self.env(),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.started.append(proc)
        return proc

    def start_serve(self) -> None:
        """`matchday serve` on this stack's port (again, after a stop)."""
        self.serve_starts += 1
        args = ("serve", "--port", str(self.port), "--processes", str(self.processes))
        self.serve_proc = self._spawn("serve", *args)

    def start_worker(self, concurrency: int = 1) -> None:
        args = ("worker", "--concurrency", str(concurrency), "--hostname", "faults@%h")
        self.worker_proc = self._spawn("worker", *args)

    async def ready(self) -> None:
        await wait_ready(Api(self.url), timeout=60)
        if self.worker_proc is not None:
            log = self.tmp_path / "worker.log"

            async def worker_ready() -> bool:
                assert self.worker_proc is not None and self.worker_proc.poll() is None
                return b" ready." in log.read_bytes()

            deadline = time.monotonic() + 60
            while not await worker_ready():
                assert time.monotonic() < deadline, "the worker never became ready"
                await asyncio.sleep(0.1)

    def serve_workers(self) -> list[int]:
        """The pids answering requests: the `--processes` children, or serve itself."""
        assert self.serve_proc is not None
        if self.processes == 1:
            return [self.serve_proc.pid]
        return children(self.serve_proc.pid)

    def serving_lines(self) -> int:
        """How many times a serve process has logged that it serves (starts, replacements)."""
        return (self.tmp_path / "serve.log").read_text(errors="replace").count(" matchday serving")

    def celery_worker(self) -> int | None:
        """The Celery worker process that `matchday worker` runs (and restarts) as its child."""
        if self.worker_proc is None:
            return None
        found = children(self.worker_proc.pid)
        return found[0] if found else None

    def alive(self) -> dict[str, bool]:
        """Every process this scenario expects to be running, and whether it is."""
        status = {"redis-server": self.redis.alive()}
        if self.serve_proc is not None:
            status["matchday serve"] = self.serve_proc.poll() is None
            if self.processes > 1:
                live = [pid for pid in self.serve_workers() if alive(pid)]
                status[f"serve children ({self.processes})"] = len(live) == self.processes
        if self.worker_proc is not None:
            status["matchday worker"] = self.worker_proc.poll() is None
            celery = self.celery_worker()
            status["celery worker"] = celery is not None and alive(celery)
        return status

    def worker_connected_after(self, wall: float) -> float | None:
        """Seconds from `wall` (Unix time) to the worker's first `Connected to` broker line
        at or after it, or None."""
        for line in self.log("worker").splitlines():
            if "celery.worker.consumer.connection Connected to" not in line:
                continue
            with contextlib.suppress(ValueError):
                at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                if at >= wall:
                    return at - wall
        return None

    def log(self, name: str) -> str:
        path = self.tmp_path / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        for proc in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=GRACE_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # children too, even if the parent is gone
            proc.wait()
        for log in self.logs:
            log.close()


class Database:
    """The scenario's own look at the database: what was committed, what is still owed."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, pool_pre_ping=True)

    def _scalar(self, query: str, **params: object) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.text(query), params) or 0)

    async def scalar(self, query: str, **params: object) -> int:
        return await asyncio.to_thread(self._scalar, query, **params)

    async def committed_changes(self, event_id: int) -> int:
        """Score changes committed to the event's games: each one raised a version by 1
        from the 1 a game is created with."""
        return await self.scalar(
            "SELECT coalesce(sum(version - 1), 0) FROM games WHERE event_id = :e", e=event_id
        )

    async def score_audit_rows(self, event_id: int) -> int:
        return await self.scalar(
            "SELECT count(*) FROM audit_entries WHERE action = 'game.score' "
            "AND target_type = 'game' AND target_id IN (SELECT id FROM games WHERE event_id = :e)",
            e=event_id,
        )

    async def owed(self) -> dict[str, int]:
        """Work committed changes still owe: unpublished events, unwritten audit entries,
        recomputes not yet done."""
        return {
            table: await self.scalar(f"SELECT count(*) FROM {table}")
            for table in ("outbox", "pending_audits", "pending_recomputes")
        }

    def dispose(self) -> None:
        self.engine.dispose()
