"""The Celery path with real processes: `matchday serve` + `matchday worker` on the real
PostgreSQL and Redis. Standings, audit writes and recomputes happen in the worker; the serve
process only enqueues them (TASK_RUNNER=auto with REDIS_URL set means Celery)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from config.settings import load_settings
from models.audit_entries import new_record
from models.domain.standings import Result, Scoring, TeamEntry, compute_standings
from tests.e2e.processes import MATCHDAY, free_port, matchday_env, serving, wait_ready
from tests.sse_client import SseMessage, SseStream
from tests.support import (
    REDIS_URL,
    STRONG_PASSWORD,
    TEST_SECRET,
    Api,
    create_pg_schema,
    delete_redis_keys,
    drop_pg_schema,
    eventually,
    pg_schema_url,
)
from workers.celery_app import (
    ANSWER_QUESTION,
    RECOMPUTE,
    RECORD_AUDIT,
    RECORD_AUDITS,
    make_celery,
)
from workers.celery_tasks import pending_recompute_key

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ADMIN_EMAIL = "boss@example.com"
ADMIN_PASSWORD = "a very long admin password"
VISIBILITY_TIMEOUT = 5
GRACE_SECONDS = 5
REDIS_NO_DISK = ("--save", "", "--appendonly", "no")


# --- processes --------------------------------------------------------------------------------


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def ready(self, timeout: float = 30) -> None:
        async def check() -> bool:
            assert self.proc.poll() is None, f"worker exited early:\n{self.log()}"
            return re.search(r"@\S+ ready\.", self.log()) is not None

        await eventually(check, timeout=timeout)

    def succeeded(self, task: str) -> list[str]:
        """Ids of the tasks of this name the worker reports as succeeded."""
        return re.findall(rf"Task {re.escape(task)}\[([0-9a-f-]+)\] succeeded", self.log())

    async def ran(self, task: str, timeout: float = 10) -> bool:
        """Whether `task` succeeded, waiting a little: the worker logs success only after its
        commit, which a test may already have seen through the API."""

        async def logged() -> bool:
            return bool(self.succeeded(task))

        with contextlib.suppress(AssertionError):
            await eventually(logged, timeout=timeout)
        return bool(self.succeeded(task))

    def received(self, task_id: str) -> bool:
        return re.search(rf"Task \S+\[{re.escape(task_id)}\] received", self.log()) is not None

    def finished_all(self, task: str) -> bool:
        """Every task of this name the worker received has succeeded (none running)."""
        log = self.log()
        received = set(re.findall(rf"Task {re.escape(task)}\[([0-9a-f-]+)\] received", log))
        return received <= set(self.succeeded(task))

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its prefork child."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL whatever is left after a grace period."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=GRACE_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # pool children too, even if the parent is gone
    proc.wait()


@dataclass
class Stack:
    """One test's processes: `matchday serve`, `matchday worker`s, an extra redis-server."""

    tmp_path: Path
    schema: str
    prefix: str
    serve_start: Callable[..., tuple[subprocess.Popen[bytes], str]]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        settings = {
            "DATABASE_URL": pg_schema_url(self.schema),
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": self.prefix,
            "JWT_SECRET": TEST_SECRET,
            "TASK_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT),
            **extra,
        }
        return matchday_env(self.tmp_path, **settings)

    def serve(self, **extra: str) -> Api:
        """Start `matchday serve`; wait for it with `await wait_ready(api)`."""
        _proc, url = self.serve_start(self.env(**extra))
        return Api(url)

    def worker(
        self, name: str, queues: str = "standings,analytics,audit,webhooks", **extra: str
    ) -> Worker:
        log_path = self.tmp_path / f"worker-{name}.log"
        log = open(log_path, "wb")  # noqa: SIM115 — closed at teardown
        self.logs.append(log)
        command = [MATCHDAY, "worker", "--concurrency", "1", "--hostname", f"{name}@%h"]
        proc = subprocess.Popen(
            [*command, "--queues", queues],
            env=self.env(**extra),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.processes.append(proc)
        return Worker(proc, log_path)

    def redis_server(self) -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        proc = subprocess.Popen(
            [*("redis-server", "--port", str(port), "--bind", "127.0.0.1"), *REDIS_NO_DISK],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes.append(proc)
        return proc, port

    def close(self) -> None:
        for proc in self.processes:
            _stop(proc)
        for log in self.logs:
            log.close()


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's schema, with the admin account created by `matchday create-admin`."""
    name = create_pg_schema()
    try:
        env = matchday_env(
            tmp_path_factory.mktemp("admin"),
            DATABASE_URL=pg_schema_url(name),
            JWT_SECRET=TEST_SECRET,
        )
        created = subprocess.run(
            [MATCHDAY, "create-admin", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
        yield name
    finally:
        drop_pg_schema(name)


@pytest.fixture(scope="module")
def db(schema: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_schema_url(schema))
    yield engine
    engine.dispose()


@pytest.fixture
def stack(tmp_path: Path, schema: str) -> Iterator[Stack]:
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    with serving(tmp_path) as serve_start:
        processes = Stack(tmp_path, schema, prefix, serve_start)
        try:
            yield processes
        finally:
            processes.close()
    asyncio.run(delete_redis_keys(prefix))


# --- a league ---------------------------------------------------------------------------------


class League:
    """A public round-robin event, its organiser and the results posted to it."""

    def __init__(self, api: Api, token: str, event: dict, teams: list[dict], games: list[dict]):
        self.api, self.token, self.event = api, token, event
        self.teams, self.games = teams, games
        self.results: dict[int, tuple[int, int]] = {}

    @property
    def id(self) -> int:
        return int(self.event["id"])

    @property
    def stream_path(self) -> str:
        return f"/api/v1/events/{self.id}/stream"

    @classmethod
    async def create(cls, api: Api, teams: int) -> League:
        token = await api.user(f"organiser-{uuid.uuid4().hex[:8]}@example.com")
        event = await api.post(
            "/api/v1/events", {"name": "Worker Cup", "visibility": "public"}, token=token
        )
        assert event.status == 201, event.body
        event_id = event.json["id"]
        created = []
        for index in range(teams):
            team = await api.post(
                f"/api/v1/events/{event_id}/teams", {"name": f"Team {index:02d}"}, token=token
            )
            assert team.status == 201, team.body
            created.append(team.json)
        schedule = await api.post(
            f"/api/v1/events/{event_id}/schedule", {"format": "round_robin"}, token=token
        )
        assert schedule.status == 201, schedule.body
        return cls(api, token, event.json, created, schedule.json["games"])

    async def score(self, index: int, home: int, away: int) -> None:
        game = self.games[index]
        reply = await self.api.put(
            f"/api/v1/games/{game['id']}/score",
            {"home_score": home, "away_score": away, "status": "final"},
            token=self.token,
        )
        assert reply.status == 200, (reply.status, reply.body)
        self.results[game["id"]] = (home, away)

    async def score_many(self, indexes: range, rng: random.Random, batch: int = 20) -> None:
        """Post random finals for these games, `batch` requests at a time."""
        todo = list(indexes)
        for start in range(0, len(todo), batch):
            await asyncio.gather(
                *(self.score(i, rng.randint(0, 4), rng.randint(0, 4)) for i in todo[start:][:batch])
            )

    def expected_rows(self) -> list[dict[str, Any]]:
        """The table the pure rules make of every result posted so far."""
        results = [
            Result(g["home_team_id"], g["away_team_id"], *self.results[g["id"]])
            for g in self.games
            if g["id"] in self.results
        ]
        teams = [TeamEntry(t["id"], t["name"], t["group"]) for t in self.teams]
        rows = compute_standings(
            teams, results, Scoring(**self.event["scoring"]), self.event["tiebreakers"]
        )
        return [row.as_dict() for row in rows]

    async def standings(self) -> dict[str, Any]:
        reply = await self.api.get(f"/api/v1/events/{self.id}/standings")
        assert reply.status == 200, reply.body
        return reply.json

    async def settled(self, timeout: float = 30) -> dict[str, Any]:
        """Wait until GET /standings shows exactly the expected table; returns it."""
        expected = self.expected_rows()
        latest: dict[str, Any] = {}

        async def check() -> bool:
            latest.update(await self.standings())
            return latest["rows"] == expected

        try:
            await eventually(check, timeout=timeout)
        except AssertionError:
            raise AssertionError(f"standings never became {expected}; last: {latest}") from None
        return latest


async def idle(worker: Worker, stack: Stack, league: League) -> bool:
    """No recompute of this league is queued (its coalescing marker is gone) or running (the
    worker finished every one it received): its table and version stay as they are."""
    broker = redis.Redis.from_url(REDIS_URL)
    try:
        queued = broker.exists(pending_recompute_key(stack.prefix, league.id))
    finally:
        broker.close()
    return not queued and worker.finished_all(RECOMPUTE)


async def open_stream(api: Api, path: str) -> SseStream:
    stream = await asyncio.wait_for(SseStream.open(api.base_url, path), 10)
    assert stream.status == 200, (stream.status, stream.body)
    first = await stream.next()
    assert first is not None and first.retry is not None, first
    return stream


async def next_matching(
    stream: SseStream, match: Callable[[SseMessage], bool], timeout: float = 20
) -> SseMessage:
    """The first event for which `match` is true (skipping others); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    skipped = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await stream.next_event(timeout=left)
        except TimeoutError:
            break
        assert message is not None, "the stream ended"
        if match(message):
            return message
        skipped.append(message.event)
    raise AssertionError(f"no matching event within {timeout}s; skipped {skipped}")


async def admin_token(api: Api) -> tuple[str, int]:
    reply = await api.post("/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert reply.status == 200, reply.body
    token = reply.json["access_token"]
    me = await api.get("/api/v1/me", token=token)
    assert me.status == 200 and me.json["role"] == "admin", me.body
    return token, me.json["id"]


async def audit_entries(api: Api, token: str, action: str) -> list[dict[str, Any]]:
    reply = await api.get(f"/api/v1/admin/audit?action={action}&per_page=100", token=token)
    assert reply.status == 200, reply.body
    return reply.json["items"]


def audit_rows(db: sa.Engine, where: str, **params: Any) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM audit_entries WHERE {where}"), params)
        return [dict(row._mapping) for row in rows]


# --- 1. a final score ------------------------------------------------------------------------


async def test_a_final_score_leads_to_a_standings_event_computed_by_the_worker(
    stack: Stack,
) -> None:
    api = stack.serve()
    worker = stack.worker("w1")
    await asyncio.gather(wait_ready(api), worker.ready())
    league = await League.create(api, teams=4)
    stream = await open_stream(api, league.stream_path)
    try:
        await league.score(0, 3, 1)
        expected = league.expected_rows()
        message = await next_matching(
            stream, lambda m: m.event == "standings" and m.json["rows"] == expected
        )
    finally:
        await stream.close()
    table = await league.settled()
    assert table["rows"] == message.json["rows"]
    assert table["version"] >= message.json["version"]
    assert await worker.ran("matchday.recompute_standings"), "the worker ran no recompute"
    winner = next(r for r in table["rows"] if r["team_id"] == league.games[0]["home_team_id"])
    assert (winner["rank"], winner["won"], winner["points"]) == (1, 1, 3)
    # The worker's table says why: the winner is above the next rank on points.
    assert winner["decided_by"]["rule"] == "points", winner


# --- 2. a correction -------------------------------------------------------------------------


async def test_a_correction_publishes_correction_and_standings_and_is_audited(
    stack: Stack,
) -> None:
    api = stack.serve()
    worker = stack.worker("w1")
    await asyncio.gather(wait_ready(api), worker.ready())
    token, admin_id = await admin_token(api)
    league = await League.create(api, teams=3)
    await league.score(0, 2, 0)
    await league.settled()
    game = league.games[0]
    stream = await open_stream(api, league.stream_path)
    try:
        reply = await api.post(
            f"/api/v1/admin/games/{game['id']}/corrections",
            {"home_score": 0, "away_score": 2, "reason": "scorer swapped the teams"},
            token=token,
        )
        assert reply.status == 200, reply.body
        assert (reply.json["home_score"], reply.json["away_score"]) == (0, 2)
        league.results[game["id"]] = (0, 2)
        expected = league.expected_rows()
        correction = await next_matching(stream, lambda m: m.event == "correction")
        assert correction.json["game"]["id"] == game["id"]
        assert (correction.json["game"]["home_score"], correction.json["game"]["away_score"]) == (
            0,
            2,
        )
        assert correction.json["reason"] == "scorer swapped the teams"
        await next_matching(stream, lambda m: m.event == "standings" and m.json["rows"] == expected)
    finally:
        await stream.close()
    await league.settled()
    entries: list[dict[str, Any]] = []

    async def audited() -> bool:
        entries[:] = await audit_entries(api, token, "game.correct")
        return len(entries) >= 1

    await eventually(audited, timeout=20)
    assert len(entries) == 1, entries
    entry = entries[0]
    assert entry["actor_id"] == admin_id
    assert (entry["target_type"], entry["target_id"]) == ("game", game["id"])
    assert entry["at"]
    assert entry["details"]["reason"] == "scorer swapped the teams"
    assert entry["details"]["old"] == {"home_score": 2, "away_score": 0}
    assert entry["details"]["new"] == {"home_score": 0, "away_score": 2}
    assert await worker.ran(RECORD_AUDITS), "audit entries are written by the worker"


# --- 3. a worker killed with SIGKILL ---------------------------------------------------------


async def test_tasks_of_a_killed_worker_are_finished_by_a_new_worker(
    stack: Stack, db: sa.Engine
) -> None:
    api = stack.serve()
    await wait_ready(api)
    league = await League.create(api, teams=10)  # 45 games
    rng = random.Random(3)
    await league.score_many(range(30), rng)  # no worker yet: the queues fill up
    scored = "action = 'game.score' AND target_id = ANY(:games)"
    game_ids = [g["id"] for g in league.games]
    assert audit_rows(db, scored, games=game_ids) == []  # nothing wrote them but a worker

    broker = redis.Redis.from_url(REDIS_URL)
    unacked = f"{stack.prefix}unacked"
    worker_a = stack.worker("a")
    try:
        # Kill A in the middle of the backlog, while it holds an unacknowledged task. It is
        # stopped (SIGSTOP) before the look at what it holds, so that it cannot acknowledge
        # its last task between that look and the kill; if it holds nothing, it goes on.
        async def caught_holding() -> bool:
            assert worker_a.proc.poll() is None, worker_a.log()
            if not audit_rows(db, scored, games=game_ids):
                return False
            os.killpg(worker_a.proc.pid, signal.SIGSTOP)
            if broker.hlen(unacked) > 0:
                return True
            os.killpg(worker_a.proc.pid, signal.SIGCONT)
            return False

        await eventually(caught_holding, timeout=30)
        held = [json.loads(raw)[0]["headers"] for raw in broker.hvals(unacked)]
        worker_a.kill()
    finally:
        broker.close()
    assert held, "worker A held no task when killed (the backlog drained too fast)"

    await league.score_many(range(30, 45), rng)  # no worker at all meanwhile
    stale = await league.standings()
    assert stale["rows"] != league.expected_rows()

    # Redelivery: a starting worker returns to the queue the unacknowledged tasks delivered
    # more than the visibility timeout ago (by the delivery time the broker recorded).
    async def redeliverable() -> bool:
        index = redis.Redis.from_url(REDIS_URL)
        try:
            newest = index.zrange(f"{unacked}_index", -1, -1, withscores=True)
        finally:
            index.close()
        return not newest or newest[0][1] < time.time() - VISIBILITY_TIMEOUT

    await eventually(redeliverable, timeout=VISIBILITY_TIMEOUT + 30)
    worker_b = stack.worker("b")
    await worker_b.ready()
    await league.settled(timeout=40)

    async def all_audited() -> bool:
        return len(audit_rows(db, scored, games=game_ids)) == 45

    await eventually(all_audited, timeout=30)
    for headers in held:  # what A held when it died, B received again
        assert worker_b.received(headers["id"]), (headers, worker_b.log())
    rows = audit_rows(db, scored, games=game_ids)
    assert len({row["uid"] for row in rows}) == len(rows) == 45


# --- 4. the same audit task twice ------------------------------------------------------------


async def test_the_same_audit_task_delivered_twice_writes_one_row(
    stack: Stack, db: sa.Engine
) -> None:
    worker = stack.worker("w1")
    await worker.ready()
    uid = uuid.uuid4().hex
    record = new_record(
        uid=uid,
        actor_id=None,
        action="test.dup",
        target_type=None,
        target_id=None,
        request_id="r",
        ip="127.0.0.1",
        details={},
    )
    app = make_celery(load_settings(stack.env()))

    def send_twice() -> list[str]:
        return [app.send_task(RECORD_AUDIT, args=[record]).id for _ in range(2)]

    try:
        task_ids = await asyncio.to_thread(send_twice)
    finally:
        app.close()

    async def both_ran() -> bool:
        return set(task_ids) <= set(worker.succeeded(RECORD_AUDIT))

    await eventually(both_ran, timeout=20)
    rows = audit_rows(db, "uid = :uid", uid=uid)
    assert len(rows) == 1, rows
    assert rows[0]["action"] == "test.dup"
    pattern = rf"Task {re.escape(RECORD_AUDIT)}\[(?:{'|'.join(task_ids)})\] succeeded.*: (\w+)"
    results = re.findall(pattern, worker.log())
    assert sorted(results) == ["False", "True"], results


# --- 5. the broker unreachable ---------------------------------------------------------------


async def test_audit_entries_land_when_the_broker_is_unreachable(
    stack: Stack, db: sa.Engine
) -> None:
    broker, port = stack.redis_server()
    api = stack.serve(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    await wait_ready(api)
    broker.kill()
    broker.wait()

    # Each audited request must still succeed, promptly: the server writes the entry itself.
    async def timed(method: str, path: str, body: Any, token: str | None = None) -> Any:
        started = time.monotonic()
        reply = await api.request(method, path, body, token=token)
        took = time.monotonic() - started
        assert 200 <= reply.status < 300, (method, path, reply.status, reply.body)
        assert took < 5, f"{method} {path} took {took:.1f}s with the broker down"
        return reply.json

    email = f"offline-{uuid.uuid4().hex[:8]}@example.com"
    credentials = {"email": email, "password": STRONG_PASSWORD}
    user_id = (
        await timed("POST", "/api/v1/auth/register", {**credentials, "display_name": "Offline"})
    )["user"]["id"]
    token = (await timed("POST", "/api/v1/auth/login", credentials))["access_token"]
    event = await timed(
        "POST", "/api/v1/events", {"name": "Offline Cup", "visibility": "public"}, token
    )

    # The records go to the broker after the answer (in batches); when it cannot be reached
    # the server writes them itself, within moments, not at the sweep's grace.
    by_target = "action = :action AND target_id = :target"

    async def landed() -> bool:
        wanted = (
            ("user.register", user_id),
            ("user.login", user_id),
            ("event.create", event["id"]),
        )
        return all(audit_rows(db, by_target, action=a, target=t) for a, t in wanted)

    await eventually(landed, timeout=10)
    assert len(audit_rows(db, by_target, action="user.register", target=user_id)) == 1
    assert len(audit_rows(db, by_target, action="user.login", target=user_id)) == 1
    created = audit_rows(db, by_target, action="event.create", target=event["id"])
    assert len(created) == 1 and created[0]["actor_id"] == user_id


# --- 6. a 200-post burst ---------------------------------------------------------------------


async def test_a_burst_of_200_finals_is_coalesced_into_few_recomputes(stack: Stack) -> None:
    api = stack.serve()
    worker = stack.worker("w1")
    await asyncio.gather(wait_ready(api), worker.ready())
    league = await League.create(api, teams=21)  # 210 games
    await league.settled()
    await eventually(lambda: idle(worker, stack, league), timeout=20)  # no recompute left
    before = await league.standings()
    recomputes_before = len(worker.succeeded("matchday.recompute_standings"))

    stream = await open_stream(api, league.stream_path)
    tables: list[SseMessage] = []

    async def collect() -> None:
        while (message := await stream.next_event(timeout=60)) is not None:
            if message.event == "standings":
                tables.append(message)

    collector = asyncio.create_task(collect())
    try:
        await league.score_many(range(200), random.Random(6), batch=25)
        await league.settled(timeout=60)
        expected = league.expected_rows()

        async def streamed() -> bool:  # the newest `standings` event has every result too
            assert not collector.done(), collector
            return bool(tables) and tables[-1].json["rows"] == expected

        await eventually(streamed, timeout=20)
    finally:
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
        await stream.close()

    # Recomputes the worker ran for the burst, counted twice: its log and the snapshot version.
    counts: list[int] = []

    async def counted() -> bool:
        version = (await league.standings())["version"]
        ran = len(worker.succeeded("matchday.recompute_standings")) - recomputes_before
        counts[:] = [ran, version - before["version"]]
        return counts[0] == counts[1]

    await eventually(counted, timeout=10)
    assert 1 <= counts[0] <= 100, f"{counts[0]} recomputes for 200 posts"


# --- 7. admin endpoints ----------------------------------------------------------------------


async def test_admin_endpoints_refuse_non_admins_and_anonymous_callers(stack: Stack) -> None:
    api = stack.serve()
    await wait_ready(api)
    admin, _admin_id = await admin_token(api)
    league = await League.create(api, teams=2)
    await league.score(0, 1, 0)
    member = await api.register(f"member-{uuid.uuid4().hex[:8]}@example.com")
    user_token = await api.login(member["email"])
    calls = [
        (
            "POST",
            f"/api/v1/admin/games/{league.games[0]['id']}/corrections",
            {"home_score": 0, "away_score": 1, "reason": "no"},
        ),
        ("POST", f"/api/v1/admin/events/{league.id}/recompute", None),
        ("GET", "/api/v1/admin/audit", None),
        ("POST", f"/api/v1/admin/users/{member['id']}/role", {"role": "admin"}),
    ]
    for method, path, body in calls:
        for token, status in ((league.token, 403), (user_token, 403), (None, 401)):
            reply = await api.request(method, path, body, token=token)
            assert reply.status == status, (method, path, token is None, reply.status, reply.body)
    # Nothing changed: the game keeps its score, the member their role.
    game = (await api.get(f"/api/v1/games/{league.games[0]['id']}")).json
    assert (game["home_score"], game["away_score"]) == (1, 0)
    me = (await api.get("/api/v1/me", token=user_token)).json
    assert me["role"] == "user"

    # Promoted, the member passes; demoted again, refused again.
    promote = f"/api/v1/admin/users/{member['id']}/role"
    assert (await api.post(promote, {"role": "admin"}, token=admin)).status == 200
    assert (await api.get("/api/v1/admin/audit", token=user_token)).status == 200
    assert (await api.post(promote, {"role": "user"}, token=admin)).status == 200
    assert (await api.get("/api/v1/admin/audit", token=user_token)).status == 403


# --- 8. an admin recompute -------------------------------------------------------------------


async def test_an_admin_recompute_is_accepted_and_publishes_standings(stack: Stack) -> None:
    api = stack.serve()
    worker = stack.worker("w1")
    await asyncio.gather(wait_ready(api), worker.ready())
    token, _admin_id = await admin_token(api)
    league = await League.create(api, teams=3)
    await league.score(0, 1, 1)
    await league.settled()
    await eventually(lambda: idle(worker, stack, league), timeout=20)  # no recompute left
    before = await league.standings()
    stream = await open_stream(api, league.stream_path)
    try:
        reply = await api.post(f"/api/v1/admin/events/{league.id}/recompute", token=token)
        assert reply.status == 202, reply.body
        task_id = reply.json["task_id"]
        assert isinstance(task_id, str) and task_id
        message = await next_matching(
            stream,
            lambda m: m.event == "standings" and m.json["version"] > before["version"],
        )
    finally:
        await stream.close()
    assert message.json["rows"] == league.expected_rows()

    async def ran() -> bool:
        return task_id in worker.succeeded("matchday.recompute_standings")

    await eventually(ran, timeout=10)


# --- 9. request ids reach the worker -----------------------------------------------------------


async def test_the_request_id_travels_with_the_task_into_the_worker_log(stack: Stack) -> None:
    api = stack.serve()
    worker = stack.worker("w1")
    await asyncio.gather(wait_ready(api), worker.ready())
    league = await League.create(api, teams=2)
    game = league.games[0]

    async def schedule_recomputed() -> bool:
        return bool(worker.succeeded("matchday.recompute_standings"))

    # While the schedule's recompute is still queued, the score's would be coalesced into it
    # (and carry the schedule request's id): let it run first.
    await eventually(schedule_recomputed, timeout=20)
    reply = await api.put(
        f"/api/v1/games/{game['id']}/score",
        {"home_score": 2, "away_score": 0, "status": "final"},
        token=league.token,
        headers={"X-Request-ID": "req-travels-42"},
    )
    assert reply.status == 200 and reply.headers["X-Request-ID"] == "req-travels-42"

    async def logged() -> bool:
        lines = [line for line in worker.log().splitlines() if "req-travels-42" in line]
        tasks = {
            task
            for task in ("recompute_standings", "record_audit")
            if any(task in line for line in lines)
        }
        return tasks == {"recompute_standings", "record_audit"}

    await eventually(logged, timeout=20)


async def test_analytics_questions_are_answered_by_the_analytics_queue(stack: Stack) -> None:
    """Only an analytics worker runs: the answer can only come from the `analytics` queue.
    Without any worker the server gives up after ANALYTICS_TIMEOUT_SECONDS with a 504."""
    api = stack.serve(ANALYTICS_TIMEOUT_SECONDS="3")
    await wait_ready(api)
    worker = stack.worker("analyst", queues="analytics")
    await worker.ready()
    league = await League.create(api, teams=4)
    await league.score(0, 2, 2)
    await league.score(1, 3, 0)
    question = {"question": "how many games ended in a draw?", "event_id": league.id}

    answered = await api.post("/api/v1/analytics/query", question)
    again = await api.post("/api/v1/analytics/query", question)
    # Refusals cross the queue as codes; the server gives them their statuses.
    refused = await api.post("/api/v1/analytics/query", {**question, "question": "the weather?"})
    missing = await api.post("/api/v1/analytics/query", {**question, "event_id": league.id + 999})

    assert answered.status == 200, answered.body
    assert re.search(r"\b1\b", answered.json["answer"]), answered.json
    assert answered.json["plan"]["intent"] == "count"
    assert again.json["answer"] == answered.json["answer"]
    assert (refused.status, refused.error_code()) == (422, "unsupported_question"), refused.body
    assert refused.json["error"]["details"]["examples"]
    assert (missing.status, missing.error_code()) == (404, "not_found"), missing.body

    async def all_answered_by_the_worker() -> bool:
        # The reply is pushed before the task returns: its "succeeded" line may come a bit later.
        return len(worker.succeeded(ANSWER_QUESTION)) == 4

    await eventually(all_answered_by_the_worker, timeout=10)
    cached = redis.Redis.from_url(REDIS_URL).keys(f"{stack.prefix}analytics:answer:*")
    assert len(cached) == 1  # the second answer came from the shared cache
    worker.kill()
    started = time.monotonic()
    unanswered = await api.post("/api/v1/analytics/query", question)
    assert unanswered.status == 504, unanswered.body
    assert unanswered.error_code() == "analytics_timeout"
    assert 2.5 < time.monotonic() - started < 10


# --- 10. tasks lost with the broker's data ----------------------------------------------------


async def test_work_whose_tasks_the_broker_lost_is_finished_within_seconds(
    stack: Stack, db: sa.Engine
) -> None:
    """A final's recompute and audit tasks are queued, then the broker loses its data (a
    restart without persistence): the server's sweep stores the audit entry itself and queues
    the recompute again, so a worker started afterwards puts the table right in seconds —
    without `matchday beat` and without waiting for any visibility timeout."""
    _broker, port = stack.redis_server()
    broker_url = f"redis://127.0.0.1:{port}/0"
    api = stack.serve(REDIS_URL=broker_url, FOLLOW_UP_GRACE_SECONDS="1")
    await wait_ready(api)
    league = await League.create(api, teams=4)
    await league.score(0, 3, 1)  # no worker yet: its recompute and audit tasks wait in Redis
    lost = redis.Redis.from_url(broker_url)
    lost.flushall()  # the broker's data is gone, queued tasks and coalescing markers with it
    lost.close()

    game_id = league.games[0]["id"]
    by_target = "action = 'game.score' AND target_id = :target"

    async def audited() -> bool:
        return len(audit_rows(db, by_target, target=game_id)) == 1

    await eventually(audited, timeout=10)  # stored by the sweep: no worker is running
    worker = stack.worker("after-loss", REDIS_URL=broker_url)
    await worker.ready()
    started = time.monotonic()
    await league.settled(timeout=15)
    assert time.monotonic() - started < 15
    assert len(audit_rows(db, by_target, target=game_id)) == 1  # and never twice
