"""`matchday flower` against the real Redis and a real worker: never open by default, reads
the workers and a task through its API with the credentials (401 without), serves its
Prometheus metrics; `matchday beat` and `matchday flower` exit non-zero when they fail."""

from __future__ import annotations

import base64
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from config.settings import load_settings
from tests.e2e.processes import MATCHDAY, free_port, matchday_env
from tests.e2e.test_workers import Stack, schema, stack  # noqa: F401 — fixtures
from tests.support import REDIS_URL, TEST_SECRET, Api, eventually
from workers.celery_app import RECOMPUTE, make_celery

pytestmark = pytest.mark.e2e  # each test runs `matchday` processes

PASSWORD = "flower-" + uuid.uuid4().hex
CREDENTIALS = {"Authorization": "Basic " + base64.b64encode(f"ops:{PASSWORD}".encode()).decode()}


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


@pytest.mark.postgres
async def test_flower_shows_workers_and_tasks_to_its_users_only(stack: Stack) -> None:  # noqa: F811
    worker = stack.worker("flowertest")
    port = free_port()
    log = open(stack.tmp_path / "flower.log", "wb")  # noqa: SIM115 — closed by the stack
    stack.logs.append(log)
    stack.processes.append(
        subprocess.Popen(
            [MATCHDAY, "flower", "--port", str(port)],
            env=stack.env(FLOWER_BASIC_AUTH=f"ops:{PASSWORD}"),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    )
    flower = Api(f"http://127.0.0.1:{port}")
    await worker.ready()

    async def sees_the_worker() -> bool:
        try:
            reply = await flower.get("/api/workers?refresh=1", headers=CREDENTIALS)
        except OSError:
            return False
        return reply.status == 200 and any(name.startswith("flowertest@") for name in reply.json)

    await eventually(sees_the_worker, timeout=30)
    assert (await flower.get("/api/workers")).status == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"ops:guess").decode()}
    assert (await flower.get("/api/workers", headers=wrong)).status == 401

    celery = make_celery(load_settings(stack.env()))
    try:
        task_id = celery.send_task(RECOMPUTE, args=[987_654]).id  # no such event: a no-op
    finally:
        celery.close()

    async def task_seen() -> bool:
        reply = await flower.get(f"/api/task/info/{task_id}", headers=CREDENTIALS)
        return reply.status == 200 and reply.json.get("state") == "SUCCESS"

    await eventually(task_seen, timeout=30)
    info = (await flower.get(f"/api/task/info/{task_id}", headers=CREDENTIALS)).json
    assert info["name"] == RECOMPUTE and info["worker"].startswith("flowertest@")
    assert (await flower.get(f"/api/task/info/{task_id}")).status == 401
    # Flower's Prometheus metrics (docs/operations.md): served without credentials, so the
    # port stays on the internal network.
    metrics = await flower.get("/metrics")
    assert metrics.status == 200
    text = metrics.body.decode()
    assert "flower_events_total" in text and "flower_worker_online" in text
    assert RECOMPUTE in text
