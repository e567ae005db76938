"""A mixed locust run against a real deployment on this host, with memory sampled throughout.

    .venv/bin/python tests/load/mixed_run.py [--minutes 5] [--users 200] [--processes 2]

Needs the `load` extra (`uv pip install -e '.[load]'`). Starts `matchday serve --processes N`
and one `matchday worker` on PostgreSQL (a fresh schema on 127.0.0.1:5432) + Redis (a unique
key prefix), rate limits off, creates an admin with `matchday create-admin`, then runs
`locust -f tests/load/locustfile.py --headless` for --minutes. Every --sample seconds the RSS of
the server processes (and the worker) is read from /proc. Printed: locust's figures per
request name (count, failures, p50/p95/p99), the RSS series, and its growth over the run after
the first minute (the warm-up: caches filling, pools connecting); JSON, then one summary line.
Exit status 1 if a request failed. 127.0.0.1 only; everything is removed at the end.
"""

from __future__ import annotations

import argparse
import csv
import re
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf import harness
from tests.perf.harness import (
    HOST,
    MATCHDAY,
    machine,
    production_backend,
    running,
    running_server,
    server_env,
    tree_cpu_seconds,
    tree_rss_kib,
)

HERE = Path(__file__).resolve().parent
LOCUST = str(Path(sys.executable).with_name("locust"))


def log(message: str) -> None:
    harness.log(message, "load")


def create_admin(env: dict[str, str]) -> tuple[str, str]:
    email, password = "load-admin@example.com", secrets.token_urlsafe(16)
    command = [MATCHDAY, "create-admin", "--email", email, "--password", password]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)
    return email, password


def locust_stats(prefix: Path) -> list[dict[str, Any]]:
    rows = []
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append(
                {
                    "type": row["Type"],
                    "name": row["Name"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "rps": round(float(row["Requests/s"]), 1),
                    "p50_ms": _number(row["50%"]),
                    "p95_ms": _number(row["95%"]),
                    "p99_ms": _number(row["99%"]),
                    "max_ms": round(float(row["Max Response Time"]), 1),
                }
            )
    return rows


def _number(text: str) -> float | None:
    return None if text in ("", "N/A") else float(text)


def growth(samples: list[dict[str, Any]], key: str) -> dict[str, float]:
    """RSS after the first minute and at the end (means of the first and last three samples
    past it); MiB, and MiB per minute between them."""
    settled = [s for s in samples if s["t"] >= 60] or samples
    head, tail = settled[:3], settled[-3:]
    start = statistics.mean(s[key] for s in head) / 1024
    end = statistics.mean(s[key] for s in tail) / 1024
    minutes = max(1e-9, (tail[-1]["t"] - head[0]["t"]) / 60)
    return {
        "start_mib": round(start, 1),
        "end_mib": round(end, 1),
        "mib_per_minute": round((end - start) / minutes, 2),
    }


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    backend = production_backend(workdir)
    try:
        env = server_env(backend)
        email, password = create_admin(env)
        worker_cmd = [MATCHDAY, "worker", "--concurrency", "1"]
        with (
            running_server(env, workdir / "serve.log", args.processes) as (server, port),
            running(worker_cmd, env, workdir / "worker.log", lambda: True) as worker,
        ):
            prefix = workdir / "locust"
            command = [
                LOCUST, "-f", str(HERE / "locustfile.py"), "--headless",
                "-u", str(args.users), "-r", str(args.spawn_rate),
                "-t", f"{args.minutes * 60:.0f}s", "--host", f"http://{HOST}:{port}",
                "--csv", str(prefix), "--only-summary", "--stop-timeout", "30",
                "--loglevel", "WARNING",
            ]  # fmt: skip
            locust_env = {**env, "MATCHDAY_ADMIN_EMAIL": email, "MATCHDAY_ADMIN_PASSWORD": password}
            log(f"locust: {args.users} users for {args.minutes} min against port {port}")
            started = time.monotonic()
            with open(workdir / "locust.log", "wb") as locust_log:
                runner = subprocess.Popen(
                    command, env=locust_env, stdout=locust_log, stderr=subprocess.STDOUT
                )
                samples = []
                deadline = started + args.minutes * 60 + 120
                while runner.poll() is None and time.monotonic() < deadline:
                    samples.append(
                        {
                            "t": round(time.monotonic() - started, 1),
                            "server_kib": tree_rss_kib(server.pid),
                            "worker_kib": tree_rss_kib(worker.pid),
                            "server_cpu_s": round(tree_cpu_seconds(server.pid), 1),
                            "host_load_1m": float(Path("/proc/loadavg").read_text().split()[0]),
                        }
                    )
                    time.sleep(args.sample)
                if runner.poll() is None:
                    runner.kill()
                runner.wait(30)
            stats = locust_stats(prefix)
            streamed = re.findall(
                r"stream events received: (\d+) over (\d+) holds",
                (workdir / "locust.log").read_text(errors="replace"),
            )
    finally:
        backend.cleanup()
    return {
        "benchmark": "locust_mixed",
        "machine": machine(),
        "processes": args.processes,
        "users": args.users,
        "minutes": args.minutes,
        "locust_exit": runner.returncode,
        "requests": stats,
        "stream_events": int(streamed[-1][0]) if streamed else None,
        "stream_holds": int(streamed[-1][1]) if streamed else None,
        "rss_samples": samples,
        "server_rss": growth(samples, "server_kib"),
        # How much CPU the servers got: on a shared host, the rest went to other work.
        "server_cpu_per_second": round(
            (samples[-1]["server_cpu_s"] - samples[0]["server_cpu_s"])
            / max(1e-9, samples[-1]["t"] - samples[0]["t"]),
            2,
        ),
        "host_load_1m_median": statistics.median(s["host_load_1m"] for s in samples),
        "worker_rss": growth(samples, "worker_kib"),
    }


def summary_line(report: dict[str, Any]) -> str:
    total = next((r for r in report["requests"] if r["name"] == "Aggregated"), None)
    rss = report["server_rss"]
    if total is None:
        return "locust_mixed: no statistics (see the locust log)"
    return (
        f"locust_mixed ({report['users']} users, {report['minutes']} min, "
        f"{report['processes']} proc): {total['requests']} requests, {total['failures']} "
        f"failures, {total['rps']}/s, p95 {total['p95_ms']} ms, p99 {total['p99_ms']} ms; "
        f"{report['stream_events']} stream events over {report['stream_holds']} holds; "
        f"server RSS {rss['start_mib']} -> {rss['end_mib']} MiB "
        f"({rss['mib_per_minute']:+.2f} MiB/min after the first minute); servers used "
        f"{report['server_cpu_per_second']} CPU, host load {report['host_load_1m_median']}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--spawn-rate", type=float, default=20.0, help="users started a second")
    parser.add_argument("--processes", type=int, default=2, help="matchday serve --processes")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--keep", metavar="DIR", help="copy the logs and CSVs here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(LOCUST).exists():
        print("locust not installed: uv pip install -e '.[load]'", file=sys.stderr)
        return 2
    report = harness.report_run("load", args, measure, summary_line, keep=args.keep)
    failures = sum(r["failures"] for r in report["requests"] if r["name"] == "Aggregated")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
