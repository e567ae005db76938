"""The multi-host rehearsal (docs/deployment.md, "Multi-host rehearsal"; `make rehearsal`).

    sudo .venv/bin/python tests/rehearsal/multihost.py [--lose kill|stop|cable] [--delay-ms 20]

Builds five network namespaces joined by a bridge (10.77.0.0/24): `data` (PostgreSQL and
Redis of their own), API hosts `a` and `b` (`matchday serve`), `worker` (`matchday worker`),
and `lan` (the bridge, and the spectators and scorer of this script). Then proves, from the
lan (tests/rehearsal/scenario.py): a score posted through B reaches spectators on A within a
second and the worker's table reaches both; when A is lost its spectators resume on B with
`Last-Event-ID` and miss nothing while scores keep arriving through B; B keeps serving.

Prints the figures as JSON on stdout, then one summary line. Exit status: 0 all held, 1 a
check failed, 2 cannot run here (not root, no namespaces, tools missing), 3 interrupted or out
of time. Everything it made (namespaces, processes, data directories) is removed on every
way out: normal end, failure, Ctrl-C, SIGTERM, the --timeout alarm, or its parent dying.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: the repository on the path, like tests/perf
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tornado.httpclient import HTTPClientError

from tests.rehearsal.hosts import API_PORT, WORKER_METRICS_PORT, Stack, missing_tools
from tests.rehearsal.network import (
    Network,
    remove_namespaces,
    stale_namespaces,
    unavailable_reason,
)
from tests.rehearsal.scenario import CheckFailed, Options, Targets, rehearse
from tests.support import Api

HOSTS = ["data", "a", "b", "worker"]
RUN_DIR_PREFIX = "matchday-rehearsal-"
PR_SET_PDEATHSIG = 1
HEARTBEAT_SECONDS = 1.0  # servers' SSE heartbeat: a pulled cable shows within 3 of them
DRAIN_SECONDS = 3.0


class Abort(SystemExit):
    """Raised from a signal handler: a SystemExit, so asyncio lets it through every task and
    callback and the clean-up in `main` runs."""


def log(message: str) -> None:
    print(f"[rehearsal {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _on_signal(signum: int, _frame: Any) -> None:
    name = "timeout" if signum == signal.SIGALRM else signal.Signals(signum).name
    raise Abort(f"interrupted ({name})")


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def remove_leftovers() -> None:
    """What rehearsals killed with SIGKILL left behind: their orchestrator's pid is gone."""
    if stale := stale_namespaces():
        log(f"removing namespaces of earlier rehearsals: {', '.join(stale)}")
        remove_namespaces(stale)
    for path in Path(tempfile.gettempdir()).glob(f"{RUN_DIR_PREFIX}*"):
        pid = path.name.removeprefix(RUN_DIR_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(path, ignore_errors=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lose",
        choices=["kill", "stop", "cable"],
        default="kill",
        help="how host A is lost: SIGKILL to its processes, SIGTERM (a drain), or its link "
        "taken down (default: kill)",
    )
    parser.add_argument("--delay-ms", type=float, default=0.0, help="netem delay on each link")
    parser.add_argument("--spectators", type=int, default=3, help="spectators on host A")
    parser.add_argument("--timeout", type=float, default=150.0, help="whole run, seconds")
    parser.add_argument("--keep-logs", type=Path, help="copy the hosts' logs here at the end")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if reason := unavailable_reason():
        print(f"multihost rehearsal: cannot run here: {reason}", file=sys.stderr)
        return 2
    if missing := missing_tools():
        print(
            f"multihost rehearsal: cannot run here: missing {', '.join(missing)}", file=sys.stderr
        )
        return 2
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(signum, _on_signal)
    _die_with_parent()
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    remove_leftovers()

    began = time.monotonic()
    timings: dict[str, float] = {}
    network = Network()
    root = Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-"))
    root.chmod(0o755)  # the postgres user reaches its directory inside
    stack: Stack | None = None
    result: dict[str, Any] = {}
    status = 0
    try:
        mark = time.monotonic()

        def lap(name: str) -> None:
            nonlocal mark
            timings[name] = round(time.monotonic() - mark, 2)
            mark = time.monotonic()

        network.build(HOSTS)
        network.add_delay(args.delay_ms)
        lap("network_s")
        hosts = network.hosts
        log(f"namespaces {', '.join(network.created)}; links: delay {network.delay}")
        stack = Stack(root, hosts["data"])
        stack.start_postgres()
        stack.start_redis()
        lap("data_host_s")
        stack.migrate(hosts["worker"])
        lap("migrate_s")
        server_settings = {
            "SSE_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "DRAIN_SECONDS": str(DRAIN_SECONDS),
        }
        api = {name: stack.serve(hosts[name], **server_settings) for name in ("a", "b")}
        worker = stack.worker(hosts["worker"])
        # Every socket of this process from here on is on the rehearsal's bridge.
        network.enter_lan()
        urls = {name: f"http://{hosts[name].address}:{API_PORT}" for name in api}
        asyncio.run(_wait_ready(urls, api))
        stack.wait_worker(worker, 60)
        lap("hosts_ready_s")

        def lose_a() -> str:
            proc = api["a"].proc
            if args.lose == "cable":
                network.set_link("a", up=False)
                return "cable pulled (link down)"
            os.killpg(proc.pid, signal.SIGKILL if args.lose == "kill" else signal.SIGTERM)
            return "SIGKILL" if args.lose == "kill" else "SIGTERM (drain)"

        targets = Targets(
            a=urls["a"],
            b=urls["b"],
            redis_url=stack.redis_url,
            worker_metrics=f"http://{hosts['worker'].address}:{WORKER_METRICS_PORT}",
            metrics_token=stack.secret,
        )
        options = Options(spectators=args.spectators)
        result = asyncio.run(rehearse(targets, lose_a, options))
        lap("rehearsal_s")
    except CheckFailed as exc:
        status = 1
        result["failed"] = str(exc)
        log(f"FAILED: {exc}")
    except Abort as exc:
        status = 3
        result["failed"] = str(exc.code)
        log(str(exc.code))
    except Exception as exc:
        status = 1
        result["failed"] = f"{type(exc).__name__}: {exc}"
        log("".join(traceback.format_exception(exc)))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        # A second Ctrl-C must not cut the clean-up short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if status and stack is not None:
            for started in stack.started:
                log(f"--- {started.role} (last lines) ---\n{started.log_tail()}")
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for path in root.glob("*.log"):
                shutil.copy(path, args.keep_logs / path.name)
        mark = time.monotonic()
        left = network.teardown()
        if stack is not None:
            stack.close()
        shutil.rmtree(root, ignore_errors=True)
        timings["teardown_s"] = round(time.monotonic() - mark, 2)
        if left:
            status = status or 1
            result["failed"] = f"could not remove namespaces {left}"
    timings["total_s"] = round(time.monotonic() - began, 2)
    report = {
        "ok": status == 0,
        "hosts": {name: host.address for name, host in network.hosts.items()},
        "lan": "10.77.0.1 (spectators, scorer)",
        "link_delay": network.delay,
        "lose": args.lose,
        "timings": timings,
        **result,
    }
    print(json.dumps(report, indent=2))
    print(summary_line(report))
    return status


async def _wait_ready(urls: dict[str, str], api: dict[str, Any], timeout: float = 90) -> None:
    async def ready(name: str) -> None:
        client = Api(urls[name])
        deadline = time.monotonic() + timeout
        while True:
            if api[name].proc.poll() is not None:
                raise RuntimeError(f"api-{name} exited:\n{api[name].log_tail()}")
            with contextlib.suppress(OSError, TimeoutError, HTTPClientError):
                if (await asyncio.wait_for(client.get("/readyz"), 2)).status == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"api-{name} not ready in {timeout:g} s")
            await asyncio.sleep(0.2)

    await asyncio.gather(*(ready(name) for name in urls))


def summary_line(report: dict[str, Any]) -> str:
    timings = report["timings"]
    if not report["ok"]:
        return f"multihost: FAIL ({report.get('failed')}) after {timings['total_s']} s"
    cross, failover = report["cross_host"], report["failover"]
    to_a, table_a = cross["score_through_b_seen_on_a_ms"], cross["worker_table_seen_on_a_ms"]
    table_b = cross["worker_table_seen_on_b_ms"]
    return (
        f"multihost: OK score B->A p50 {to_a['p50']} ms max {to_a['max']} ms; "
        f"worker table on A/B p50 {table_a['p50']}/{table_b['p50']} ms; "
        f"A lost ({report['lose']}): spectators on B after max "
        f"{failover['reconnected_to_b_ms']['max']} ms, {failover['missed']} of "
        f"{failover['stream_messages']} messages missed, "
        f"{failover['scores_through_b']} scores through B all accepted; "
        f"link delay: {report['link_delay']}; total {timings['total_s']} s"
    )


if __name__ == "__main__":
    sys.exit(main())
