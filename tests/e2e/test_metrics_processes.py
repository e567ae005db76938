"""Metrics of real processes: `matchday serve --processes 2`, where one scrape is the sum of
both processes, and `matchday worker --metrics-port`, scraped after it ran a task."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from config.settings import load_settings
from models.audit_entries import new_record
from tests.e2e.processes import MATCHDAY, Serve, free_port, matchday_env, serving, wait_ready
from tests.support import (
    REDIS_URL,
    TEST_SECRET,
    Api,
    create_pg_schema,
    delete_redis_keys,
    drop_pg_schema,
    eventually,
    pg_schema_url,
    sample,
    scrape_samples,
)
from workers.celery_app import RECORD_AUDIT, make_celery

pytestmark = pytest.mark.e2e
HEALTHZ = {"method": "GET", "route": "/healthz", "status": "200"}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with serving(tmp_path) as start:
        yield start


def _per_process(directory: Path, name: str, **labels: str) -> dict[int, float]:
    """Each process's own value, read from its files alone."""
    values = {}
    pids = {int(f.stem.rsplit("_", 1)[1]) for f in directory.glob("counter_*.db")}
    for pid in pids:
        alone = directory / f"pid-{pid}"
        alone.mkdir(exist_ok=True)
        for file in directory.glob(f"*_{pid}.db"):
            shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        values[pid] = registry.get_sample_value(name, labels) or 0.0
        shutil.rmtree(alone)
    return values


async def test_one_scrape_sums_every_process_of_serve(serve: Serve, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")  # a previous run's: wiped at start
    env = matchday_env(tmp_path, JWT_SECRET=TEST_SECRET, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    proc, url = serve(env, "--processes", "2")
    api = Api(url)
    await wait_ready(api)
    assert not (metrics_dir / "counter_1.db").exists()
    sent = 0

    async def both_served() -> bool:
        nonlocal sent
        # A new connection per request: the kernel hands them to either process.
        replies = await asyncio.gather(*(Api(url).get("/healthz") for _ in range(20)))
        sent += sum(reply.status == 200 for reply in replies)
        per_process = _per_process(metrics_dir, "matchday_http_requests_total", **HEALTHZ)
        return len([v for v in per_process.values() if v > 0]) == 2

    await eventually(both_served, timeout=30)
    per_process = _per_process(metrics_dir, "matchday_http_requests_total", **HEALTHZ)
    scraped = scrape_samples((await api.get("/metrics")).body.decode())
    assert sample(scraped, "matchday_http_requests_total", **HEALTHZ) == sent
    assert sum(per_process.values()) == sent
    assert sorted(per_process) == sorted(_children(proc.pid))

    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 30) == 0
    assert metrics_dir.is_dir()  # named by the operator: kept (emptied at the next start)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in out.stdout.split()]


@pytest.mark.postgres
async def test_the_worker_serves_its_metrics_after_running_a_task(tmp_path: Path) -> None:
    schema = create_pg_schema()
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    port = free_port()
    env = matchday_env(
        tmp_path,
        DATABASE_URL=pg_schema_url(schema),
        REDIS_URL=REDIS_URL,
        REDIS_KEY_PREFIX=prefix,
        JWT_SECRET=TEST_SECRET,
    )
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [
                *(MATCHDAY, "worker", "--concurrency", "1", "--queues", "audit"),
                *("--metrics-port", str(port), "--metrics-host", "127.0.0.1"),
            ],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    metrics = Api(f"http://127.0.0.1:{port}")
    app = make_celery(load_settings(env))
    try:

        async def ready() -> bool:
            assert worker.poll() is None, log_path.read_text()
            return " ready." in log_path.read_text()

        await eventually(ready, timeout=60)
        record = new_record(
            uid=uuid.uuid4().hex,
            actor_id=None,
            action="test.metrics",
            target_type=None,
            target_id=None,
            request_id="r",
            ip="127.0.0.1",
            details={},
        )
        await asyncio.to_thread(app.send_task, RECORD_AUDIT, args=[record])
        ran = {"task": RECORD_AUDIT, "outcome": "ok"}

        async def counted() -> bool:
            reply = await metrics.get("/metrics")
            return sample(scrape_samples(reply.body.decode()), "matchday_tasks_total", **ran) == 1

        await eventually(counted, timeout=30)
        samples = scrape_samples((await metrics.get("/metrics")).body.decode())
        assert sample(samples, "matchday_task_duration_seconds_count", task=RECORD_AUDIT) == 1
        assert ("matchday_celery_queue_length", frozenset({("queue", "audit")})) in samples
        assert sample(samples, "matchday_celery_broker_up") == 1
        # The task's statements, from the pool process, in the same scrape.
        assert sample(samples, "matchday_db_query_duration_seconds_count", operation="insert") >= 1
        assert (await metrics.get("/elsewhere")).status == 404
    finally:
        app.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            await asyncio.to_thread(worker.wait, 15)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        await delete_redis_keys(prefix)
        drop_pg_schema(schema)
