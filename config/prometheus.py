"""How metrics leave a process: prometheus-client's multiprocess mode for `serve --processes N`
and the Celery worker (several processes, one scrape = their sum), the single registry
otherwise.

prometheus-client picks its mode when it is first imported, from PROMETHEUS_MULTIPROC_DIR;
so `prepare_multiprocess()` runs in the parent before anything imports it (this module
imports prometheus_client only inside its functions, for that reason). Each run gets a fresh
directory: the supervisor makes one (or empties the one the operator named) and, as each
child exits, drops that child's live gauges (`process_exited`); what its counters counted
stays in the sums, as counters must.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass
class MultiprocessDir:
    path: Path
    owned: bool  # made by us: removed at exit
    creator_pid: int

    def remove(self) -> None:
        """In the process that prepared it only (forked children return through the same
        code paths)."""
        if self.owned and os.getpid() == self.creator_pid:
            shutil.rmtree(self.path, ignore_errors=True)


def prepare_multiprocess(prefix: str) -> MultiprocessDir:
    """A fresh directory for this run's metric files, named in the environment that the
    children inherit. Must run before prometheus_client is imported."""
    named = os.environ.get(ENV)
    if named:
        path = Path(named)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # a previous run's processes: not ours to sum
            stale.unlink()
        return MultiprocessDir(path, owned=False, creator_pid=os.getpid())
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ[ENV] = str(path)
    return MultiprocessDir(path, owned=True, creator_pid=os.getpid())


def forget_own_files() -> None:
    """The supervisor imported the application (and so declared its metrics) only to fork
    children from that copy: its files hold zeros, and it serves nothing. Remove them so a
    scrape sums the serving processes only (each child writes files of its own pid)."""
    directory = os.environ.get(ENV)
    if directory:
        for own in Path(directory).glob(f"*_{os.getpid()}.db"):
            with contextlib.suppress(OSError):
                own.unlink()


def process_exited(pid: int) -> None:
    """A child exited: its live gauges (in-flight requests, open streams…) no longer count."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        with contextlib.suppress(OSError):
            multiprocess.mark_process_dead(pid)


def registry(*collectors: Any) -> Any:
    """The registry a scrape reads: the sum of every process's files in multiprocess mode,
    this process's own metrics otherwise; plus `collectors` (read at scrape time)."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    if os.environ.get(ENV):
        target = CollectorRegistry()
        multiprocess.MultiProcessCollector(target)
    else:
        target = REGISTRY
    for collector in collectors:
        target.register(collector)
    return target


def exposition(target: Any = None) -> tuple[bytes, str]:
    """The scrape's body and content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(target if target is not None else registry()), CONTENT_TYPE_LATEST


def scrape_allowed(client_ip: str, authorization: str, token: str) -> int:
    """200, or the status refusing the scrape: with METRICS_TOKEN, its bearer token is
    needed (401); without, only loopback clients may scrape (403)."""
    if token:
        presented = authorization.removeprefix("Bearer ")
        return 200 if hmac.compare_digest(presented.encode(), token.encode()) else 401
    try:
        return 200 if ipaddress.ip_address(client_ip).is_loopback else 403
    except ValueError:
        return 403
