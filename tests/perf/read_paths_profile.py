"""Profile of the read paths: Matchday against a bare Tornado handler, and what each
per-request middleware costs.

    .venv/bin/python tests/perf/read_paths_profile.py [--processes 2] [--connections 50]
        [--duration 8] [--rounds 3] [--paths standings,event,games,events,healthz]
        [--profile standings] [--middleware] [--json]

1. Seeds PostgreSQL (its own schema): 32 public events, one of them with 20 teams and 190
   games. Starts `matchday serve --processes N` (PostgreSQL + Redis, rate limits off, logs at
   the default level to /dev/null) and a bare Tornado app with N processes whose one handler
   returns a fixed 2 KB JSON body from memory.
2. For each read path, `wrk -t2 -cC -dDs --latency` against the bare handler, then against the
   path, ROUNDS times (paired, same run): req/s, p50, p99, and their ratios to the bare one.
3. `--profile PATH`: py-spy samples one server process while wrk loads PATH; prints the
   functions that took the most samples (self and inclusive).
4. `--middleware`: in this process, on a real application (PostgreSQL + Redis), the cost per
   request of each per-request step (request id, security headers, CORS, rate limits on
   Redis, authentication with a bearer token read from the database and remembered, the
   access log line), in microseconds.

Prints a JSON document (with --json) and one summary line. Traffic only to 127.0.0.1; every
wait is bounded; processes, the schema and the Redis keys are removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from config.settings import load_settings  # noqa: E402
from models import Event, Game, Team, User  # noqa: E402
from models.db import make_sync_engine, sync_session_factory  # noqa: E402
from models.domain.schedule import round_robin  # noqa: E402
from tests.support import (  # noqa: E402
    REDIS_URL,
    TEST_SECRET,
    create_pg_schema,
    delete_redis_keys,
    drop_pg_schema,
    pg_schema_url,
)

MATCHDAY = str(Path(sys.executable).with_name("matchday"))
PY_SPY = Path(sys.executable).with_name("py-spy")
BARE_APP = """
import json, sys, tornado.ioloop, tornado.netutil, tornado.process, tornado.web, asyncio
BODY = json.dumps({"items": [{"id": i, "name": f"Team {i:02d}", "group": None}
                             for i in range(40)]}).encode()[:2048]
class Bare(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(BODY)
sockets = tornado.netutil.bind_sockets(int(sys.argv[1]), "127.0.0.1")
if int(sys.argv[2]) > 1:
    tornado.process.fork_processes(int(sys.argv[2]))
async def main():
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/.*", Bare)]))
    server.add_sockets(sockets)
    await asyncio.Event().wait()
import tornado.httpserver
asyncio.run(main())
"""


def seed(url: str) -> dict[str, int]:
    """32 public events; the first has 20 teams and a round robin of 190 games."""
    engine = make_sync_engine(load_settings({"DATABASE_URL": url, "JWT_SECRET": TEST_SECRET}))
    with sync_session_factory(engine).begin() as session:
        owner = User(email="bench@example.com", display_name="b", password_hash="x")
        session.add(owner)
        session.flush()
        events = [
            Event(
                name=f"League {i}",
                owner_id=owner.id,
                scoring={"win": 3, "draw": 1, "loss": 0},
                tiebreakers=["score_diff", "score_for", "head_to_head"],
            )
            for i in range(32)
        ]
        session.add_all(events)
        session.flush()
        teams = [Team(event_id=events[0].id, name=f"Team {i:02d}") for i in range(20)]
        session.add_all(teams)
        session.flush()
        session.add_all(
            Game(
                event_id=events[0].id,
                home_team_id=f.home_team_id,
                away_team_id=f.away_team_id,
                round=f.round,
                status="scheduled",
            )
            for f in round_robin([t.id for t in teams])
        )
        ids = {"event": events[0].id, "owner": owner.id}
    engine.dispose()
    return ids


def paths(event_id: int) -> dict[str, str]:
    return {
        "standings": f"/api/v1/events/{event_id}/standings",
        "event": f"/api/v1/events/{event_id}",
        "games": f"/api/v1/events/{event_id}/games?per_page=200",
        "teams": f"/api/v1/events/{event_id}/teams",
        "events": "/api/v1/events",
        "healthz": "/healthz",
    }


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    from urllib.request import urlopen

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urlopen(url, timeout=2) as reply:
                reply.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(each) for each in found]


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[unit]


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its children (the serve workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in [root, *children(root)]:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def wrk(url: str, connections: int, duration: float, server: int = 0) -> dict[str, float]:
    """One wrk run; with `server` (a pid), also the server's CPU per request."""
    cpu_before = cpu_seconds(server) if server else 0.0
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "5s", url],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    cpu = cpu_seconds(server) - cpu_before if server else 0.0
    return {
        "rps": rps,
        "cpu_us_per_request": 1e6 * cpu / max(requests, 1),
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "errors": float(errors.group(1)) if errors else 0.0,
        "timeouts": float(timeouts.group(1)) if timeouts else 0.0,
    }


def profile(pid: int, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """py-spy on one server process while wrk loads `url`: the top frames."""
    out = Path(tempfile.mkdtemp()) / "profile.txt"
    spy = subprocess.Popen(
        [
            str(PY_SPY),
            "record",
            "-p",
            str(pid),
            "-d",
            str(int(args.duration)),
            "-r",
            "500",
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    load = wrk(url, args.connections, args.duration - 1)
    spy.wait(timeout=args.duration + 30)
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)

    def top(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(frame, round(100 * n / total, 1)) for frame, n in counter.most_common(70)]

    return {"load": load, "samples": total, "self_pct": top(own), "inclusive_pct": top(inclusive)}


# --- middleware costs, in this process --------------------------------------------------


class _Connection:
    """Enough of an HTTP connection for a handler to run to its end without a socket."""

    def set_close_callback(self, callback: Any) -> None:
        pass

    def write_headers(self, *args: Any, **kwargs: Any) -> None:
        pass

    def write(self, *args: Any, **kwargs: Any) -> Any:
        return _done()

    def finish(self) -> None:
        pass


def _done() -> asyncio.Future[None]:
    future = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


async def middleware_costs(url: str, prefix: str, ids: dict[str, int]) -> dict[str, Any]:
    """Per request, each step alone on a real application (PostgreSQL + Redis): CPU µs
    (process time: what the loop spends; the median of 5 repeats) and, for steps that wait
    on Redis or PostgreSQL, wall µs (one at a time, so the round trip included)."""
    import tornado.web
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    from config.logging import JsonFormatter
    from server.access_log import log_request
    from server.app import make_app
    from server.base import BaseHandler, new_request_id
    from server.cors import apply_cors_headers
    from server.handlers.events import EventHandler
    from server.security_headers import apply_security_headers
    from server.services.auth import start_family

    base = {"DATABASE_URL": url, "JWT_SECRET": TEST_SECRET, "REDIS_URL": REDIS_URL}
    base |= {"REDIS_KEY_PREFIX": prefix, "TASK_RUNNER": "local", "BCRYPT_ROUNDS": "4"}
    app = await make_app(load_settings({**base, "RATE_LIMITS": "ip:1000000/1,user:1000000/1"}))
    async with app.sessions() as session, session.begin():
        token = start_family(session, app.tokens, ids["owner"]).access_token
    bare_app = tornado.web.Application([])

    def request(headers: dict[str, str] | None = None) -> HTTPServerRequest:
        line = RequestStartLine("GET", f"/api/v1/events/{ids['event']}", "HTTP/1.1")
        made = HTTPServerRequest(
            start_line=line,
            headers=HTTPHeaders({"Host": "127.0.0.1", **(headers or {})}),
            connection=_Connection(),  # type: ignore[arg-type]
        )
        made.remote_ip = "127.0.0.1"
        return made

    def handler(headers: dict[str, str] | None = None) -> BaseHandler:
        return EventHandler(app, request(headers))

    def cpu(fn: Any, n: int = 2000) -> float:
        runs = []
        for _ in range(5):
            started = time.process_time()
            for _ in range(n):
                fn()
            runs.append((time.process_time() - started) / n * 1e6)
        return statistics.median(runs)

    async def waits(fn: Any, n: int = 500) -> tuple[float, float]:
        cpu_runs, wall_runs = [], []
        for _ in range(5):
            wall, started = time.perf_counter(), time.process_time()
            for _ in range(n):
                await fn()
            cpu_runs.append((time.process_time() - started) / n * 1e6)
            wall_runs.append((time.perf_counter() - wall) / n * 1e6)
        return statistics.median(cpu_runs), statistics.median(wall_runs)

    access = logging.getLogger("tornado.access")
    access.handlers[:] = [logging.FileHandler(os.devnull)]
    access.handlers[0].setFormatter(JsonFormatter())
    access.propagate = False
    access.setLevel(logging.INFO)
    one = handler()
    anonymous = handler()
    costs: dict[str, Any] = {
        "bare_tornado_handler_created_cpu_us": cpu(
            lambda: tornado.web.RequestHandler(bare_app, request())
        ),
        "handler_created_cpu_us": cpu(handler),  # Tornado's part + ours below
        "request_id_cpu_us": cpu(lambda: (one._incoming_request_id(), new_request_id())),
        "security_headers_cpu_us": cpu(lambda: apply_security_headers(one)),
        "cors_headers_cpu_us": cpu(lambda: apply_cors_headers(one, app.config.cors_origins)),
        "access_log_line_cpu_us": cpu(lambda: log_request(one)),
        "standings_cache_hit_cpu_us": cpu(lambda: app.standings_cache.get_public(ids["event"])),
    }
    costs["rate_limits_redis_cpu_us"], costs["rate_limits_redis_wall_us"] = await waits(
        one.limit_address
    )
    limits, app.throttle.backend = app.throttle.backend, None  # off, as in the paired runs
    costs["prepare_anonymous_cpu_us"], _ = await waits(anonymous.prepare)
    authed = handler({"Authorization": f"Bearer {token}"})
    # A remembered token (server/auth/cache.py), then one read from the database each time.
    costs["authentication_cached_cpu_us"], _ = await waits(authed._authenticate)
    remembered, app.auth_cache.ttl = app.auth_cache.ttl, 0.0
    app.auth_cache.clear()
    costs["authentication_cpu_us"], costs["authentication_wall_us"] = await waits(
        authed._authenticate, 100
    )
    app.auth_cache.ttl = remembered
    await app.reads.event(ids["event"], None)
    costs["read_cache_hit_cpu_us"], costs["read_cache_hit_wall_us"] = await waits(
        lambda: app.reads.event(ids["event"], None)
    )
    costs |= await cached_event_memory(app, ids["event"])
    app.throttle.backend = limits
    await app.close()
    return {name: round(value, 1) for name, value in costs.items()}


async def cached_event_memory(app: Any, event_id: int) -> dict[str, float]:
    """Bytes the read cache holds for one event of 20 teams and 190 games, read as a page
    opening it reads it (the event, its teams, its games 50 and 200 a page): the traced
    allocations still alive after a second load (the first one warms SQLAlchemy's caches)."""
    import gc
    import tracemalloc

    async def load() -> None:
        await app.reads.event(event_id, None)
        await app.reads.teams(event_id, None, 1, 50)
        for per_page in (50, 200):
            await app.reads.games(event_id, None, {"page": 1, "per_page": per_page})

    await load()
    app.read_cache.forget(event_id)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    await load()
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    entry = app.read_cache._events[event_id]
    bodies = len(entry.event.data) + sum(
        len(body.data) for parts in (entry.teams, entry.games) for body in parts._bodies.values()
    )
    return {"cached_event_kib": round(held / 1024, 1), "cached_event_bodies_kib": bodies / 1024}


# --- the run ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (Debian package wrk)")
    schema = create_pg_schema()
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    url = pg_schema_url(schema)
    processes: list[subprocess.Popen[bytes]] = []
    result: dict[str, Any] = {"processes": args.processes, "connections": args.connections}
    try:
        ids = seed(url)
        port, bare_port = free_port(), free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": prefix,
            "JWT_SECRET": TEST_SECRET,
            "TASK_RUNNER": "local",
            "RATE_LIMIT_ENABLED": "false",
            "DATA_DIR": tempfile.mkdtemp(),
        }
        serve = [MATCHDAY, "serve", "--port", str(port), "--processes", str(args.processes)]
        log = open(os.devnull, "wb")  # noqa: SIM115 (lives as long as the servers)
        processes.append(subprocess.Popen(serve, env=env, stderr=log, start_new_session=True))
        bare = [sys.executable, "-c", BARE_APP, str(bare_port), str(args.processes)]
        processes.append(subprocess.Popen(bare, stderr=log, start_new_session=True))
        wait_http(f"http://127.0.0.1:{port}/healthz")
        wait_http(f"http://127.0.0.1:{bare_port}/")
        targets = paths(ids["event"])
        for path in targets.values():  # warm every process's caches
            for _ in range(4 * args.processes):
                wait_http(f"http://127.0.0.1:{port}{path}")
        bare_url = f"http://127.0.0.1:{bare_port}/"
        reads: dict[str, Any] = {}
        for name in [each for each in args.paths.split(",") if each]:
            pairs = []
            for _ in range(args.rounds):
                baseline = wrk(bare_url, args.connections, args.duration, processes[1].pid)
                path_url = f"http://127.0.0.1:{port}{targets[name]}"
                measured = wrk(path_url, args.connections, args.duration, processes[0].pid)
                pairs.append((baseline, measured))
            reads[name] = summarise(pairs)
            print(f"{name}: {json.dumps(reads[name])}", file=sys.stderr)
        result["reads"] = reads
        if args.profile:
            worker = children(processes[0].pid)[0] if args.processes > 1 else processes[0].pid
            url_ = f"http://127.0.0.1:{port}{targets[args.profile]}"
            result["profile"] = {args.profile: profile(worker, url_, args)}
        if args.middleware:
            result["middleware"] = asyncio.run(middleware_costs(url, prefix + "mw:", ids))
    finally:
        for process in processes:
            stop(process)
        asyncio.run(delete_redis_keys(prefix))
        drop_pg_schema(schema)
    return result


def summarise(pairs: list[tuple[dict[str, float], dict[str, float]]]) -> dict[str, float]:
    def median(side: int, key: str) -> float:
        return round(statistics.median(pair[side][key] for pair in pairs), 2)

    rps_ratio = statistics.median(m["rps"] / b["rps"] for b, m in pairs)
    p99_ratio = statistics.median(m["p99_ms"] / b["p99_ms"] for b, m in pairs)
    return {
        "rps": median(1, "rps"),
        "p50_ms": median(1, "p50_ms"),
        "p99_ms": median(1, "p99_ms"),
        "cpu_us_per_request": median(1, "cpu_us_per_request"),
        "bare_cpu_us_per_request": median(0, "cpu_us_per_request"),
        "bare_rps": median(0, "rps"),
        "bare_p99_ms": median(0, "p99_ms"),
        "rps_ratio": round(rps_ratio, 2),
        "p99_ratio": round(p99_ratio, 2),
        "errors": sum(m["errors"] + m["timeouts"] for _b, m in pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paths", default="standings,event,games,events,healthz")
    parser.add_argument("--profile", default="", help="a path name to sample with py-spy")
    parser.add_argument("--middleware", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    line = ", ".join(
        f"{name} {r['rps']:.0f} req/s ({r['rps_ratio']}x bare) p99 {r['p99_ms']:.0f} ms "
        f"({r['p99_ratio']}x)"
        for name, r in result.get("reads", {}).items()
    )
    print(f"read paths, {args.processes} processes, {args.connections} connections: {line}")
    if "profile" in result and not args.json:
        for name, found in result["profile"].items():
            print(f"profile of {name} ({found['samples']} samples), inclusive %:")
            for frame, share in found["inclusive_pct"]:
                print(f"  {share:5.1f}  {frame}")
            print("self %:")
            for frame, share in found["self_pct"]:
                print(f"  {share:5.1f}  {frame}")
    if "middleware" in result and not args.json:
        print("middleware, µs per request: " + json.dumps(result["middleware"]))


if __name__ == "__main__":
    main()
