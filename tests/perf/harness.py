"""What the benchmark scripts share: `matchday serve` subprocesses on PostgreSQL + Redis (or
embedded), a blocking JSON client, percentiles, and process CPU/RSS from /proc.

Every script in tests/perf is run as `python tests/perf/<name>.py`; each puts the repository on
sys.path before importing this module. Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import http.client
import json
import math
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MATCHDAY = str(Path(sys.executable).with_name("matchday"))
HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/0"

READY_TIMEOUT = 120.0  # server start (embedded mode runs migrations first; a busy host)
REQUEST_TIMEOUT = 30.0  # each REST call
STOP_TIMEOUT = 30.0  # SIGTERM to exit
PR_SET_PDEATHSIG = 1


def log(message: str, tag: str = "bench") -> None:
    print(f"[{tag} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (raising the hard one needs CAP_SYS_RESOURCE)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def die_with_parent() -> None:
    """preexec_fn of servers and clients: more descriptors, and no orphans."""
    raise_fd_limit()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- /proc ----------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (a `serve --processes N` supervisor and its workers)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                queue.extend(int(child) for child in children)
    return found


def rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_rss_kib(pid: int) -> int:
    return sum(rss_kib(p) for p in process_tree(pid))


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(p) for p in process_tree(pid))


def host_cpu() -> tuple[float, float, float]:
    """Host CPU seconds so far, from /proc/stat: (processes, interrupts, steal). Interrupts
    include the softirq work of loopback TCP, which no process is charged for."""
    user, nice, system, _idle, _wait, irq, softirq, steal = (
        int(v) / os.sysconf("SC_CLK_TCK")
        for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return user + nice + system, irq + softirq, steal


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def wait_for_quiet_host(max_wait: float, ours: list[int]) -> float:
    """Wait (bounded) until processes other than ours use under a fifth of a core; the load."""
    deadline = time.monotonic() + max_wait
    while True:
        before = host_cpu()[0] - sum(cpu_seconds(pid) for pid in ours) - own_cpu_seconds()
        time.sleep(2.0)
        after = host_cpu()[0] - sum(cpu_seconds(pid) for pid in ours) - own_cpu_seconds()
        load = (after - before) / 2.0
        if load < 0.2 or time.monotonic() >= deadline:
            if load >= 0.2:
                log(f"warning: the host stays busy ({load:.2f} CPUs used by other processes)")
            return load
        log(f"waiting for a quiet host ({load:.2f} CPUs used by other processes)")


def machine() -> dict[str, Any]:
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "mem_total_gib": round(mem_kib / 1024 / 1024, 1),
        "nofile_hard_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
        "ephemeral_ports": Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split(),
        "python": sys.version.split()[0],
        "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0]),
    }


# --- statistics -----------------------------------------------------------------------------


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of an ascending list."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def latency_stats(latencies_ms: list[float]) -> dict[str, float | None]:
    ordered = sorted(latencies_ms)
    return {
        "min_ms": ordered[0] if ordered else None,
        "p50_ms": percentile(ordered, 50),
        "p95_ms": percentile(ordered, 95),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1] if ordered else None,
    }


# --- back ends and servers ------------------------------------------------------------------


@dataclass
class Backend:
    env: dict[str, str]
    cleanup: Callable[[], None]
    name: str


def embedded_backend(workdir: Path) -> Backend:
    return Backend({"DATA_DIR": str(workdir / "var")}, lambda: None, "embedded (SQLite)")


def production_backend(workdir: Path, database_url: str | None = None) -> Backend:
    """PostgreSQL (a fresh migrated schema on the shared server, or `database_url` as given)
    and Redis with a key prefix no one else uses."""
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    from tests.support import create_pg_schema, delete_redis_keys, drop_pg_schema, pg_schema_url

    schema = None if database_url else create_pg_schema()
    prefix = f"bench-{uuid.uuid4().hex[:12]}:"

    def cleanup() -> None:
        with contextlib.suppress(Exception):
            asyncio.run(delete_redis_keys(prefix, REDIS_URL))
        if schema:
            drop_pg_schema(schema)

    env = {
        "DATA_DIR": str(workdir / "var"),
        "DATABASE_URL": database_url or pg_schema_url(schema or ""),
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": prefix,
        "JWT_SECRET": secrets.token_urlsafe(48),
    }
    where = f"schema {schema}" if schema else database_url
    return Backend(env, cleanup, f"production (PostgreSQL {where}, Redis {prefix}*)")


def server_env(backend: Backend, connections: int = 1_000, **extra: str) -> dict[str, str]:
    """The caller's environment without Matchday's own settings, plus the benchmark's."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "JWT_SECRET", "REDIS_KEY_PREFIX"}
        and not k.startswith("SSE_")
    }
    high = str(max(1_000_000, connections * 2))
    return {
        **inherited,
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
        "SSE_MAX_CONNECTIONS": high,
        "SSE_MAX_CONNECTIONS_PER_IP": high,
        # Benchmarks measure the service, not the per-address limits that would refuse them.
        "RATE_LIMIT_ENABLED": "false",
        **backend.env,
        **extra,
    }


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], log_path: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen]:
    """A subprocess (stderr to `log_path`) until `ready()`; stopped (SIGTERM) at the end."""
    with open(log_path, "wb") as process_log:
        proc = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=process_log,
            preexec_fn=die_with_parent,
        )
        try:
            wait_ready(proc, ready, log_path)
            yield proc
        finally:
            stop_process(proc)
            tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
            if tail:
                log(f"{Path(command[0]).name} log (last lines):\n  " + "\n  ".join(tail))


@contextlib.contextmanager
def running_server(
    env: dict[str, str], log_path: Path, processes: int = 1
) -> Iterator[tuple[subprocess.Popen, int]]:
    """`matchday serve --processes N` on a free port, until /readyz answers 200."""
    port = free_port()
    command = [MATCHDAY, "serve", "--host", HOST, "--port", str(port)]
    command += ["--processes", str(processes)]

    def ready() -> bool:
        with contextlib.suppress(OSError, http.client.HTTPException):
            return Rest(port).call("GET", "/readyz", timeout=2)[0] == 200
        return False

    with running(command, env, log_path, ready) as proc:
        # Every worker of a multi-process server must be up, not only the first to answer.
        deadline = time.monotonic() + READY_TIMEOUT
        while processes > 1 and len(process_tree(proc.pid)) <= processes:
            if time.monotonic() > deadline:
                raise RuntimeError(f"matchday serve did not fork {processes} workers")
            time.sleep(0.2)
        yield proc, port


def wait_ready(proc: subprocess.Popen, ready: Callable[[], bool], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited ({proc.returncode}); see {log_path}")
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{proc.args[0]} not ready after {READY_TIMEOUT:.0f}s; see {log_path}")


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class Rest:
    """Blocking JSON calls to the server (one connection each; drivers send little)."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.token = token

    def call(
        self, method: str, path: str, body: Any = None, timeout: float = REQUEST_TIMEOUT
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            payload = json.dumps(body) if body is not None else None
            conn.request(method, path, body=payload, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
        finally:
            conn.close()
        return reply.status, (json.loads(data) if data else None)

    def expect(self, status: int, method: str, path: str, body: Any = None) -> Any:
        got, reply = self.call(method, path, body)
        if got != status:
            raise RuntimeError(f"{method} {path}: expected {status}, got {got}: {reply}")
        return reply

    def sign_in(self, name: str = "bench") -> Rest:
        """Register and log in a new user; this client then calls as that user."""
        email, password = f"{name}-{uuid.uuid4().hex[:8]}@example.com", "benchmark passphrase 1"
        body = {"email": email, "password": password, "display_name": name.title()}
        self.expect(201, "POST", "/api/v1/auth/register", body)
        login = {"email": email, "password": password}
        self.token = self.expect(200, "POST", "/api/v1/auth/login", login)["access_token"]
        return self

    def league(self, name: str, teams: int, schedule: str | None = None) -> tuple[int, list[int]]:
        """A public event with `teams` teams (and a schedule); (event id, team ids)."""
        event = self.expect(201, "POST", "/api/v1/events", {"name": name})
        path = f"/api/v1/events/{event['id']}"
        ids = [
            self.expect(201, "POST", f"{path}/teams", {"name": f"Team {i:02d}"})["id"]
            for i in range(teams)
        ]
        if schedule:
            self.expect(201, "POST", f"{path}/schedule", {"format": schedule})
        return event["id"], ids


# --- profiles -------------------------------------------------------------------------------


def start_py_spy(pid: int, seconds: float, output: str, subprocesses: bool) -> subprocess.Popen:
    """py-spy (`pip install py-spy`) sampling `pid` (and its workers) for `seconds`, in the
    raw collapsed-stack format (`flamegraph.pl`, speedscope)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [py_spy, "record", "--pid", str(pid), "--duration", str(math.ceil(seconds))]
    command += ["--rate", "250", "--format", "raw", "--output", output, "--nonblocking"]
    if subprocesses:
        command.append("--subprocesses")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_py_spy(profiler: subprocess.Popen | None) -> None:
    if profiler is None:
        return
    try:
        profiler.wait(60)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait(10)


# --- one run, one report --------------------------------------------------------------------


def report_run(
    name: str,
    args: Any,
    measure: Callable[[Any, Path], dict[str, Any]],
    summary: Callable[[dict[str, Any]], str],
    keep: str | None = None,
) -> dict[str, Any]:
    """`measure(args, workdir)` in a temporary directory (copied to `keep`, if given, then
    removed); prints the report as JSON, then its summary line; returns it."""
    workdir = Path(tempfile.mkdtemp(prefix=f"matchday-{name}-"))
    try:
        report = measure(args, workdir)
    finally:
        if keep:
            shutil.copytree(workdir, keep, dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))
    print(summary(report))
    return report
