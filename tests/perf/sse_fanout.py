"""SSE fan-out benchmark: N spectators on one `matchday serve`, K scores, delivery latency.

A script, not a test (pytest collects nothing here). Run it with `make bench-sse` or:

    .venv/bin/python tests/perf/sse_fanout.py --connections 10000 [--broadcasts 10] [--redis]

The driver (this process) starts one `matchday serve` (embedded mode, DATA_DIR in a temporary
directory; `--redis`: PostgreSQL in a temporary schema + Redis with a unique key prefix),
creates a user, an event, two teams and a game over the REST API, then starts a separate client
process (this script with `--client`) that opens N SSE streams to the event with a lean
asyncio.Protocol. When the client reports its streams are held, the driver posts K live scores
(home_score = 1..K), noting time.time() just before each PUT; the client notes time.time() when
each `score` frame arrives on each stream. Both run on one host, so latency per spectator per
broadcast is arrival - send: PUT handling, commit, outbox relay, stream read and fan-out.

Every wait is bounded; traffic goes only to 127.0.0.1 (client sources over 127.0.0.x); the
server, the client and the temporary data are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import http.client
import json
import math
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf import harness
from tests.perf.harness import (
    HOST,
    Backend,
    Rest,
    cpu_seconds,
    die_with_parent,
    embedded_backend,
    host_cpu,
    latency_stats,
    machine,
    own_cpu_seconds,
    process_tree,
    production_backend,
    raise_fd_limit,
    running_server,
    server_env,
    tree_cpu_seconds,
    tree_rss_kib,
    wait_for_quiet_host,
)

SCORE_TIMEOUT = 10.0  # each score PUT (a failed one is reported, and the run goes on)
STREAM_TIMEOUT = 30.0  # each SSE connect: TCP + response headers
SETTLE_SECONDS = 2.0  # after connecting, before measuring RSS and posting
LATE_SECONDS = 15.0  # how long the client waits for stragglers after the last score
FD_RESERVE = 64  # descriptors a process needs besides its streams
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
HOME_SCORE = re.compile(rb'"home_score":(\d+)')


def log(message: str) -> None:
    harness.log(message, "sse-bench")


# --- small helpers --------------------------------------------------------------------------


# --- the client process ---------------------------------------------------------------------


class Spectator(asyncio.Protocol):
    """One SSE stream: parses the status line once, then only timestamps raw chunks.

    Frames are split and matched to broadcasts after the run, so the measurement costs the
    client as little CPU as possible while the server fans out."""

    __slots__ = ("chunks", "closed", "head", "headers_done", "scores", "transport")

    def __init__(self, headers_done: asyncio.Future[int]) -> None:
        self.headers_done = headers_done
        self.head = b""
        self.chunks: list[tuple[float, bytes]] = []
        self.scores = 0
        self.closed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.headers_done.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > 65_536:
                    self.headers_done.set_result(-2)
                return
            status_line = self.head.split(b"\r\n", 1)[0].split()
            status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
            data, self.head = self.head[end + 4 :], b""
            self.headers_done.set_result(status)
        if data:
            self.chunks.append((now, data))
            self.scores += data.count(b"event: score\n")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.headers_done.done():
            self.headers_done.set_result(-1)

    def arrivals(self) -> dict[int, float]:
        """home_score -> when the frame carrying it was complete (first copy only)."""
        seen: dict[int, float] = {}
        buffer = b""
        for when, data in self.chunks:
            buffer += data
            while (end := buffer.find(b"\n\n")) >= 0:
                frame, buffer = buffer[:end], buffer[end + 2 :]
                if b"\nevent: score" in frame and (match := HOME_SCORE.search(frame)):
                    seen.setdefault(int(match.group(1)), when)
        return seen


@dataclass
class ClientState:
    held: list[Spectator] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    attempted: int = 0


def source_address(index: int, per_address: int) -> str:
    """127.0.0.1 for the first `per_address` streams, then 127.0.0.2, ... (ports per source)."""
    return f"127.0.0.{1 + index // per_address}"


async def open_stream(
    loop: asyncio.AbstractEventLoop, port: int, request: bytes, source: str
) -> tuple[Spectator | None, str | None]:
    """Connect from `source` and wait for the response headers; (stream, None) or (None, why)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    spectator: Spectator | None = None
    try:
        # The port is picked at connect() time, per (source, destination): no bind() shortage.
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source, 0))
        async with asyncio.timeout(STREAM_TIMEOUT):
            await loop.sock_connect(sock, (HOST, port))
            headers_done: asyncio.Future[int] = loop.create_future()
            transport, spectator = await loop.create_connection(
                lambda: Spectator(headers_done), sock=sock
            )
            transport.write(request)
            status = await headers_done
    except TimeoutError:
        reason = "timeout"
    except OSError as exc:
        reason = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    else:
        if status == 200:
            return spectator, None
        reason = {-1: "closed_before_headers", -2: "bad_headers"}.get(status, f"http_{status}")
    if spectator is not None and spectator.transport is not None:
        spectator.transport.abort()
    else:
        sock.close()
    return None, reason


async def connect_all(args: argparse.Namespace, state: ClientState) -> None:
    loop = asyncio.get_running_loop()
    request = (
        f"GET /api/v1/events/{args.event_id}/stream HTTP/1.0\r\n"
        f"Host: {HOST}:{args.port}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    indices = iter(range(args.first_index, args.first_index + args.connections))

    async def worker() -> None:
        for index in indices:
            state.attempted += 1
            stream, reason = await open_stream(
                loop, args.port, request, source_address(index, args.per_address)
            )
            if stream is not None:
                state.held.append(stream)
            else:
                state.failures[reason or "unknown"] += 1

    async def progress() -> None:
        while True:
            await asyncio.sleep(5)
            log(
                f"client {args.first_index}: {len(state.held)}/{args.connections} held, "
                f"{sum(state.failures.values())} failed"
            )

    reporter = asyncio.create_task(progress())
    workers = [asyncio.create_task(worker()) for _ in range(args.concurrency)]
    try:
        async with asyncio.timeout(args.connect_budget):
            await asyncio.gather(*workers)
    except TimeoutError:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        state.failures["connect_budget_exceeded"] += args.connections - state.attempted
    finally:
        reporter.cancel()


async def read_commands(stop: asyncio.Event, gone: asyncio.Event) -> None:
    """`stop` on a "stop" line from the driver; `gone` if the driver's pipe closes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if line.strip() == b"stop":
            stop.set()
    gone.set()


async def client_main(args: argparse.Namespace) -> int:
    state = ClientState()
    stop, gone = asyncio.Event(), asyncio.Event()
    commands = asyncio.create_task(read_commands(stop, gone))
    started = time.monotonic()
    await connect_all(args, state)
    ready = {
        "held": len(state.held),
        "failed": sum(state.failures.values()),
        "failures": dict(state.failures),
        "connect_seconds": round(time.monotonic() - started, 2),
    }
    print("ready " + json.dumps(ready), flush=True)

    def complete() -> bool:
        return all(s.closed or s.scores >= args.broadcasts for s in state.held)

    try:
        async with asyncio.timeout(args.deadline):
            while not (stop.is_set() or gone.is_set()):  # the driver is posting scores
                await asyncio.sleep(0.1)
            late_until = time.monotonic() + LATE_SECONDS
            while not gone.is_set() and not complete() and time.monotonic() < late_until:
                await asyncio.sleep(0.1)
    except TimeoutError:
        log(f"client {args.first_index}: deadline reached")
    commands.cancel()
    if gone.is_set() and not stop.is_set():
        return 1  # the driver died: nothing to report to
    arrivals: dict[int, list[float]] = {}
    for spectator in state.held:
        for score, when in spectator.arrivals().items():
            arrivals.setdefault(score, []).append(when)
    result = {
        **ready,
        "open_at_end": sum(not s.closed for s in state.held),
        "arrivals": arrivals,
    }
    Path(args.result).write_text(json.dumps(result))
    print("done", flush=True)
    for spectator in state.held:
        if spectator.transport is not None:
            spectator.transport.abort()
    return 0


def run_client(args: argparse.Namespace) -> int:
    # A load generator must not pause: a full collection over thousands of long-lived streams
    # would delay every arrival timestamp behind it. The process is short-lived.
    gc.disable()
    limit = raise_fd_limit()
    if args.connections + FD_RESERVE > limit:
        log(f"client: {args.connections} streams need more than RLIMIT_NOFILE={limit}")
    return asyncio.run(client_main(args))


# --- the server under test ------------------------------------------------------------------


def create_league(port: int) -> tuple[Rest, int, int]:
    """A user, a public event with two teams and one game; (client, event id, game id)."""
    rest = Rest(port).sign_in()
    event_id, teams = rest.league("SSE Fan-out Cup", 2)
    game = rest.expect(
        201,
        "POST",
        f"/api/v1/events/{event_id}/games",
        {"home_team_id": teams[0], "away_team_id": teams[1]},
    )
    return rest, event_id, game["id"]


# --- the driver -----------------------------------------------------------------------------


@dataclass
class ClientProcess:
    proc: subprocess.Popen
    result: Path
    ready: dict[str, Any] | None = None


def start_clients(
    args: argparse.Namespace, port: int, event_id: int, workdir: Path
) -> list[ClientProcess]:
    count = args.client_processes
    shares = [args.connections // count + (i < args.connections % count) for i in range(count)]
    broadcast_seconds = args.broadcasts * args.interval
    clients, first = [], 0
    for number, share in enumerate(shares):
        result = workdir / f"client-{number}.json"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--client",
            f"--port={port}",
            f"--event-id={event_id}",
            f"--connections={share}",
            f"--first-index={first}",
            f"--per-address={args.per_address}",
            f"--concurrency={args.concurrency}",
            f"--broadcasts={args.broadcasts}",
            f"--connect-budget={args.connect_budget}",
            f"--deadline={args.wait_quiet + broadcast_seconds + LATE_SECONDS + 120}",
            f"--result={result}",
        ]
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            preexec_fn=die_with_parent,
        )
        clients.append(ClientProcess(proc, result))
        first += share
    return clients


def read_line(proc: subprocess.Popen, timeout: float) -> str | None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], max(0.0, timeout))
    if not ready:
        return None
    return proc.stdout.readline().decode().strip()


def wait_for(clients: list[ClientProcess], word: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for client in clients:
        while True:
            line = read_line(client.proc, deadline - time.monotonic())
            if line is None:
                raise RuntimeError(f"client did not say {word!r} within {timeout:.0f}s")
            if line == "" and client.proc.poll() is not None:
                raise RuntimeError(f"client exited ({client.proc.returncode}) before {word!r}")
            if line.startswith(word):
                if word == "ready":
                    client.ready = json.loads(line.split(" ", 1)[1])
                break


def tell(clients: list[ClientProcess], line: str) -> None:
    for client in clients:
        with contextlib.suppress(OSError, ValueError):
            assert client.proc.stdin is not None
            client.proc.stdin.write(line.encode() + b"\n")
            client.proc.stdin.flush()


def post_scores(rest: Rest, game_id: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    sent = []
    for score in range(1, args.broadcasts + 1):
        body = {"home_score": score, "away_score": 0, "status": "live"}
        before = time.time()
        try:
            status, reply = rest.call(
                "PUT", f"/api/v1/games/{game_id}/score", body, timeout=SCORE_TIMEOUT
            )
        except (OSError, http.client.HTTPException) as exc:  # e.g. the server cannot accept
            status, reply = 0, repr(exc)
        answered = time.time()
        if status != 200:
            log(f"score {score}: PUT failed ({status}): {reply}")
        sent.append(
            {
                "score": score,
                "sent_at": before,
                "put_ms": (answered - before) * 1000,
                "put_status": status,
            }
        )
        time.sleep(max(0.0, args.interval - (time.time() - before)))
    return sent


def summarise(
    sent: list[dict[str, Any]], results: list[dict[str, Any]], held: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    per_broadcast, everything = [], []
    for item in sent:
        arrivals = [t for r in results for t in r["arrivals"].get(str(item["score"]), [])]
        latencies = [(t - item["sent_at"]) * 1000 for t in arrivals]
        everything.extend(latencies)
        per_broadcast.append(
            {
                "broadcast": item["score"],
                "sent_at": round(item["sent_at"], 3),
                "received": len(latencies),
                "share": len(latencies) / held if held else 0.0,
                "put_ms": round(item["put_ms"], 1),
                "put_status": item["put_status"],
                **latency_stats(latencies),
            }
        )
    expected = held * len(sent)
    overall = {
        "received": len(everything),
        "share": len(everything) / expected if expected else 0.0,
        **latency_stats(everything),
    }
    return per_broadcast, overall


def measure(args: argparse.Namespace, workdir: Path, backend: Backend) -> dict[str, Any]:
    # Follow-up work (the audit entries of live scores) in the server's own pool: no worker to
    # start, and none left for the sweeper to redo during the broadcasts.
    env = server_env(backend, args.connections, TASK_RUNNER="local")
    log_path = Path(args.server_log) if args.server_log else workdir / "serve.log"
    with running_server(env, log_path, args.processes) as (server, port):
        log(
            f"server pid {server.pid} ({args.processes} process(es)) on {HOST}:{port}, "
            f"{backend.name}"
        )
        rest, event_id, game_id = create_league(port)
        time.sleep(1.0)
        rss_before = tree_rss_kib(server.pid)
        cpu_before = tree_cpu_seconds(server.pid)
        log(f"opening {args.connections} streams from {args.client_processes} client process(es)")
        clients = start_clients(args, port, event_id, workdir)
        try:
            wait_for(clients, "ready", args.connect_budget + 60)
            assert all(c.ready for c in clients)
            held = sum(c.ready["held"] for c in clients)  # type: ignore[index]
            failures: Counter[str] = Counter()
            for client in clients:
                failures.update(client.ready["failures"])  # type: ignore[index]
            connect_seconds = max(c.ready["connect_seconds"] for c in clients)  # type: ignore[index]
            cpu_connected = tree_cpu_seconds(server.pid)
            log(f"{held} held, {sum(failures.values())} failed in {connect_seconds}s")
            time.sleep(SETTLE_SECONDS)
            rss_connected = tree_rss_kib(server.pid)
            fds_connected = sum(len(os.listdir(f"/proc/{p}/fd")) for p in process_tree(server.pid))
            quiet_load = wait_for_quiet_host(
                args.wait_quiet, [*process_tree(server.pid), *(c.proc.pid for c in clients)]
            )
            profiler = start_profiler(args, server.pid)
            client_cpu = [cpu_seconds(c.proc.pid) for c in clients]
            cpu_start, host_start, own_start = (
                tree_cpu_seconds(server.pid),
                host_cpu(),
                own_cpu_seconds(),
            )
            window_start = time.monotonic()
            log(f"posting {args.broadcasts} scores, one every {args.interval}s")
            sent = post_scores(rest, game_id, args)
            time.sleep(1.0)
            cpu_end = tree_cpu_seconds(server.pid)
            client_cpu = [
                cpu_seconds(c.proc.pid) - t for c, t in zip(clients, client_cpu, strict=True)
            ]
            host_processes, interrupts, steal = (
                end - start for end, start in zip(host_cpu(), host_start, strict=True)
            )
            window = time.monotonic() - window_start
            others = host_processes - (cpu_end - cpu_start) - sum(client_cpu)
            others -= own_cpu_seconds() - own_start
            rss_after = tree_rss_kib(server.pid)
            harness.stop_py_spy(profiler)
            tell(clients, "stop")
            wait_for(clients, "done", LATE_SECONDS + 120)
            results = [json.loads(c.result.read_text()) for c in clients]
        finally:
            for client in clients:
                if client.proc.poll() is None:
                    client.proc.kill()
                client.proc.wait(10)
    per_broadcast, overall = summarise(sent, results, held)
    added = rss_connected - rss_before
    return {
        "mode": "redis" if args.redis else "embedded",
        "server_processes": args.processes,
        "machine": machine(),
        "connections": {
            "requested": args.connections,
            "held": held,
            "failed": sum(failures.values()),
            "failures": dict(failures),
            "open_at_end": sum(r["open_at_end"] for r in results),
            "connect_seconds": connect_seconds,
            "client_processes": args.client_processes,
        },
        "broadcasts": per_broadcast,
        "overall": overall,
        "server": {
            "rss_kib_before": rss_before,
            "rss_kib_connected": rss_connected,
            "rss_kib_after_broadcasts": rss_after,
            "rss_kib_per_1000": round(added / held * 1000) if held else None,
            "open_fds_connected": fds_connected,
            "cpu_seconds_connecting": round(cpu_connected - cpu_before, 2),
            "cpu_seconds_broadcasting": round(cpu_end - cpu_start, 2),
        },
        "client_cpu_seconds_broadcasting": round(sum(client_cpu), 2),
        "host": {
            "other_load_before_broadcasts": round(quiet_load, 2),
            "broadcast_window_seconds": round(window, 2),
            "interrupt_cpu_seconds": round(interrupts, 2),
            "steal_cpu_seconds": round(steal, 2),
            # CPU used by processes other than the server, the client(s) and this driver:
            # the measurement is disturbed when this is large.
            "other_cpu_seconds": round(others, 2),
        },
        "interval_seconds": args.interval,
    }


def start_profiler(args: argparse.Namespace, pid: int) -> subprocess.Popen | None:
    """Optional: sample the server with py-spy while scores are posted."""
    if not args.py_spy:
        return None
    duration = math.ceil(args.broadcasts * args.interval + 1)
    return harness.start_py_spy(pid, duration, args.py_spy, args.processes > 1)


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_report(report: dict[str, Any]) -> None:
    conn, server, overall = report["connections"], report["server"], report["overall"]
    m = report["machine"]
    print(
        f"SSE fan-out ({report['mode']}, {report['server_processes']} server process(es)) "
        f"on {m['cpus']} CPUs, {m['mem_total_gib']} GiB RAM, "
        f"RLIMIT_NOFILE hard {m['nofile_hard_limit']}"
    )
    print(
        f"connections: requested {conn['requested']}, held {conn['held']}, "
        f"failed {conn['failed']} {conn['failures'] or ''}, open at end {conn['open_at_end']}, "
        f"connected in {conn['connect_seconds']}s by {conn['client_processes']} client process(es)"
    )
    print(f"{'broadcast':>9} {'received':>9} {'share':>7} {'PUT ms':>7} " + header())
    for item in report["broadcasts"]:
        put = f"{item['put_ms']:.1f}" if item["put_status"] == 200 else f"!{item['put_status']}"
        print(
            f"{item['broadcast']:>9} {item['received']:>9} {item['share']:>7.1%} {put:>7} "
            + row(item)
        )
    total = f"{'overall':>9} {overall['received']:>9} {overall['share']:>7.1%} {'':>7} "
    print(total + row(overall))
    per_1000 = server["rss_kib_per_1000"]
    print(
        f"server RSS: {server['rss_kib_before'] / 1024:.1f} MiB before, "
        f"{server['rss_kib_connected'] / 1024:.1f} MiB connected, "
        f"{server['rss_kib_after_broadcasts'] / 1024:.1f} MiB after broadcasts; "
        f"{'-' if per_1000 is None else f'{per_1000 / 1024:.2f} MiB'} per 1,000 connections"
    )
    host = report["host"]
    print(
        f"CPU: server {server['cpu_seconds_connecting']}s connecting, "
        f"{server['cpu_seconds_broadcasting']}s during broadcasts; "
        f"client {report['client_cpu_seconds_broadcasting']}s during broadcasts; "
        f"interrupts {host['interrupt_cpu_seconds']}s; other processes "
        f"{host['other_cpu_seconds']}s (window {host['broadcast_window_seconds']}s)"
    )
    if host["other_cpu_seconds"] > 0.1 * host["broadcast_window_seconds"]:
        print("warning: other work competed for the CPUs during the broadcasts")


def header() -> str:
    return " ".join(f"{name:>8}" for name in ("min ms", "p50 ms", "p95 ms", "p99 ms", "max ms"))


def row(stats: dict[str, Any]) -> str:
    keys = ("min_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms")
    return " ".join(f"{fmt(stats[k]):>8}" for k in keys)


def run_driver(args: argparse.Namespace) -> int:
    limit = raise_fd_limit()
    per_process = limit - FD_RESERVE
    if args.client_processes == 0:
        args.client_processes = max(1, math.ceil(args.connections / per_process))
    if args.connections + FD_RESERVE > limit:
        log(
            f"note: RLIMIT_NOFILE is {limit} per process (hard limit); one server process "
            f"cannot hold {args.connections} streams: expect failures past ~{per_process}"
        )
    if args.connect_budget is None:
        args.connect_budget = 60 + args.connections / 50
    workdir = Path(tempfile.mkdtemp(prefix="matchday-sse-bench-"))
    backend: Backend | None = None
    try:
        backend = production_backend(workdir) if args.redis else embedded_backend(workdir)
        report = measure(args, workdir, backend)
    finally:
        if backend is not None:
            backend.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=10_000, help="SSE streams to open")
    parser.add_argument("--broadcasts", type=int, default=10, help="scores to post")
    parser.add_argument("--interval", type=float, default=0.75, help="seconds between scores")
    parser.add_argument("--redis", action="store_true", help="PostgreSQL + Redis (production)")
    parser.add_argument(
        "--processes", type=int, default=1, help="`matchday serve --processes N` (needs --redis)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.add_argument(
        "--client-processes",
        type=int,
        default=0,
        help="client processes (default: as few as the descriptor limit allows)",
    )
    parser.add_argument("--concurrency", type=int, default=100, help="connects in flight")
    parser.add_argument(
        "--per-address", type=int, default=5_000, help="streams per 127.0.0.x source address"
    )
    parser.add_argument("--connect-budget", type=float, help="seconds allowed for connecting")
    parser.add_argument("--py-spy", metavar="FILE", help="profile the server while posting")
    parser.add_argument("--server-log", metavar="FILE", help="keep the server's log here")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        help="seconds to wait at most, before posting, for other work on the host to settle",
    )
    # The client process's own options (set by the driver).
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--event-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, default=600, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.connections < 1 or args.broadcasts < 1 or args.concurrency < 1:
        parser.error("--connections, --broadcasts and --concurrency must be positive")
    if args.processes > 1 and not args.redis:
        parser.error("--processes > 1 needs --redis: embedded streams live in one process")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_client(args) if args.client else run_driver(args)


if __name__ == "__main__":
    sys.exit(main())
