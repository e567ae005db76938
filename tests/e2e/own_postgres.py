"""A PostgreSQL server of the test's own, for tests that stop and start it: the shared one on
127.0.0.1:5432 must never be restarted."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import free_port


def _bin_dir() -> Path | None:
    if found := shutil.which("pg_ctl"):
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))  # Debian keeps them here
    return Path(versions[-1]).parent if versions else None


class OwnPostgres:
    """initdb into a temporary directory; start/stop with pg_ctl. As root (which initdb
    refuses), everything runs as the `postgres` system user."""

    def __init__(self, bin_dir: Path, root: Path, settings: tuple[str, ...] = ()) -> None:
        self.bin_dir, self.root = bin_dir, root
        self.settings = settings  # `name=value` server settings, kept across restarts
        self.data = root / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += "".join(f" -c {setting}" for setting in self.settings)
        log = str(self.root / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        # fast: open sessions are ended as on a real restart (clients see their connection go)
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@contextlib.contextmanager
def own_postgres(*settings: str) -> Iterator[OwnPostgres]:
    """A started server on a free port (`settings`: `name=value` each); stopped and removed
    afterwards. Skips the test where no PostgreSQL binaries are installed."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries (pg_ctl, initdb) to run a server of our own")
    root = Path(tempfile.mkdtemp(prefix="matchday-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    server = OwnPostgres(bin_dir, root, settings)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()  # already stopped by the test
        shutil.rmtree(root, ignore_errors=True)
