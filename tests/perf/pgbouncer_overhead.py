"""Benchmark: what PgBouncer (transaction mode, deploy/pgbouncer) costs a request.

    .venv/bin/python tests/perf/pgbouncer_overhead.py [--requests 300] [--rounds 5]

One in-process Matchday app per path — straight to PostgreSQL, and through a PgBouncer of
its own with DATABASE_PGBOUNCER=true — on the same schema with one event of 8 teams and
28 games. Rounds alternate between the two paths (the machine is shared: a pairing in time
cancels most of its noise); each round times REQUESTS sequential reads (`GET` an event's
games, signed in: on the primary) and REQUESTS writes (a live score `PUT`). Prints one JSON
object and a summary line: the medians per path and their ratios.
Traffic goes only to 127.0.0.1; PgBouncer and the schema are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tornado.httpserver import HTTPServer  # noqa: E402
from tornado.testing import bind_unused_port  # noqa: E402

from server.app import MatchdayApp, make_app  # noqa: E402
from tests.pgbouncer import own_pgbouncer  # noqa: E402
from tests.support import (  # noqa: E402
    Api,
    create_pg_schema,
    drop_pg_schema,
    pg_schema_url,
    settings_for,
)


async def _serve(url: str, data_dir: Path, **extra: str) -> tuple[MatchdayApp, HTTPServer, Api]:
    app = await make_app(settings_for(url, data_dir, **extra))
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    return app, server, Api(f"http://127.0.0.1:{port}")


async def _league(api: Api) -> tuple[str, int, int]:
    token = await api.user("bench@example.org")
    event_id = (await api.post("/api/v1/events", {"name": "Bench"}, token=token)).json["id"]
    for n in range(8):
        await api.post(f"/api/v1/events/{event_id}/teams", {"name": f"T{n}"}, token=token)
    games = await api.post(
        f"/api/v1/events/{event_id}/schedule",
        {"format": "round_robin", "starts_at": "2026-06-01T15:00:00Z", "interval_minutes": 90},
        token=token,
    )
    return token, event_id, games.json["games"][0]["id"]


async def _round(
    api: Api, token: str, event_id: int, game_id: int, count: int, goals: int
) -> tuple[list[float], list[float]]:
    reads, writes = [], []
    for _ in range(count):
        started = time.perf_counter()
        reply = await api.get(f"/api/v1/events/{event_id}/games", token=token)
        reads.append((time.perf_counter() - started) * 1000)
        assert reply.status == 200, reply.body
    for n in range(count):
        started = time.perf_counter()
        reply = await api.put(
            f"/api/v1/games/{game_id}/score",
            {"home_score": goals + n, "away_score": 0, "status": "live"},
            token=token,
        )
        writes.append((time.perf_counter() - started) * 1000)
        assert reply.status == 200, reply.body
    return reads, writes


async def main(requests: int, rounds: int) -> dict[str, object]:
    schema = create_pg_schema()
    data_dir = Path(tempfile.mkdtemp(prefix="matchday-bench-"))
    try:
        with own_pgbouncer(schema) as bouncer:
            direct = await _serve(pg_schema_url(schema), data_dir, TASK_RUNNER="local")
            pooled = await _serve(
                bouncer.url, data_dir, TASK_RUNNER="local", DATABASE_PGBOUNCER="true"
            )
            token, event_id, game_id = await _league(direct[2])
            times: dict[str, dict[str, list[float]]] = {
                "direct": {"read": [], "write": []},
                "pgbouncer": {"read": [], "write": []},
            }
            goals = 0
            for _app, _server, api in (direct, pooled):  # warm-up: pools, caches; not timed
                await _round(api, token, event_id, game_id, 20, goals)
                goals += 20
            for _ in range(rounds):
                for name, (_app, _server, api) in (("direct", direct), ("pgbouncer", pooled)):
                    reads, writes = await _round(api, token, event_id, game_id, requests, goals)
                    goals += requests
                    times[name]["read"] += reads
                    times[name]["write"] += writes
            for app, server, _api in (direct, pooled):
                server.stop()
                await app.close()
    finally:
        drop_pg_schema(schema)
    medians = {
        path: {kind: round(statistics.median(values), 3) for kind, values in kinds.items()}
        for path, kinds in times.items()
    }
    return {
        "requests_per_round": requests,
        "rounds": rounds,
        "median_ms": medians,
        "ratio_pgbouncer_to_direct": {
            kind: round(medians["pgbouncer"][kind] / medians["direct"][kind], 3)
            for kind in ("read", "write")
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(main(args.requests, args.rounds))
    print(json.dumps(result))
    m: Any = result["median_ms"]
    r: Any = result["ratio_pgbouncer_to_direct"]
    print(
        f"pgbouncer overhead: read median {m['direct']['read']} -> {m['pgbouncer']['read']} ms "
        f"(x{r['read']}), write median {m['direct']['write']} -> {m['pgbouncer']['write']} ms "
        f"(x{r['write']})"
    )
