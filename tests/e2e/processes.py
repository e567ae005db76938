"""Running `matchday serve` as real subprocesses: environment, free ports, readiness, teardown."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from tornado.httpclient import HTTPClientError
from tornado.testing import bind_unused_port

from config.settings import SETTINGS
from tests.support import Api, eventually

MATCHDAY = str(Path(sys.executable).with_name("matchday"))
Serve = Callable[..., tuple[subprocess.Popen[bytes], str]]


def matchday_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any Matchday setting (nor `<NAME>_FILE`), plus
    test defaults and `extra`: a server sees only what the test asks for."""
    names = {s.name for s in SETTINGS} | {f"{s.name}_FILE" for s in SETTINGS}
    env = {k: v for k, v in os.environ.items() if k not in names}
    return {
        **env,
        "DATA_DIR": str(tmp_path / "var"),
        "BCRYPT_ROUNDS": "4",
        "LOG_FORMAT": "text",
        **extra,
    }


def free_port() -> int:
    sock, port = bind_unused_port()
    sock.close()
    return port


async def wait_ready(api: Api, timeout: float = 30) -> None:
    async def ready() -> bool:
        try:
            return (await api.get("/readyz")).status == 200
        except (OSError, HTTPClientError):  # refused, or accepted but not yet answered
            return False

    await eventually(ready, timeout=timeout)


@contextlib.contextmanager
def serving(tmp_path: Path) -> Iterator[Serve]:
    """`serve(env, *args)` starts `matchday serve` on a free port and returns (process, url);
    stderr goes to tmp_path/serve-<port>.log. Each runs in its own process group, so leaving
    the block kills it together with any `--processes` workers it forked.

    As a fixture: `@pytest.fixture` / `def serve(tmp_path): with serving(tmp_path) as start:
    yield start`."""
    processes: list[subprocess.Popen[bytes]] = []
    logs = []

    def start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        log = open(tmp_path / f"serve-{port}.log", "wb")  # noqa: SIM115 — closed on exit
        logs.append(log)
        proc = subprocess.Popen(
            [MATCHDAY, "serve", "--port", str(port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        processes.append(proc)
        return proc, f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for proc in processes:
            with contextlib.suppress(ProcessLookupError):  # the whole group has exited
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for log in logs:
            log.close()
