"""Read paths against a bare Tornado handler, same process count, same run: req/s, p50/p95/p99.

    .venv/bin/python tests/perf/http_reads.py [--processes 2] [--seconds 4] [--rounds 1]

Needs `wrk` (Debian: `apt-get install -y wrk`). The driver starts `matchday serve --processes N`
on PostgreSQL (a fresh schema on 127.0.0.1:5432) + Redis (a unique key prefix), rate limits
off, and seeds it over the REST API: 32 public events, one of them with 20 teams and a round
robin (190 games), 40 of which are final, so its standings have rows. It also starts
tests/perf/bare_server.py (a fixed 2 KB JSON body from memory) with the same N. Then, for each
read, a `wrk -t2 -cC` run on the bare server and one on Matchday follow each other, and the
ratios (req/s Matchday / bare; p99 Matchday / bare) are printed per pair; with --rounds R the
medians over rounds. The larger bodies (standings, the events list, the games list) are read
twice: as a client that takes only identity (wrk's default) and as a browser does
(`Accept-Encoding: gzip`, named "<path> gzip"); the bare handler gets the same header and
answers its 2 KB unencoded. wrk runs on the same cores as the servers (2 here): the bare handler's
figures in the same run are the ceiling this machine allows.

Prints one JSON object (stdout), then one summary line. Every wait is bounded; traffic goes
only to 127.0.0.1; the servers, the schema and the Redis keys are removed at the end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf import harness
from tests.perf.harness import (
    HOST,
    Rest,
    free_port,
    host_cpu,
    machine,
    own_cpu_seconds,
    process_tree,
    production_backend,
    running,
    running_server,
    server_env,
    wait_for_quiet_host,
)

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk_report.lua"
EVENTS = 32
TEAMS = 20  # a round robin of 20 teams: 190 games
FINALS = 40


def log(message: str) -> None:
    harness.log(message, "reads-bench")


def seed(port: int) -> dict[str, str]:
    """The league data; the paths to measure, by name."""
    rest = Rest(port).sign_in("owner")
    event_id, _teams = rest.league("Read Paths Cup", TEAMS, schedule="round_robin")
    for number in range(EVENTS - 1):
        rest.expect(201, "POST", "/api/v1/events", {"name": f"Other Cup {number:02d}"})
    games = rest.expect(200, "GET", f"/api/v1/events/{event_id}/games?per_page=200")["items"]
    for number, game in enumerate(games[:FINALS]):
        body = {"home_score": number % 4, "away_score": number % 3, "status": "final"}
        rest.expect(200, "PUT", f"/api/v1/games/{game['id']}/score", body)
    base = f"/api/v1/events/{event_id}"
    deadline = time.monotonic() + 60
    while (
        sum(row["played"] for row in rest.expect(200, "GET", f"{base}/standings")["rows"])
        < 2 * FINALS
    ):
        if time.monotonic() > deadline:  # the recompute after the last final
            raise RuntimeError("standings did not count every final within 60 s")
        time.sleep(0.2)
    return {
        "standings": f"{base}/standings",
        "event": base,
        "events": "/api/v1/events?per_page=50",
        "games": f"{base}/games?per_page=200",
        "healthz": "/healthz",
    }


GZIP = "Accept-Encoding: gzip"
GZIPPED_PATHS = ("standings", "events", "games")  # bodies over 1 KB: sent gzipped if accepted


def with_gzip_reads(paths: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """Every path as wrk's default client reads it, and the larger bodies as a browser does."""
    reads: dict[str, tuple[str, str | None]] = {}
    for name, path in paths.items():
        reads[name] = (path, None)
        if name in GZIPPED_PATHS:
            reads[f"{name} gzip"] = (path, GZIP)
    return reads


def check_sizes(port: int, reads: dict[str, tuple[str, str | None]]) -> dict[str, int]:
    """Each read answers 200 with what the run claims (32 events, 190 games, gzip when
    asked): body bytes as sent."""
    sizes = {}
    for name, (path, header) in reads.items():
        request = urllib.request.Request(f"http://{HOST}:{port}{path}")
        if header:
            request.add_header(*header.split(": ", 1))
        with urllib.request.urlopen(request, timeout=30) as reply:
            data = reply.read()
            encoding = reply.headers.get("Content-Encoding")
        sizes[name] = len(data)
        if header:
            if encoding != "gzip":
                raise RuntimeError(f"{name}: asked for gzip, got {encoding!r}")
            data = gzip.decompress(data)
        if name.startswith("events") and json.loads(data)["total"] != EVENTS:
            raise RuntimeError(f"expected {EVENTS} events, got {json.loads(data)['total']}")
        if name.startswith("games") and len(json.loads(data)["items"]) != TEAMS * (TEAMS - 1) // 2:
            raise RuntimeError("the round robin did not give 190 games")
    return sizes


def wrk(
    port: int, path: str, seconds: int, args: argparse.Namespace, header: str | None = None
) -> dict[str, Any]:
    command = [
        args.wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, seconds)}s",
        "--timeout",
        "5s",
        "-s",
        str(WRK_SCRIPT),
        *(["-H", header] if header else []),
        f"http://{HOST}:{port}{path}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True)
    line = [x for x in done.stdout.splitlines() if x.startswith("{")][-1]
    raw = json.loads(line)
    seconds_run = raw["duration_us"] / 1e6
    errors = sum(raw["errors"].values())
    return {
        "rps": round(raw["requests"] / seconds_run, 1),
        "requests": raw["requests"],
        "errors": errors,
        "error_kinds": {k: v for k, v in raw["errors"].items() if v},
        **{f"{q}_ms": round(raw[f"{q}_us"] / 1000, 2) for q in ("p50", "p95", "p99", "max")},
    }


def pair(bare: dict[str, Any], ours: dict[str, Any]) -> dict[str, float]:
    return {
        "rps_ratio": round(ours["rps"] / bare["rps"], 3) if bare["rps"] else 0.0,
        "p99_ratio": round(ours["p99_ms"] / bare["p99_ms"], 2) if bare["p99_ms"] else 0.0,
    }


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    backend = production_backend(workdir)
    bare_port = free_port()
    bare_cmd = [sys.executable, str(HERE / "bare_server.py"), "--port", str(bare_port)]
    bare_cmd += ["--processes", str(args.processes)]

    def bare_ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{bare_port}/", timeout=2):
                return True
        except OSError:
            return False

    try:
        # Follow-up work (recompute, audit) in the server's own pool: no worker to start, and
        # none left over for the sweeper to do while reads are measured.
        env = server_env(backend, TASK_RUNNER="local")
        with (
            running_server(env, workdir / "serve.log", args.processes) as (_server, port),
            running(bare_cmd, env, workdir / "bare.log", bare_ready) as bare_server,
        ):
            log(f"matchday on {port}, bare on {bare_port}, {args.processes} process(es) each")
            started = time.monotonic()
            reads = with_gzip_reads(seed(port))
            sizes = check_sizes(port, reads)
            log(f"seeded in {time.monotonic() - started:.1f}s; body bytes {sizes}")
            for path, header in reads.values():  # warm-up: caches filled, pools connected
                wrk(port, path, args.warmup, args, header)
            wrk(bare_port, "/", args.warmup, args)
            ours_pids = [*process_tree(_server.pid), *process_tree(bare_server.pid)]
            other_load = wait_for_quiet_host(args.wait_quiet, ours_pids)
            host_before = host_cpu()[0] - own_cpu_seconds()
            window_start = time.monotonic()
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in reads}
            for round_number in range(args.rounds):
                for name, (path, header) in reads.items():
                    bare = wrk(bare_port, path, args.seconds, args, header)
                    ours = wrk(port, path, args.seconds, args, header)
                    runs[name].append({"bare": bare, "matchday": ours, **pair(bare, ours)})
                    log(
                        f"round {round_number + 1} {name:>14}: {ours['rps']:8.0f} req/s "
                        f"p99 {ours['p99_ms']:7.1f} ms | bare {bare['rps']:6.0f} req/s "
                        f"p99 {bare['p99_ms']:6.1f} ms | ratio {ours['rps'] / bare['rps']:.2f}"
                    )
            window = time.monotonic() - window_start
            # CPU of everything on the host but this driver, per second of the runs: servers
            # and wrk want all of it; what other processes take shows as lower ceilings.
            host_load = (host_cpu()[0] - own_cpu_seconds() - host_before) / window
    finally:
        backend.cleanup()
    return {
        "benchmark": "http_reads",
        "machine": machine(),
        "processes": args.processes,
        "other_load_before": round(other_load, 2),
        "host_cpus_busy_during_runs": round(host_load, 2),
        "wrk": {"threads": args.threads, "connections": args.connections, "seconds": args.seconds},
        "body_bytes": sizes,
        "paths": {name: summarise(items) for name, items in runs.items()},
    }


def summarise(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds of each figure, and every round as measured."""

    def median(side: str, key: str) -> float:
        return round(statistics.median(item[side][key] for item in items), 2)

    keys = ("rps", "p50_ms", "p95_ms", "p99_ms", "max_ms", "errors")
    return {
        "matchday": {key: median("matchday", key) for key in keys},
        "bare": {key: median("bare", key) for key in keys},
        "rps_ratio": round(statistics.median(item["rps_ratio"] for item in items), 3),
        "p99_ratio": round(statistics.median(item["p99_ratio"] for item in items), 2),
        "rounds": items,
    }


def summary_line(report: dict[str, Any]) -> str:
    parts = [
        f"{name} {p['matchday']['rps']:.0f}/s {p['rps_ratio']:.2f}x p99 {p['p99_ratio']:.1f}x"
        for name, p in report["paths"].items()
    ]
    errors = sum(p["matchday"]["errors"] for p in report["paths"].values())
    met = all(p["rps_ratio"] >= 0.8 and p["p99_ratio"] <= 1.5 for p in report["paths"].values())
    return (
        f"http_reads ({report['processes']} proc, vs bare): "
        + "; ".join(parts)
        + f"; errors {errors:.0f}; target (>=0.8x req/s, p99 <=1.5x) {'met' if met else 'MISSED'}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2, help="server processes, both servers")
    parser.add_argument("--seconds", type=int, default=3, help="each wrk run")
    parser.add_argument("--warmup", type=int, default=1, help="each warm-up wrk run")
    parser.add_argument("--rounds", type=int, default=1, help="paired rounds (medians printed)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--connections", type=int, default=100, help="wrk -c")
    parser.add_argument(
        "--wait-quiet", type=float, default=15.0, help="seconds to wait at most for a quiet host"
    )
    parser.add_argument("--wrk", default=shutil.which("wrk"), help="the wrk binary")
    args = parser.parse_args(argv)
    if not args.wrk:
        parser.error("wrk not found: install it (Debian/Ubuntu: apt-get install -y wrk)")
    return args


def main(argv: list[str] | None = None) -> int:
    harness.report_run("reads-bench", parse_args(argv), measure, summary_line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
