"""Sentry, against a local ingestion endpoint: an unhandled error in a request handler (a
test-only route in a real server process) and in a task (a real worker process) each arrive
as an event with the release, the environment and the request or task id, and without
personal data."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from config.settings import load_settings
from tests.e2e.processes import free_port, matchday_env, wait_ready
from tests.e2e.test_workers import Stack, schema, stack  # noqa: F401 — fixtures
from tests.sentry_receiver import sentry_receiver
from tests.support import TEST_SECRET, Api, eventually, sqlite_copy, sqlite_template
from workers.celery_app import RECORD_AUDIT, make_celery

SENTRY = {"SENTRY_ENVIRONMENT": "e2e", "SENTRY_RELEASE": "matchday@test-1"}


def _exception(event: dict[str, Any]) -> dict[str, Any]:
    values = event.get("exception", {}).get("values", [])
    return values[-1] if values else {}


@pytest.mark.e2e
async def test_an_unhandled_error_in_a_handler_arrives_as_an_event(tmp_path: Path) -> None:
    with sentry_receiver() as (dsn, events):
        port = free_port()
        env = matchday_env(
            tmp_path,
            DATABASE_URL=sqlite_copy(sqlite_template(tmp_path), tmp_path),
            JWT_SECRET=TEST_SECRET,
            SENTRY_DSN=dsn,
            **SENTRY,
        )
        log = open(tmp_path / "app.log", "wb")  # noqa: SIM115 — closed below
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sentry_app", str(port)],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            api = Api(f"http://127.0.0.1:{port}")
            await wait_ready(api)
            request_id = uuid.uuid4().hex
            reply = await api.get("/test/broken", headers={"X-Request-ID": request_id})
            assert reply.status == 500
            assert reply.json["error"]["message"] == "internal server error"  # no traceback

            async def arrived() -> bool:
                return any(_exception(e).get("type") == "RuntimeError" for e in events)

            await eventually(arrived, timeout=20)
        finally:
            proc.kill()
            proc.wait()
            log.close()
    event = next(e for e in events if _exception(e).get("type") == "RuntimeError")
    assert _exception(event)["value"] == "the scoreboard exploded"
    assert event["release"] == "matchday@test-1" and event["environment"] == "e2e"
    assert event["tags"]["request_id"] == request_id
    assert event["tags"]["process"] == "api"
    assert event["request"]["url"].endswith("/test/broken")
    # send_default_pii is off: no client address, no cookies, no user.
    assert "ip_address" not in event.get("user", {})
    assert "REMOTE_ADDR" not in event["request"].get("env", {})
    # One event per error: the access log's 500 line is not a second one.
    assert len([e for e in events if "/test/broken" in str(e.get("logentry", ""))]) == 0


@pytest.mark.e2e
@pytest.mark.postgres
async def test_an_unhandled_error_in_a_task_arrives_as_an_event(stack: Stack) -> None:  # noqa: F811
    with sentry_receiver() as (dsn, events):
        worker = stack.worker("sentry", SENTRY_DSN=dsn, **SENTRY)
        await worker.ready()
        celery = make_celery(load_settings(stack.env()))
        try:
            sent = celery.send_task(RECORD_AUDIT, args=[{"not": "an audit record"}])
        finally:
            celery.close()

        async def arrived() -> bool:
            return any(e.get("tags", {}).get("task_id") == sent.id for e in events)

        await eventually(arrived, timeout=30)
    event = next(e for e in events if e.get("tags", {}).get("task_id") == sent.id)
    assert _exception(event)["type"] == "KeyError"
    assert event["tags"]["task"] == RECORD_AUDIT
    assert event["tags"]["process"] == "worker"
    assert event["release"] == "matchday@test-1" and event["environment"] == "e2e"
