"""Every `matchday_*` name the Grafana dashboards and the Prometheus rules query is exported by
the running system: `matchday serve --processes 2` and `matchday worker --metrics-port` on
PostgreSQL and Redis, scraped after a little of everything (a league, scores, a live stream
resumed and closed, an analytics question, a task). Exporter and Flower names are checked
against deploy/prometheus/exporter_metrics.txt instead (tests/deploy/test_prometheus.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import MATCHDAY, Serve, free_port, serving, wait_ready
from tests.e2e.test_live_processes import League, open_stream, production  # noqa: F401
from tests.promql_names import used_names
from tests.support import Api, eventually, scrape_samples

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

# Declared (tests/deploy/test_prometheus.py checks that), but a sample exists only after a
# fault no quick test should cause: a failed statement, a pool timeout, a connection lost, a
# 429, a refused stream. Each is an alert's or a panel's input on a bad day.
ONLY_AFTER_A_FAULT = {
    "matchday_db_query_errors_total",
    "matchday_db_pool_timeouts_total",
    "matchday_db_pool_connections_lost_total",
    "matchday_rate_limited_total",
    "matchday_sse_rejected_total",
}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with serving(tmp_path) as start:
        yield start


@contextlib.contextmanager
def worker(env: dict[str, str], port: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                *(MATCHDAY, "worker", "--concurrency", "1"),
                *("--metrics-port", str(port), "--metrics-host", "127.0.0.1"),
            ],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _names(text: str) -> set[str]:
    return {name for name, _ in scrape_samples(text)}


async def test_every_matchday_metric_the_dashboards_and_rules_query_is_exported(
    production: Callable[..., dict[str, str]],  # noqa: F811 — the fixture, imported
    serve: Serve,
    tmp_path: Path,
) -> None:
    # Every statement and request "slow", so the slow counters have samples too.
    env = production(TASK_RUNNER="celery", SLOW_QUERY_MS="0.001", SLOW_REQUEST_MS="0.001")
    wanted = {name for name in used_names() if name.startswith("matchday_")}
    assert len(wanted) > 30, wanted
    port = free_port()
    log_path = tmp_path / "worker.log"
    # Directories named as deploy/ names them (see the report: the supervisors' own
    # temporary directories scraped empty on this branch).
    worker_env = dict(env, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "worker-metrics"))
    serve_env = dict(env, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "serve-metrics"))
    with worker(worker_env, port, log_path) as proc:
        _, url = serve(serve_env, "--processes", "2")
        api = Api(url)
        await wait_ready(api)

        async def worker_ready() -> bool:
            assert proc.poll() is None, log_path.read_text()
            return " ready." in log_path.read_text()

        await eventually(worker_ready, timeout=60)
        league = await League.create(api, teams=3)
        stream = await open_stream(url, league.stream_path)
        await league.score(0, 2, 1)
        first = await asyncio.wait_for(stream.next(), 10)
        assert first is not None
        await stream.close()
        # Left open: the spectators gauge counts open streams only.
        resumed = await open_stream(url, league.stream_path, {"Last-Event-ID": "0-1"})
        asked = await api.post(
            "/api/v1/analytics/query",
            {"question": "who leads the table?", "event_id": league.event_id},
            token=league.token,
        )
        assert asked.status < 500, asked.body
        metrics = Api(f"http://127.0.0.1:{port}")

        async def scraped() -> set[str]:
            served = (await api.get("/metrics")).body.decode()
            return _names(served) | _names((await metrics.get("/metrics")).body.decode())

        async def all_there() -> bool:
            return not wanted - ONLY_AFTER_A_FAULT - await scraped()

        with contextlib.suppress(AssertionError):
            await eventually(all_there, timeout=30)
        missing = wanted - ONLY_AFTER_A_FAULT - await scraped()
        await resumed.close()
        assert not missing, f"queried by a dashboard or rule but not exported: {sorted(missing)}"
