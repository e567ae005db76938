"""Score writes at fixed offered rates on PostgreSQL: p50/p95/p99, and each hot query's figures.

    .venv/bin/python tests/perf/score_writes.py [--rates 500,1000] [--seconds 10] [--processes 2]

The driver starts a PostgreSQL of its own (initdb into a temporary directory, another port,
`shared_preload_libraries=pg_stat_statements`, fsync on: the shared server on 5432 is never
touched or restarted), migrates it, and starts `matchday serve --processes N` and one
`matchday worker` (Celery, the audit entries of live scores) on it + Redis (a unique key
prefix), rate limits off. Seeded over the REST API: events of 20 teams with a round robin
(190 games each), enough for --games. Then, per rate, an open-loop generator
(tests/perf/open_loop.py: requests leave on schedule whatever the replies do; latency from the
scheduled send) PUTs live scores, game after game, each score one goal more than that game's
last, for --seconds. Before each rate pg_stat_statements is reset; after it the top statements
by total time are printed with calls, mean, max and a p95 estimate (pg_stat_statements keeps
no percentiles: mean + 1.645 standard deviations, capped at the max). `server_cpu_ms_per_write`
is the figure a busy host does not change: the servers' CPU from the rate's start until every
score sent has been applied, less their idle CPU over that time, per score applied (the rise
in the games' version sum).

Prints one JSON object (stdout), then one summary line. Bounded; 127.0.0.1 only; the servers,
the database directory and the Redis keys are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.e2e.own_postgres import own_postgres
from tests.perf import harness, open_loop
from tests.perf.harness import (
    HOST,
    MATCHDAY,
    Rest,
    latency_stats,
    machine,
    production_backend,
    running,
    running_server,
    server_env,
    tree_cpu_seconds,
    tree_rss_kib,
)

TEAMS = 20  # a round robin of 20 teams: 190 games an event
PG_SETTINGS = (
    "shared_preload_libraries=pg_stat_statements",
    "pg_stat_statements.track=all",
    "fsync=on",  # own_postgres turns it off for its fault tests; writes are measured here
    "max_connections=200",
)
TOP_QUERIES = 8


def log(message: str) -> None:
    harness.log(message, "writes-bench")


def seed(port: int, games: int) -> tuple[str, list[int]]:
    """An owner's access token and `games` game ids across as many events as needed."""
    rest = Rest(port).sign_in("scorekeeper")
    ids: list[int] = []
    for number in range(math.ceil(games / (TEAMS * (TEAMS - 1) // 2))):
        event_id, _teams = rest.league(f"Writes Cup {number}", TEAMS, schedule="round_robin")
        page = rest.expect(200, "GET", f"/api/v1/events/{event_id}/games?per_page=200")
        ids += [game["id"] for game in page["items"]]
    assert rest.token is not None
    return rest.token, ids[:games]


def score_requests(port: int, token: str, games: list[int], offset: int) -> Any:
    """request(i): a live score for game i mod len(games), one goal more than its last."""

    def request(index: int) -> bytes:
        game = games[index % len(games)]
        goals = offset + index // len(games) + 1
        body = json.dumps({"home_score": goals, "away_score": 0, "status": "live"}).encode()
        head = (
            f"PUT /api/v1/games/{game}/score HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    return request


def top_statements(engine: sa.Engine) -> list[dict[str, Any]]:
    query = sa.text(
        "SELECT query, calls, total_exec_time, mean_exec_time, stddev_exec_time, max_exec_time,"
        " rows FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
        " WHERE datname = current_database()) AND query NOT ILIKE '%pg_stat_statements%'"
        " ORDER BY total_exec_time DESC LIMIT :limit"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"limit": TOP_QUERIES}).all()
    return [
        {
            "query": " ".join(row.query.split())[:160],
            "calls": row.calls,
            "total_ms": round(row.total_exec_time, 1),
            "mean_ms": round(row.mean_exec_time, 3),
            "p95_est_ms": round(
                min(row.max_exec_time, row.mean_exec_time + 1.645 * row.stddev_exec_time), 3
            ),
            "max_ms": round(row.max_exec_time, 2),
            "rows": row.rows,
        }
        for row in rows
    ]


def connections_in_use(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
        ).scalar_one()


def versions(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT coalesce(sum(version), 0) FROM games")).scalar_one()
        )


def settled_versions(engine: sa.Engine, quiet: float = 1.0, limit: float = 60.0) -> int:
    """The games' version sum once it has stopped growing for `quiet` seconds (bounded)."""
    last, deadline = versions(engine), time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = versions(engine)
        if now == last:
            return now
        last = now
    return last


def one_rate(
    rate: int, args: argparse.Namespace, port: int, token: str, games: list[int], offset: int
) -> dict[str, Any]:
    request = score_requests(port, token, games, offset)
    outcome = asyncio.run(
        open_loop.run(HOST, port, rate, args.seconds, request, timeout=args.timeout)
    )
    errors = sum(n for status, n in outcome.statuses.items() if status != "200")
    return {
        "offered_rps": rate,
        "seconds": args.seconds,
        "sent": outcome.sent,
        "statuses": dict(outcome.statuses),
        "errors": errors,
        "late_sends": outcome.late_sends,
        "connections_opened": outcome.connections_opened,
        **latency_stats(outcome.latencies_ms),
    }


async def closed_loop(port: int, request: Any, total: int, concurrency: int) -> Counter[str]:
    """`total` requests from `concurrency` keep-alive connections, each waiting for its reply:
    the server is never offered more than it can take, so a busy host slows it down but every
    score is applied and its CPU counted."""
    statuses: Counter[str] = Counter()
    indexes = iter(range(total))

    async def client() -> None:
        conn = await asyncio.open_connection(HOST, port)
        try:
            for index in indexes:
                statuses[str(await open_loop.exchange(conn, request(index)))] += 1
        finally:
            conn[1].close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return statuses


def cpu_per_write(
    args: argparse.Namespace,
    server_pid: int,
    engine: sa.Engine,
    port: int,
    token: str,
    games: list[int],
    offset: int,
) -> dict[str, Any]:
    """--closed N: the servers' CPU per score, less their idle CPU over the same time."""
    idle_before = tree_cpu_seconds(server_pid)
    time.sleep(2.0)
    idle_per_second = (tree_cpu_seconds(server_pid) - idle_before) / 2.0
    versions_before = versions(engine)
    cpu_before, started = tree_cpu_seconds(server_pid), time.monotonic()
    request = score_requests(port, token, games, offset)
    profiler = None
    if args.py_spy:  # stopped (SIGINT: it writes its samples) when the last reply is in
        profiler = harness.start_py_spy(server_pid, 3600, args.py_spy, args.processes > 1)
    statuses = asyncio.run(closed_loop(port, request, args.closed, args.concurrency))
    cpu = tree_cpu_seconds(server_pid) - cpu_before
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        harness.stop_py_spy(profiler)
    elapsed = time.monotonic() - started
    applied = versions(engine) - versions_before
    busy = cpu - idle_per_second * elapsed
    return {
        "closed_loop": args.closed,
        "concurrency": args.concurrency,
        "statuses": dict(statuses),
        "seconds": round(elapsed, 2),
        "scores_applied": applied,
        "server_cpu_seconds": round(cpu, 3),
        "server_idle_cpu_per_second": round(idle_per_second, 4),
        "server_cpu_ms_per_write": round(busy * 1000 / applied, 3) if applied else None,
    }


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    results = []
    with own_postgres(*PG_SETTINGS) as postgres:
        url = postgres.url
        backend = production_backend(workdir, database_url=url)
        engine = sa.create_engine(url)
        try:
            env = server_env(backend)
            subprocess.run(
                [MATCHDAY, "migrate"], env=env, check=True, capture_output=True, timeout=120
            )
            with engine.begin() as conn:
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
            # Tasks wait in Redis until the worker is up: no readiness to wait for.
            worker_cmd = [MATCHDAY, "worker", "--concurrency", "1", "--pool", "solo"]
            with (
                running_server(env, workdir / "serve.log", args.processes) as (server, port),
                running(worker_cmd, env, workdir / "worker.log", lambda: True),
            ):
                log(f"matchday on {port} ({args.processes} process(es)), PostgreSQL {url}")
                token, games = seed(port, args.games)
                log(f"seeded {len(games)} games")
                offset = 0
                if args.closed:
                    time.sleep(1.0)  # the seed's follow-ups settle
                    closed = cpu_per_write(args, server.pid, engine, port, token, games, offset)
                    log(f"closed loop: {closed}")
                    results.append(closed)
                for rate in args.rates if not args.closed else []:
                    time.sleep(1.0)  # the seed's or the last rate's follow-ups settle
                    with engine.begin() as conn:
                        conn.execute(sa.text("SELECT pg_stat_statements_reset()"))
                    # The servers' own CPU while idle (relay, hub, pools), to take off below.
                    idle_before = tree_cpu_seconds(server.pid)
                    time.sleep(2.0)
                    idle_per_second = (tree_cpu_seconds(server.pid) - idle_before) / 2.0
                    versions_before = versions(engine)
                    cpu_before = tree_cpu_seconds(server.pid)
                    started = time.monotonic()
                    profiler = None
                    if args.py_spy and not results:  # the first rate only
                        profiler = harness.start_py_spy(
                            server.pid, args.seconds, args.py_spy, args.processes > 1
                        )
                    result = one_rate(rate, args, port, token, games, offset)
                    harness.stop_py_spy(profiler)
                    # On a starved host the server is still working off requests the
                    # generator gave up on: the CPU is counted until it has applied them all,
                    # per score applied (each raises its game's version by one).
                    applied = settled_versions(engine) - versions_before
                    cpu = tree_cpu_seconds(server.pid) - cpu_before
                    busy = cpu - idle_per_second * (time.monotonic() - started)
                    result["server_cpu_seconds"] = round(cpu, 3)
                    result["server_idle_cpu_per_second"] = round(idle_per_second, 4)
                    result["scores_applied"] = applied
                    result["server_cpu_ms_per_write"] = (
                        round(busy * 1000 / applied, 2) if applied else None
                    )
                    result["server_rss_mib"] = round(tree_rss_kib(server.pid) / 1024, 1)
                    result["db_connections"] = connections_in_use(engine)
                    time.sleep(1.0)  # the audit entries of the last scores land
                    result["statements"] = top_statements(engine)
                    offset += math.ceil(rate * args.seconds / len(games)) + 1
                    results.append(result)
                    log(
                        f"{rate}/s offered: p50 {result['p50_ms']:.1f} ms, p95 "
                        f"{result['p95_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
                        f"errors {result['errors']} {result['statuses']}"
                    )
        finally:
            engine.dispose()
            backend.cleanup()
    return {
        "benchmark": "score_writes",
        "machine": machine(),
        "processes": args.processes,
        "games": args.games,
        "rates": results,
    }


def summary_line(report: dict[str, Any]) -> str:
    if report["rates"] and "closed_loop" in report["rates"][0]:
        r = report["rates"][0]
        return (
            f"score_writes ({report['processes']} proc, PostgreSQL): {r['scores_applied']} "
            f"scores closed-loop ({r['concurrency']} at a time) in {r['seconds']} s, "
            f"server CPU {r['server_cpu_ms_per_write']} ms/write"
        )
    parts = []
    for r in report["rates"]:
        slowest = max((s["p95_est_ms"] for s in r["statements"]), default=0.0)
        parts.append(
            f"{r['offered_rps']}/s p50 {r['p50_ms']:.0f} p95 {r['p95_ms']:.0f} "
            f"p99 {r['p99_ms']:.0f} ms, errors {r['errors']}, worst query p95~ {slowest:.1f} ms, "
            f"server CPU {r['server_cpu_ms_per_write']} ms/write"
        )
    at_500 = [r for r in report["rates"] if r["offered_rps"] == 500]
    verdict = ""
    if at_500:
        met = at_500[0]["p99_ms"] < 100 and at_500[0]["errors"] == 0
        verdict = f"; target (p99 < 100 ms at 500/s) {'met' if met else 'MISSED'}"
    return f"score_writes ({report['processes']} proc, PostgreSQL): " + "; ".join(parts) + verdict


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rates",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[500, 1000],
        help="offered requests a second, comma-separated",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="each rate")
    parser.add_argument("--processes", type=int, default=2, help="matchday serve --processes")
    parser.add_argument("--games", type=int, default=760, help="games the scores spread over")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request")
    parser.add_argument("--py-spy", metavar="FILE", help="profile the server at the first rate")
    parser.add_argument(
        "--closed",
        type=int,
        metavar="N",
        help="instead of the rates: N scores closed-loop, for the server CPU per write",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="with --closed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    harness.report_run("writes-bench", parse_args(argv), measure, summary_line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
