"""A PgBouncer of the test's own (Debian's `pgbouncer`), in transaction mode, in front of the
shared PostgreSQL on 127.0.0.1:5432: the set-up of deploy/pgbouncer/pgbouncer.ini, on a free
port. `MATCHDAY_TEST_PGBOUNCER=1` sends the suite's PostgreSQL fixtures through one."""

from __future__ import annotations

import configparser
import contextlib
import io
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tornado.testing import bind_unused_port

ENV_FLAG = "MATCHDAY_TEST_PGBOUNCER"
ALIAS = "matchday"  # the database name clients ask PgBouncer for
DEPLOYED = Path(__file__).resolve().parent.parent / "deploy" / "pgbouncer" / "pgbouncer.ini"


def through_pgbouncer() -> bool:
    return os.environ.get(ENV_FLAG, "") not in ("", "0")


class PgBouncer:
    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{ALIAS}"

    def show(self, what: str) -> list[dict[str, str]]:
        """A `SHOW ...` of the admin console (simple query protocol only: psql speaks it)."""
        out = subprocess.run(
            [
                *("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"),
                *("-d", "pgbouncer", "-A", "-F", "\t", "-P", "footer=off", "-c", f"SHOW {what}"),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        header = out[0].split("\t")
        return [dict(zip(header, line.split("\t"), strict=True)) for line in out[1:]]

    def transactions(self) -> int:
        """Transactions PgBouncer has passed to the database for our alias."""
        return sum(
            int(row["total_xact_count"]) for row in self.show("STATS") if row["database"] == ALIAS
        )


def _config(root: Path, port: int, schema: str, statement_timeout_ms: int) -> str:
    """deploy/pgbouncer/pgbouncer.ini with the test's port, paths, trust auth and schema."""
    config = configparser.ConfigParser(
        interpolation=None, delimiters=("=",), comment_prefixes=(";", "#"), strict=True
    )
    config.read_string(DEPLOYED.read_text())
    connect_query = f"SET search_path TO {schema}; SET statement_timeout = {statement_timeout_ms}"
    config["databases"] = {
        ALIAS: f"host=127.0.0.1 port=5432 dbname=test user=postgres connect_query='{connect_query}'"
    }
    config["pgbouncer"].update(
        {
            "listen_addr": "127.0.0.1",
            "listen_port": str(port),
            "unix_socket_dir": str(root),
            "pidfile": str(root / "pgbouncer.pid"),
            "logfile": str(root / "pgbouncer.log"),
            "auth_type": "trust",
            "auth_file": str(root / "userlist.txt"),
            "admin_users": "postgres",
            "stats_users": "postgres",
        }
    )
    out = io.StringIO()
    config.write(out)
    return out.getvalue()


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pgbouncer exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("pgbouncer did not start listening")


@contextlib.contextmanager
def own_pgbouncer(schema: str, statement_timeout_ms: int = 5_000) -> Iterator[PgBouncer]:
    """A started PgBouncer whose alias `matchday` is the shared database with `schema` as its
    search_path; stopped and removed afterwards. Skips where `pgbouncer` is not installed."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    root = Path(tempfile.mkdtemp(prefix="matchday-pgbouncer-"))
    sock, port = bind_unused_port()
    sock.close()
    (root / "pgbouncer.ini").write_text(_config(root, port, schema, statement_timeout_ms))
    (root / "userlist.txt").write_text('"postgres" ""\n')
    command = [binary, str(root / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(root, "postgres")
        for child in root.iterdir():
            shutil.chown(child, "postgres")
        command = ["runuser", "-u", "postgres", "--", *command]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, proc, root / "pgbouncer.log")
        yield PgBouncer(root, port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)
