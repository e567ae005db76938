"""What runs on each host of the rehearsal: a PostgreSQL cluster and a redis-server of their
own on the data host, `matchday serve` on the API hosts, `matchday worker` on the worker host.

Every server binds its host's link address only (never 0.0.0.0, never loopback), so one
started outside its namespace by mistake fails to bind instead of serving somewhere else.
The PostgreSQL cluster is initdb'd into the run's directory and runs as the `postgres` user;
its Unix socket is in that directory too: the machine's own cluster is never touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from config.settings import SETTINGS
from tests.rehearsal.network import Host

MATCHDAY = str(Path(sys.executable).with_name("matchday"))
PG_PORT = 5432  # inside the data namespace: a port of its own network stack
REDIS_PORT = 6379
API_PORT = 8000
WORKER_METRICS_PORT = 9100


def pg_bin_dir() -> Path | None:
    if found := shutil.which("pg_ctl"):
        return Path(found).resolve().parent  # /usr/local/bin may link pg_ctl alone
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))  # Debian keeps them here
    return Path(versions[-1]).parent if versions else None


def missing_tools() -> list[str]:
    tools = {"redis-server": shutil.which("redis-server"), "pg_ctl": pg_bin_dir()}
    missing = [name for name, found in tools.items() if not found]
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        missing.append("a `postgres` system user (initdb refuses root)")
    return missing


@dataclass
class Started:
    host: Host
    role: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


@dataclass
class Stack:
    """The processes of one rehearsal, started into `root` (logs, data directories)."""

    root: Path
    data: Host
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    started: list[Started] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@{self.data.address}:{PG_PORT}/matchday"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.data.address}:{REDIS_PORT}/0"

    def _spawn(self, host: Host, role: str, argv: list[str], env: dict[str, str]) -> Started:
        log_path = self.root / f"{role}.log"
        log = open(log_path, "ab")  # noqa: SIM115 — closed in close()
        self._logs.append(log)
        proc = subprocess.Popen(
            host.exec_argv(*argv),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own group: killed as a whole, not with ours
        )
        started = Started(host, role, proc, log_path)
        self.started.append(started)
        return started

    # --- the data host ---------------------------------------------------------------------

    def _as_postgres(self, host: Host, *argv: str) -> None:
        done = subprocess.run(
            host.exec_argv("runuser", "-u", "postgres", "--", *argv),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]}: {done.stderr.strip() or done.stdout.strip()}")

    def start_postgres(self) -> None:
        bin_dir = pg_bin_dir()
        assert bin_dir is not None
        pg_root = self.root / "postgres"
        pg_root.mkdir()
        shutil.chown(pg_root, "postgres")
        data = pg_root / "data"
        self._as_postgres(
            self.data,
            *(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres"),
            *("-A", "trust", "--no-sync"),
        )
        # Trust on the rehearsal's own link only: no other machine can reach that address.
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {self.data.address.rsplit('.', 1)[0]}.0/24 trust\n")
        options = (
            f"-p {PG_PORT} -k {pg_root} -c listen_addresses={self.data.address}"
            " -c fsync=off -c max_connections=200"
        )
        self._as_postgres(
            self.data,
            *(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options),
            *("-l", str(pg_root / "postgres.log"), "-w", "-t", "60", "start"),
        )
        self._as_postgres(
            self.data,
            *(str(bin_dir / "createdb"), "-h", str(pg_root), "-p", str(PG_PORT), "matchday"),
        )

    def start_redis(self) -> None:
        directory = self.root / "redis"
        directory.mkdir()
        self._spawn(
            self.data,
            "redis",
            [
                *("redis-server", "--bind", self.data.address, "--port", str(REDIS_PORT)),
                *("--dir", str(directory), "--save", "", "--appendonly", "yes"),
                *("--protected-mode", "no"),  # bound to the rehearsal's link only
            ],
            dict(os.environ),
        )

    # --- Matchday --------------------------------------------------------------------------

    def env(self, host: Host, **extra: str) -> dict[str, str]:
        """The caller's environment without any Matchday setting, plus this stack's."""
        names = {s.name for s in SETTINGS} | {f"{s.name}_FILE" for s in SETTINGS}
        env = {k: v for k, v in os.environ.items() if k not in names}
        data_dir = self.root / f"var-{host.name}"
        data_dir.mkdir(exist_ok=True)
        return {
            **env,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "JWT_SECRET": self.secret,  # one secret: a token from host A is good on host B
            "DATA_DIR": str(data_dir),
            "HOST": host.address,
            "BCRYPT_ROUNDS": "4",
            "LOG_FORMAT": "text",
            "TASK_RUNNER": "celery",
            **extra,
        }

    def migrate(self, host: Host) -> None:
        done = subprocess.run(
            host.exec_argv(MATCHDAY, "migrate"),
            env=self.env(host),
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"matchday migrate: {done.stderr.strip()[-2000:]}")

    def serve(self, host: Host, **extra: str) -> Started:
        return self._spawn(
            host,
            f"api-{host.name}",
            [MATCHDAY, "serve", "--host", host.address, "--port", str(API_PORT)],
            self.env(host, **extra),
        )

    def worker(self, host: Host) -> Started:
        return self._spawn(
            host,
            "worker",
            [
                *(MATCHDAY, "worker", "--pool", "solo", "--hostname", f"rehearsal@{host.name}"),
                *("--metrics-port", str(WORKER_METRICS_PORT), "--metrics-host", host.address),
            ],
            # the scrape comes from the lan namespace, not loopback: a token then
            self.env(host, METRICS_TOKEN=self.secret),
        )

    def worker_ready(self, started: Started) -> bool:
        if started.proc.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{started.log_tail()}")
        with contextlib.suppress(OSError):
            return (
                re.search(r"@\S+ ready\.", started.log_path.read_text(errors="replace")) is not None
            )
        return False

    def wait_worker(self, started: Started, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.worker_ready(started):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the worker was not ready in {timeout} s:\n{started.log_tail()}"
                )
            time.sleep(0.2)

    def close(self) -> None:
        """Logs closed; the processes themselves are stopped with their namespaces."""
        for log in self._logs:
            log.close()
