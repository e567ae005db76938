"""Benchmark: what tracing costs a request, and what it costs when off.

    .venv/bin/python tests/perf/tracing_overhead.py [--requests 300]

Two `matchday serve` processes on the same PostgreSQL schema and Redis (tasks in-process):
one without OTEL_EXPORTER_OTLP_ENDPOINT (tracing off: the default) and one exporting every
trace (TRACE_SAMPLE_RATIO=1) over OTLP/HTTP to a receiver in this script. Requests alternate
between them, one at a time, so both see the same machine load: a live score update
(`PUT /api/v1/games/{id}/score`, live: SQL, outbox, relay publish) and a standings read
(served from the cache). Prints JSON and one summary line: medians and the on/off ratio.
(Off vs main's code is the same path but for a couple of no-op API calls per request.)

Traffic goes only to 127.0.0.1; every wait is bounded; processes and data are cleaned up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.processes import free_port, matchday_env, wait_ready  # noqa: E402
from tests.otlp_receiver import otlp_receiver  # noqa: E402
from tests.support import (  # noqa: E402
    REDIS_URL,
    TEST_SECRET,
    Api,
    create_pg_schema,
    delete_redis_keys,
    drop_pg_schema,
    pg_schema_url,
)

MATCHDAY = str(Path(sys.executable).with_name("matchday"))


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], Api]:
    port = free_port()
    proc = subprocess.Popen(
        [MATCHDAY, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        start_new_session=True,
    )
    return proc, Api(f"http://127.0.0.1:{port}")


async def _league(api: Api) -> tuple[str, int, int]:
    token = await api.user(f"keeper-{uuid.uuid4().hex[:8]}@example.com")
    event = (
        await api.post("/api/v1/events", {"name": "Bench", "visibility": "public"}, token=token)
    ).json["id"]
    teams = [
        (await api.post(f"/api/v1/events/{event}/teams", {"name": n}, token=token)).json["id"]
        for n in ("A", "B")
    ]
    game = (
        await api.post(
            f"/api/v1/events/{event}/games",
            {"home_team_id": teams[0], "away_team_id": teams[1]},
            token=token,
        )
    ).json["id"]
    return token, event, game


async def _timed(call: object) -> float:
    started = time.perf_counter()
    reply = await call  # type: ignore[misc]
    assert reply.status == 200, (reply.status, reply.body)
    return (time.perf_counter() - started) * 1000


async def run(requests: int) -> dict[str, object]:
    schema = create_pg_schema()
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    processes: list[subprocess.Popen[bytes]] = []
    tmp = Path(tempfile.mkdtemp(prefix="tracing-bench-"))
    try:
        with otlp_receiver() as (endpoint, spans):
            base = {
                "DATABASE_URL": pg_schema_url(schema),
                "REDIS_URL": REDIS_URL,
                "REDIS_KEY_PREFIX": prefix,
                "TASK_RUNNER": "local",
                "JWT_SECRET": TEST_SECRET,
                "LOG_LEVEL": "WARNING",
                "RATE_LIMIT_ENABLED": "false",
            }
            off_proc, off = _serve(matchday_env(tmp, **base), tmp / "off.log")
            on_env = {**base, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "TRACE_SAMPLE_RATIO": "1"}
            on_proc, on = _serve(matchday_env(tmp, **on_env), tmp / "on.log")
            processes += [off_proc, on_proc]
            await asyncio.gather(wait_ready(off), wait_ready(on))
            token, event, game = await _league(off)
            times: dict[str, list[float]] = {
                k: [] for k in ("put_off", "put_on", "get_off", "get_on")
            }
            for index in range(requests):
                body = {"home_score": index, "away_score": 0, "status": "live"}
                pairs = [("off", off), ("on", on)]
                if index % 2:
                    pairs.reverse()  # neither always goes first
                for name, api in pairs:
                    path = f"/api/v1/games/{game}/score"
                    times[f"put_{name}"].append(await _timed(api.put(path, body, token=token)))
                    body = {**body, "home_score": body["home_score"] + requests}
                    standings = f"/api/v1/events/{event}/standings"
                    times[f"get_{name}"].append(await _timed(api.get(standings)))
            await asyncio.sleep(6)  # the last batch of spans leaves within OTEL_BSP_SCHEDULE_DELAY
            medians = {k: round(statistics.median(v), 2) for k, v in times.items()}
            return {
                "requests_each": requests,
                "median_ms": medians,
                "ratio_put_on_off": round(medians["put_on"] / medians["put_off"], 2),
                "ratio_get_on_off": round(medians["get_on"] / medians["get_off"], 2),
                "spans_received": len(spans),
                "load_average": os.getloadavg()[0],
            }
    finally:
        for proc in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
        await delete_redis_keys(prefix)
        drop_pg_schema(schema)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    result = asyncio.run(run(args.requests))
    print(json.dumps(result))
    m = result["median_ms"]
    print(
        f"tracing: PUT score median {m['put_off']} ms off, {m['put_on']} ms on "  # type: ignore[index]
        f"(x{result['ratio_put_on_off']}); GET standings {m['get_off']} ms off, "  # type: ignore[index]
        f"{m['get_on']} ms on (x{result['ratio_get_on_off']}); "  # type: ignore[index]
        f"{result['spans_received']} spans exported"
    )


if __name__ == "__main__":
    main()
