"""Benchmark: generating a large schedule (POST /events/{id}/schedule) and the event loop.

    .venv/bin/python tests/perf/schedule_bulk.py [--backend sqlite|postgres] [--teams 100]
        [--runs 3]

One Matchday application is served in this process on an unused port (embedded streams and
in-process tasks; --backend picks the database). For each run a fresh event gets `--teams`
teams (one CSV import), then a double round robin is generated (teams * (teams - 1) games,
9,900 for 100 teams) while tests/loop_watch.py polls GET /healthz from another thread and
times a 5 ms timer on the loop. A second thread polls the event's games list and standings
like a spectator and counts the status codes it gets. Printed: per run, the POST's wall time,
the time until every `game` event is relayed, the worst /healthz latency and loop lag (raw,
and less the threads' run-queue waits), then one JSON line with the medians and a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.app import make_app  # noqa: E402
from tests.loop_watch import LoopWatch, teams_csv  # noqa: E402
from tests.support import (  # noqa: E402
    Api,
    create_pg_schema,
    drop_pg_schema,
    pg_schema_url,
    settings_for,
    sqlite_template,
)


def spectator(base_url: str, event_id: int, stop: threading.Event, seen: Counter[int]) -> None:
    """Polls like a spectator's page would, with a blocking client (its own thread)."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(base_url)
    paths = [f"/api/v1/events/{event_id}/games?per_page=50", f"/api/v1/events/{event_id}/standings"]
    while not stop.is_set():
        for path in paths:
            connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=60)
            connection.request("GET", path)
            reply = connection.getresponse()
            reply.read()
            connection.close()
            seen[reply.status] += 1


def post_schedule(base_url: str, event_id: int, token: str) -> tuple[int, bytes]:
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=120)
    body = json.dumps({"format": "double_round_robin", "starts_at": "2026-06-01T12:00:00Z"})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request("POST", f"/api/v1/events/{event_id}/schedule", body=body, headers=headers)
    reply = connection.getresponse()
    data = reply.read()
    connection.close()
    return reply.status, data


async def one_run(app: Any, api: Api, token: str, teams: int, run: int) -> dict[str, Any]:
    event_id = (await api.post("/api/v1/events", {"name": f"Big {run}"}, token=token)).json["id"]
    reply = await api.post(
        f"/api/v1/events/{event_id}/import",
        raw=teams_csv(teams),
        token=token,
        headers={"Content-Type": "text/csv"},
    )
    assert reply.status == 201, reply.body[:500]
    await app.settled()
    stop, seen = threading.Event(), Counter[int]()
    poller = threading.Thread(target=spectator, args=(api.base_url, event_id, stop, seen))
    async with LoopWatch(api.base_url) as watch:
        await asyncio.sleep(0.3)
        poller.start()
        started = time.monotonic()
        status, body = await asyncio.to_thread(post_schedule, api.base_url, event_id, token)
        posted = time.monotonic()
        await app.settled()
        relayed = time.monotonic()
        stop.set()
        await asyncio.to_thread(poller.join)
    games = len(json.loads(body)["games"]) if status == 201 else 0
    worst_lag = watch.worst(watch.ticks, started, posted)
    worst_poll = watch.worst(watch.polls, started, posted)
    result = {
        "status": status,
        "games": games,
        "post_ms": round((posted - started) * 1000),
        "relay_ms": round((relayed - posted) * 1000),
        "loop_lag_net_ms": round(worst_lag.net * 1000),
        "healthz_net_ms": round(worst_poll.net * 1000),
        "spectator_statuses": dict(sorted(seen.items())),
    }
    print(f"  run {run}: {json.dumps(result)}; {watch.describe(started, posted)}")
    return result


async def measure(database_url: str, data_dir: Path, teams: int, runs: int) -> None:
    settings = settings_for(database_url, data_dir, RATE_LIMIT_ENABLED="false")
    app = await make_app(settings)
    sock, port = bind_unused_port()
    server = HTTPServer(app, max_body_size=app.config.max_json_body_bytes * 2)
    server.add_sockets([sock])
    api = Api(f"http://127.0.0.1:{port}")
    try:
        token = await api.user("bench@example.com")
        results = [await one_run(app, api, token, teams, run) for run in range(runs)]
    finally:
        server.stop()
        await server.close_all_connections()
        await app.close()
    summary = {
        "teams": teams,
        "games": results[0]["games"],
        "runs": runs,
        "post_ms_median": statistics.median(r["post_ms"] for r in results),
        "relay_ms_median": statistics.median(r["relay_ms"] for r in results),
        "loop_lag_net_ms_median": statistics.median(r["loop_lag_net_ms"] for r in results),
        "statuses": sorted({r["status"] for r in results}),
        "spectator_errors": sum(
            count for r in results for code, count in r["spectator_statuses"].items() if code >= 500
        ),
    }
    print(json.dumps(summary))
    lag = summary["loop_lag_net_ms_median"]
    print(
        f"schedule {summary['games']:,} games: POST median {summary['post_ms_median']} ms, relay "
        f"{summary['relay_ms_median']} ms, loop lag (net) median {lag} ms, statuses "
        f"{summary['statuses']}, spectator 5xx {summary['spectator_errors']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="matchday-schedule-") as tmp:
        data_dir = Path(tmp)
        if args.backend == "sqlite":
            url = f"sqlite+aiosqlite:///{sqlite_template(data_dir)}"
            asyncio.run(measure(url, data_dir, args.teams, args.runs))
            return
        schema = create_pg_schema()
        try:
            asyncio.run(measure(pg_schema_url(schema), data_dir, args.teams, args.runs))
        finally:
            drop_pg_schema(schema)


if __name__ == "__main__":
    main()
