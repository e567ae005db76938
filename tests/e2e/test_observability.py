"""Tracing, error reports and Flower, checked against running processes.

One stack per module, on the real PostgreSQL and Redis: a server (`tests.sentry_app`: what
`matchday serve` runs, plus one test-only route that fails), a `matchday worker` (prefork) and
`matchday flower`. Server and worker export traces over OTLP/HTTP and report errors to
receivers this module runs (a stand-in collector and a stand-in Sentry). Also: `matchday
flower` never starts open, and `beat`/`flower` exit non-zero when they fail.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from config.settings import load_settings
from tests.e2e.processes import MATCHDAY, free_port, matchday_env, wait_ready
from tests.e2e.test_workers import League, Stack, Worker
from tests.loop_thread import loop_thread
from tests.otlp_receiver import ReceivedSpan, otlp_receiver
from tests.sentry_receiver import sentry_receiver
from tests.support import (
    REDIS_URL,
    TEST_SECRET,
    Api,
    create_pg_schema,
    delete_redis_keys,
    drop_pg_schema,
    eventually,
)
from workers.celery_app import RECOMPUTE, RECORD_AUDIT, make_celery, pending_recompute_key

pytestmark = pytest.mark.e2e  # each test runs `matchday` processes

PASSWORD = "flower-" + uuid.uuid4().hex
CREDENTIALS = {"Authorization": "Basic " + base64.b64encode(f"ops:{PASSWORD}".encode()).decode()}
SENTRY = {"SENTRY_ENVIRONMENT": "e2e", "SENTRY_RELEASE": "matchday@test-1"}


# --- start-up: never open, and a failure is a non-zero status ----------------------------------


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MATCHDAY, *args],
        env=matchday_env(tmp_path, REDIS_URL=REDIS_URL, JWT_SECRET=TEST_SECRET, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_flower_refuses_to_start_without_authentication(tmp_path: Path) -> None:
    done = _run(tmp_path, "flower", "--port", str(free_port()))
    assert done.returncode == 2
    assert "FLOWER_BASIC_AUTH" in done.stderr and "--insecure-no-auth" in done.stderr


def test_a_weak_flower_password_is_a_configuration_error(tmp_path: Path) -> None:
    done = _run(tmp_path, "flower", FLOWER_BASIC_AUTH="ops:changeme")
    assert done.returncode == 2
    assert "FLOWER_BASIC_AUTH" in done.stderr and "changeme" not in done.stderr


def test_flower_exits_non_zero_when_its_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run(tmp_path, "flower", "--port", str(port), FLOWER_BASIC_AUTH=f"ops:{PASSWORD}")
    assert done.returncode != 0
    assert "Address already in use" in done.stderr


def test_beat_exits_non_zero_when_it_cannot_keep_its_schedule(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    done = _run(tmp_path, "beat", DATA_DIR=str(not_a_directory))
    assert done.returncode == 2
    assert "DATA_DIR" in done.stderr


# --- the observed stack ---------------------------------------------------------------------------


@dataclass
class Observed:
    stack: Stack
    api: Api
    worker: Worker
    flower: Api
    spans: list[ReceivedSpan]
    events: list[dict[str, Any]]

    async def ready(self) -> None:
        async def flower_up() -> bool:
            try:
                return (await self.flower.get("/healthcheck")).status == 200
            except OSError:
                return False

        await asyncio.gather(wait_ready(self.api), self.worker.ready(), eventually(flower_up, 30))

    def server_log(self) -> str:
        return (self.stack.tmp_path / "server.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    tmp_path = tmp_path_factory.mktemp("observed")
    schema = create_pg_schema()
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    stack = Stack(tmp_path, schema, prefix, serve_start=lambda *_: None)  # type: ignore[arg-type]
    try:
        with loop_thread() as enter:
            endpoint, spans = enter(otlp_receiver)
            dsn, events = enter(sentry_receiver)
            reporting = {
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "100",
                "SENTRY_DSN": dsn,
                **SENTRY,
            }
            port = free_port()
            stack.processes.append(
                _spawn(stack, [sys.executable, "-m", "tests.sentry_app", str(port)], reporting)
            )
            worker = stack.worker("observed", **reporting)
            flower_port = free_port()
            flower = [MATCHDAY, "flower", "--port", str(flower_port)]
            stack.processes.append(_spawn(stack, flower, {"FLOWER_BASIC_AUTH": f"ops:{PASSWORD}"}))
            yield Observed(
                stack,
                Api(f"http://127.0.0.1:{port}"),
                worker,
                Api(f"http://127.0.0.1:{flower_port}"),
                spans,
                events,
            )
            stack.close()
    finally:
        stack.close()
        asyncio.run(delete_redis_keys(prefix))
        drop_pg_schema(schema)


def _spawn(stack: Stack, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    name = "server" if "tests.sentry_app" in command else command[1]
    log = open(stack.tmp_path / f"{name}.log", "wb")  # noqa: SIM115 — closed by the stack
    stack.logs.append(log)
    return subprocess.Popen(
        command, env=stack.env(**env), stdout=log, stderr=log, start_new_session=True
    )


# --- one trace ---------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_a_score_post_and_the_workers_recompute_are_one_trace(observed: Observed) -> None:
    """The request, the task it enqueues after the commit, the worker's recompute and the
    server's publication of the worker's `standings` event share one trace id, and both
    processes' log lines name it."""
    await observed.ready()
    api, worker, spans = observed.api, observed.worker, observed.spans
    league = await League.create(api, teams=2)
    # A recompute still queued would take this score along (coalesced, in its own trace):
    # let the league's set-up recomputes finish first.
    pending = pending_recompute_key(observed.stack.prefix, league.id)
    with redis.Redis.from_url(REDIS_URL) as client:

        async def no_recompute_queued() -> bool:
            return not client.exists(pending) and worker.finished_all(RECOMPUTE)

        await eventually(no_recompute_queued, timeout=30)
    request_id = uuid.uuid4().hex
    reply = await api.put(
        f"/api/v1/games/{league.games[0]['id']}/score",
        {"home_score": 3, "away_score": 1, "status": "final"},
        token=league.token,
        headers={"X-Request-ID": request_id},
    )
    assert reply.status == 200, reply.body

    def root() -> ReceivedSpan | None:
        found = [s for s in spans if s.attributes.get("matchday.request_id") == request_id]
        return found[0] if found else None

    def in_trace() -> list[ReceivedSpan]:
        first = root()
        return [s for s in spans if first and s.trace_id == first.trace_id]

    async def complete() -> bool:
        names = {(s.service, s.name) for s in in_trace()}
        return {
            ("matchday-worker", "run/matchday.recompute_standings"),
            ("matchday-api", "publish standings"),
        } <= names

    await eventually(complete, timeout=30)
    request_span = root()
    assert request_span is not None
    assert request_span.service == "matchday-api" and request_span.kind == "SERVER"
    assert request_span.name == "PUT /api/v1/games/{game_id}/score"
    trace = in_trace()
    by_name = {(s.service, s.name): s for s in trace}
    enqueue = by_name[("matchday-api", "apply_async/matchday.recompute_standings")]
    run = by_name[("matchday-worker", "run/matchday.recompute_standings")]
    assert run.parent_span_id == enqueue.span_id  # through the message headers
    assert run.kind == "CONSUMER"
    worker_sql = [s for s in trace if s.service == "matchday-worker" and s.kind == "CLIENT"]
    assert any(s.parent_span_id == run.span_id for s in worker_sql)
    # The server's relay published the worker's outbox row inside the worker's span.
    assert by_name[("matchday-api", "publish standings")].parent_span_id == run.span_id
    assert ("matchday-api", "publish score") in by_name
    # Both processes' log lines carry the trace id (text format: `trace_id=...`).
    marker = f"trace_id={request_span.trace_id}"
    assert any(marker in line and "/score" in line for line in observed.server_log().splitlines())
    assert any(
        marker in line and "standings recomputed" in line for line in worker.log().splitlines()
    )


# --- errors reach Sentry -------------------------------------------------------------------


def _exception(event: dict[str, Any]) -> dict[str, Any]:
    values = event.get("exception", {}).get("values", [])
    return values[-1] if values else {}


@pytest.mark.postgres
async def test_an_unhandled_error_in_a_handler_arrives_as_an_event(observed: Observed) -> None:
    await observed.ready()
    request_id = uuid.uuid4().hex
    reply = await observed.api.get("/test/broken", headers={"X-Request-ID": request_id})
    assert reply.status == 500
    assert reply.json["error"]["message"] == "internal server error"  # no traceback

    def ours() -> list[dict[str, Any]]:
        return [e for e in observed.events if e.get("tags", {}).get("request_id") == request_id]

    async def arrived() -> bool:
        return bool(ours())

    await eventually(arrived, timeout=20)
    await asyncio.sleep(0.5)  # a second event for the same error would be here by now
    [event] = ours()  # one event: the access log's 500 line is not a second one
    assert _exception(event)["type"] == "RuntimeError"
    assert _exception(event)["value"] == "the scoreboard exploded"
    assert event["release"] == "matchday@test-1" and event["environment"] == "e2e"
    assert event["tags"]["process"] == "api"
    assert len(event["tags"]["trace_id"]) == 32  # tracing is on here: the trace to open
    assert event["request"]["url"].endswith("/test/broken")
    # send_default_pii is off: no client address, no user.
    assert "ip_address" not in event.get("user", {})
    assert "REMOTE_ADDR" not in event["request"].get("env", {})


@pytest.mark.postgres
async def test_an_unhandled_error_in_a_task_arrives_as_an_event(observed: Observed) -> None:
    await observed.ready()
    celery = make_celery(load_settings(observed.stack.env()))
    try:
        sent = celery.send_task(RECORD_AUDIT, args=[{"not": "an audit record"}])
    finally:
        celery.close()

    async def arrived() -> bool:
        return any(e.get("tags", {}).get("task_id") == sent.id for e in observed.events)

    await eventually(arrived, timeout=30)
    event = next(e for e in observed.events if e.get("tags", {}).get("task_id") == sent.id)
    assert _exception(event)["type"] == "KeyError"
    assert event["tags"]["task"] == RECORD_AUDIT
    assert event["tags"]["process"] == "worker"
    assert event["release"] == "matchday@test-1" and event["environment"] == "e2e"


# --- Flower --------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_flower_shows_workers_and_tasks_to_its_users_only(observed: Observed) -> None:
    await observed.ready()
    flower = observed.flower

    async def sees_the_worker() -> bool:
        reply = await flower.get("/api/workers?refresh=1", headers=CREDENTIALS)
        return reply.status == 200 and any(name.startswith("observed@") for name in reply.json)

    await eventually(sees_the_worker, timeout=30)
    assert (await flower.get("/api/workers")).status == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"ops:guess").decode()}
    assert (await flower.get("/api/workers", headers=wrong)).status == 401

    celery = make_celery(load_settings(observed.stack.env()))
    try:
        task_id = celery.send_task(RECOMPUTE, args=[987_654]).id  # no such event: a no-op
    finally:
        celery.close()

    async def task_seen() -> bool:
        reply = await flower.get(f"/api/task/info/{task_id}", headers=CREDENTIALS)
        return reply.status == 200 and reply.json.get("state") == "SUCCESS"

    await eventually(task_seen, timeout=30)
    info = (await flower.get(f"/api/task/info/{task_id}", headers=CREDENTIALS)).json
    assert info["name"] == RECOMPUTE and info["worker"].startswith("observed@")
    assert (await flower.get(f"/api/task/info/{task_id}")).status == 401
    # Flower's Prometheus metrics (docs/operations.md): served without credentials, so the
    # port stays on the internal network.
    metrics = await flower.get("/metrics")
    assert metrics.status == 200
    text = metrics.body.decode()
    assert "flower_events_total" in text and "flower_worker_online" in text
    assert RECOMPUTE in text
