"""The broker restarted under load: real `matchday serve`, `matchday worker` and `matchday beat`
on their own redis-server (AOF on, so queued tasks survive), restarted several times with
SIGTERM and SIGKILL while scores are posted. The worker must come back by itself, every final
must reach the standings and every committed change must get its audit entry.

Its first run, against celery 5.7.0 / kombu 5.7.0 as they come, reproduced the production crash:
`Restoring 1 unacknowledged message(s)`, then `Unrecoverable error: AttributeError("'NoneType'
object has no attribute 'hostname'")` from kombu's `_connparams`, and the worker stayed down
(docs/operations.md, "The worker died when Redis restarted")."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from kombu import Connection, Consumer, Exchange, Message, Producer, Queue

from tests.e2e.processes import MATCHDAY, free_port, matchday_env, serving, wait_ready
from tests.e2e.test_workers import League, Worker
from tests.support import (
    TEST_SECRET,
    Api,
    create_pg_schema,
    drop_pg_schema,
    eventually,
    pg_schema_url,
)
from workers.celery_app import BROKER_TRANSPORT

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

RESTARTS = 6  # about 30 s on the shared 2-core machine, well inside the test's timeout
TEAMS = 8  # per league: 28 round-robin games each
LEAGUES = 2
VISIBILITY_TIMEOUT = 5  # a task restored from the unacked hash is redelivered after this long
GRACE_SECONDS = 5


class BrokerRedis:
    """A redis-server of this test's own on a fixed port and data dir, so a restart brings
    back what it had (AOF, fsync on every write: SIGKILL loses nothing acknowledged)."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.dir = data_dir
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.dir), "--appendonly", "yes", "--appendfsync", "always"),
                *("--save", "", "--daemonize", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
                if client.ping():
                    break
            assert self.proc.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not answer"
            time.sleep(0.02)
        client.close()

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signum)
        try:
            self.proc.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@dataclass
class Processes:
    tmp_path: Path
    env: dict[str, str]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)

    def start(self, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log_path = self.tmp_path / f"{name}.log"
        log = open(log_path, "wb")  # noqa: SIM115 — closed at teardown
        self.logs.append(log)
        proc = subprocess.Popen(
            [MATCHDAY, *args],
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.started.append(proc)
        return proc, log_path

    def close(self) -> None:
        for proc in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=GRACE_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # pool children too
            proc.wait()
        for log in self.logs:
            log.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerRedis]:
    server = BrokerRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


@pytest.fixture
def schema() -> Iterator[str]:
    name = create_pg_schema()
    try:
        yield name
    finally:
        drop_pg_schema(name)


@pytest.fixture
def env(tmp_path: Path, schema: str, broker: BrokerRedis) -> dict[str, str]:
    return matchday_env(
        tmp_path,
        DATABASE_URL=pg_schema_url(schema),
        REDIS_URL=broker.url,
        REDIS_KEY_PREFIX=f"test-{uuid.uuid4().hex[:12]}:",
        JWT_SECRET=TEST_SECRET,
        TASK_VISIBILITY_TIMEOUT_SECONDS=str(VISIBILITY_TIMEOUT),
        # What a final owes (recompute, audit entry) and no task delivered is finished by the
        # server's sweep after this long; beat's reconcile stays the last resort.
        FOLLOW_UP_GRACE_SECONDS="3",
        RECONCILE_SECONDS="5",
        OUTBOX_SWEEP_SECONDS="0.2",
        RATE_LIMIT_ENABLED="false",
    )


@pytest.fixture
def processes(tmp_path: Path, env: dict[str, str]) -> Iterator[Processes]:
    started = Processes(tmp_path, env)
    try:
        yield started
    finally:
        started.close()


class Scorer:
    """Posts finals to the leagues and keeps what was committed (a 200) and what was not."""

    def __init__(self, leagues: list[League], rng: random.Random) -> None:
        self.leagues = leagues
        self.rng = rng
        self.todo = [(league, index) for league in leagues for index in range(len(league.games))]
        rng.shuffle(self.todo)
        self.committed = 0
        self.refused: list[int] = []

    async def _post(self, league: League, index: int) -> None:
        game = league.games[index]
        home, away = self.rng.randint(0, 4), self.rng.randint(0, 4)
        try:
            reply = await league.api.put(
                f"/api/v1/games/{game['id']}/score",
                {"home_score": home, "away_score": away, "status": "final"},
                token=league.token,
            )
        except OSError:
            reply = None
        if reply is not None and reply.status == 200:
            league.results[game["id"]] = (home, away)
            self.committed += 1
        else:  # not committed: post it again later
            self.refused.append(reply.status if reply else 0)
            self.todo.append((league, index))

    async def burst(self, size: int) -> None:
        batch, self.todo = self.todo[:size], self.todo[size:]
        await asyncio.gather(*(self._post(league, index) for league, index in batch))


def audit_count(schema: str, action: str) -> int:
    engine = sa.create_engine(pg_schema_url(schema))
    try:
        with engine.connect() as conn:
            query = sa.text("SELECT count(*) FROM audit_entries WHERE action = :action")
            return int(conn.scalar(query, {"action": action}) or 0)
    finally:
        engine.dispose()


def unacked_report(client: redis.Redis, prefix: str) -> dict[str, Any]:
    """What is in the unacked hash, for a failure message: each task's name and age, and
    whether the restore sweep's mutex is held (and for how much longer)."""
    now = time.time()
    tasks = {}
    for tag, score in client.zrange(f"{prefix}unacked_index", 0, -1, withscores=True):
        raw = client.hget(f"{prefix}unacked", tag)
        name = json.loads(raw)[0]["headers"].get("task") if raw else None
        tasks[tag.decode()] = {"task": name, "age": round(now - score, 1)}
    in_hash = len(client.hkeys(f"{prefix}unacked"))
    mutex_ttl = client.ttl(f"{prefix}unacked_mutex")
    return {"indexed": tasks, "in_hash": in_hash, "mutex_ttl": mutex_ttl}


def unrecoverable(log: str) -> list[str]:
    return re.findall(r"Unrecoverable error: .*", log)


@pytest.mark.timeout(180)
async def test_the_worker_survives_broker_restarts_under_load(
    tmp_path: Path, schema: str, broker: BrokerRedis, processes: Processes
) -> None:
    started = time.monotonic()
    with serving(tmp_path) as serve:
        _proc, url = serve(processes.env)
        api = Api(url)
        # Two pool processes: one task can be running while the consumer waits in BRPOP for
        # the next, which is the state the crash needs (prefetch 1 never has both).
        worker_proc, worker_log = processes.start(
            "worker", "worker", "--concurrency", "2", "--hostname", "w1@%h"
        )
        beat_proc, _beat_log = processes.start("beat", "beat")
        worker = Worker(worker_proc, worker_log)
        await asyncio.gather(wait_ready(api), worker.ready())
        leagues = [await League.create(api, teams=TEAMS) for _ in range(LEAGUES)]
        scorer = Scorer(leagues, random.Random(7))
        per_round = len(scorer.todo) // (RESTARTS + 1)

        # Load while the broker goes away: a burst of finals, the broker killed while the
        # worker is busy with their audit entries and recomputes, more finals posted while it
        # is down (the server writes their audit entries itself), then the broker back.
        rng = random.Random(11)
        for restart in range(RESTARTS):
            burst = asyncio.create_task(scorer.burst(per_round // 2))
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            broker.stop(signal.SIGKILL if restart % 2 else signal.SIGTERM)
            await burst
            await scorer.burst(per_round - per_round // 2)
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            broker.start()
            await asyncio.sleep(rng.uniform(1.5, 3.0))  # up long enough to reconnect
        while scorer.todo:  # whatever was refused, and the rest, with the broker up
            await scorer.burst(8)
        restarts_done = time.monotonic()

        # Every final reaches the standings (queued recomputes survive in the AOF; those the
        # server could not enqueue while the broker was down are owed rows the sweep re-queues).
        await asyncio.gather(*(league.settled(timeout=30) for league in leagues))

        # Nothing left behind in the broker: what a worker held when its connection died
        # went back to its queue after the visibility timeout and ran; the queues are empty.
        client = redis.Redis.from_url(broker.url)
        prefix = processes.env["REDIS_KEY_PREFIX"]
        left: dict[str, int] = {}

        async def drained() -> bool:
            left["unacked"] = client.hlen(f"{prefix}unacked")
            left.update(
                {queue: client.llen(f"{prefix}{queue}") for queue in ("standings", "audit")}
            )
            return not any(left.values())

        with contextlib.suppress(AssertionError):
            await eventually(drained, timeout=VISIBILITY_TIMEOUT + 20)
        stuck = unacked_report(client, prefix)
        client.close()
        assert not any(left.values()), f"left in the broker: {left}; unacked: {stuck}"

        # Every committed final has its audit entry, exactly once: queued and run by the worker
        # (redelivered if need be), or written by the server while the queue was unreachable.
        async def all_audited() -> bool:
            return await asyncio.to_thread(audit_count, schema, "game.score") >= scorer.committed

        with contextlib.suppress(AssertionError):
            await eventually(all_audited, timeout=5)
        audited = audit_count(schema, "game.score")
        assert audited == scorer.committed, f"{audited} audit entries, {scorer.committed} finals"
        settled = time.monotonic()

        # The worker is alive: `matchday worker` never exited, and after the last outage its
        # Celery worker reconnected (or, had it died, was started again by itself).
        log = worker.log()
        assert worker_proc.poll() is None, f"`matchday worker` exited:\n{log[-4000:]}"
        assert beat_proc.poll() is None, "`matchday beat` exited"
        after_last_loss = log.rsplit("Connection to broker lost", 1)[-1]
        assert re.search(r"Connected to |@\S+ ready\.", after_last_loss), "never reconnected"
        crashes = unrecoverable(log)
        restarted = len(re.findall(r"celery worker exited with status", log))
        handled = log.count("broker channel used after its connection was closed")
        print(  # with -s: what this run went through
            f"\n{RESTARTS} broker restarts survived; start to last final "
            f"{restarts_done - started:.1f}s, settled {settled - restarts_done:.1f}s later; "
            f"{scorer.committed} finals, "
            f"{len(scorer.refused)} refused while down and posted again; "
            f"stale channels handled as lost connections: {handled}; "
            f"unrecoverable errors: {len(crashes)}, restarts by the supervisor: {restarted}"
        )
        # The supervisor is the safety net; the crash itself must not come back either.
        assert not crashes, crashes
        # Caught up soon after the last outage. How long the outages themselves took depends on
        # how busy the shared machine is (the test's own timeout bounds them), so not asserted.
        assert settled - restarts_done < 30


def children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
    return found


@pytest.mark.timeout(60)
async def test_a_worker_that_dies_is_started_again(
    broker: BrokerRedis, processes: Processes
) -> None:
    """Whatever kills the Celery worker (here SIGKILL, as the OOM killer would), `matchday
    worker` starts it again; SIGTERM still stops it, warm, with status 0."""
    proc, log_path = processes.start("worker", "worker", "--concurrency", "1", "--queues", "audit")
    worker = Worker(proc, log_path)
    await worker.ready()
    [celery_main] = children(proc.pid)
    os.kill(celery_main, signal.SIGKILL)

    async def started_again() -> bool:
        assert proc.poll() is None, worker.log()[-4000:]
        return len(re.findall(r"@\S+ ready\.", worker.log())) == 2

    await eventually(started_again, timeout=30)
    assert "celery worker exited with status 137; starting it again in 1s" in worker.log()
    assert children(proc.pid) != [celery_main]

    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 20) == 0
    assert "Warm shutdown" in worker.log()


@pytest.mark.parametrize("transport", ["redis", BROKER_TRANSPORT])
def test_closing_a_collected_connection_is_not_a_crash(broker: BrokerRedis, transport: str) -> None:
    """The crash's exact sequence, without the race: a task channel with a message delivered
    and a BRPOP pending, a second channel on an auto-delete fanout queue (Celery's pidbox), the
    broker killed, then what celery 5.7.0 does: `collect()`, then `close()`; then the late
    ack. kombu's own transport raises AttributeError in both; BrokerTransport, a connection
    error that Celery handles. Should kombu stop raising, BrokerTransport can go
    (docs/operations.md)."""
    conn = Connection(broker.url, transport=transport)
    errors = conn.connection_errors
    work = Queue("work", Exchange("work"), "work")
    tasks = conn.default_channel
    Producer(tasks).publish({"n": 1}, exchange=work.exchange, routing_key="work", declare=[work])
    delivered: list[Message] = []
    consumer = Consumer(tasks, [work], callbacks=[lambda _body, message: delivered.append(message)])
    consumer.qos(prefetch_count=2)
    consumer.consume()
    conn.drain_events(timeout=5)
    assert len(delivered) == 1
    control = conn.channel()
    fanout = Queue("control", Exchange("control", type="fanout"), auto_delete=True)
    Consumer(control, [fanout], no_ack=True).consume()
    assert control.client is not None  # in use, as Celery's is
    tasks._brpop_start()  # waiting for the next task, as the event loop does with a free slot
    broker.stop(signal.SIGKILL)

    with contextlib.suppress(Exception):
        conn.collect(socket_timeout=5)  # Celery ignores whatever this raises
    outcomes = []
    for step in (conn.close, lambda: delivered[0].ack_log_error(logging.getLogger(), errors)):
        try:
            step()
            outcomes.append("ok")
        except errors:
            outcomes.append("connection error")
        except AttributeError as exc:
            outcomes.append(f"AttributeError: {exc}")
    if transport == "redis":  # the bug, as long as kombu has it
        assert all("'hostname'" in outcome for outcome in outcomes), outcomes
    else:
        assert outcomes == ["ok", "ok"]  # both handled as a lost connection
