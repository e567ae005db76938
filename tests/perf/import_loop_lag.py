"""Benchmark: how long a 10,000-game CSV import and its export hold the event loop.

    .venv/bin/python tests/perf/import_loop_lag.py [--backend sqlite|postgres] [--games 10000]

One Matchday application is served in this process on an unused port (embedded streams and
in-process tasks; --backend picks the database). While a thread posts the CSV (its 100 teams
created beforehand by a first import) and then fetches the export, tests/loop_watch.py
records every GET /healthz latency (a blocking client in another thread) and how late a
5 ms timer runs on the loop. Printed per phase: wall time, then the worst lag and /healthz
latency, raw and less the threads' run-queue waits (the machine's share on a shared host).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.app import make_app  # noqa: E402
from tests.loop_watch import LoopWatch, games_csv, send, teams_csv  # noqa: E402
from tests.support import (  # noqa: E402
    Api,
    create_pg_schema,
    drop_pg_schema,
    pg_schema_url,
    settings_for,
    sqlite_template,
)


async def measure(database_url: str, data_dir: Path, games: int, teams: int) -> None:
    app = await make_app(settings_for(database_url, data_dir, RATE_LIMIT_ENABLED="false"))
    sock, port = bind_unused_port()
    server = HTTPServer(app, max_body_size=app.config.max_json_body_bytes * 2)
    server.add_sockets([sock])
    api = Api(f"http://127.0.0.1:{port}")
    try:
        token = await api.user("bench@example.com")
        event_id = (await api.post("/api/v1/events", {"name": "Lag"}, token=token)).json["id"]
        path = f"/api/v1/events/{event_id}"
        reply = await api.post(
            f"{path}/import",
            raw=teams_csv(teams),
            token=token,
            headers={"Content-Type": "text/csv"},
        )
        assert reply.status == 201, reply.body[:500]
        await app.settled()
        body = games_csv(games, teams)
        async with LoopWatch(api.base_url) as watch:
            await asyncio.sleep(0.3)
            marks = [time.monotonic()]
            created = await asyncio.to_thread(
                send, api.base_url, "POST", f"{path}/import", token, body
            )
            marks.append(time.monotonic())
            await app.settled()  # the relay publishes every game's event; the table is recomputed
            marks.append(time.monotonic())
            exported = await asyncio.to_thread(
                send, api.base_url, "GET", f"{path}/export.csv", token
            )
            marks.append(time.monotonic())
    finally:
        server.stop()
        await server.close_all_connections()
        await app.close()
    assert len(json.loads(created)["games"]) == games
    assert exported.count(b"\r\ngame,") == games
    print(f"{games:,} games, {teams} teams, {len(body):,} bytes")
    phases = ("import (POST)", "relay + recompute", "export (GET)")
    for name, start, end in zip(phases, marks, marks[1:], strict=False):
        print(f"  {name:18} {(end - start) * 1000:6.0f} ms; {watch.describe(start, end)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--games", type=int, default=10_000)
    parser.add_argument("--teams", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="matchday-lag-") as tmp:
        data_dir = Path(tmp)
        if args.backend == "sqlite":
            url = f"sqlite+aiosqlite:///{sqlite_template(data_dir)}"
            asyncio.run(measure(url, data_dir, args.games, args.teams))
            return
        schema = create_pg_schema()
        try:
            asyncio.run(measure(pg_schema_url(schema), data_dir, args.games, args.teams))
        finally:
            drop_pg_schema(schema)


if __name__ == "__main__":
    main()
