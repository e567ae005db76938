"""`matchday worker`: the Celery worker runs in a child process that is started again, with
backoff, whenever it exits with an error.

Celery reconnects to its broker by itself; this loop covers the rest: an "Unrecoverable error"
(celery 5.7.0 had one on broker restarts, docs/operations.md), a pool that could not start, an
out-of-memory kill. A clean exit (status 0: a shutdown asked for) ends the loop, and so does
SIGTERM/SIGINT/SIGQUIT, which go on to the child so that Celery shuts down its own way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from celery import Celery

from config.errors import setup_sentry
from config.settings import Settings
from config.telemetry import setup_tracing, shutdown_tracing
from workers.celery_app import make_celery

log = logging.getLogger("matchday.worker.supervisor")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
# Celery's own meanings (restart, dump stacks) reach the child unchanged.
FORWARDED_SIGNALS = (*STOP_SIGNALS, signal.SIGHUP, signal.SIGUSR1)
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0  # a child that ran this long starts the backoff afresh


def run_worker(settings: Settings, argv: list[str]) -> int:
    """`celery worker <argv>` for this app under the restart loop; returns the exit status."""
    if not settings.uses_redis:
        print("matchday: Celery needs REDIS_URL (the broker)", file=sys.stderr)
        return 2
    # The app is built in the child: the parent never opens a broker connection to fork.
    return supervise(lambda: _observed_worker(settings, argv))


def _observed_worker(settings: Settings, argv: list[str]) -> int:
    """The Celery worker with error reporting and tracing (when configured), set up in the
    child before Celery starts: prefork pool processes inherit both (the SDKs start their
    exporting threads again after a fork)."""
    setup_sentry(settings, "worker")
    provider = setup_tracing(settings, "worker")
    try:
        return celery_main(make_celery(settings), argv)
    finally:
        shutdown_tracing(provider)


def celery_main(app: Celery, argv: list[str]) -> int:
    """Celery's command line for `app`, returning its exit status (`Celery.start` drops it,
    so a worker that died of an unrecoverable error would otherwise exit 0)."""
    from celery.bin.celery import celery as command

    command.params[0].default = app
    try:
        status = command.main(args=argv, standalone_mode=False)
    finally:
        command.params[0].default = None
    return status if isinstance(status, int) else 0


def supervise(
    child_main: Callable[[], int],
    *,
    first_backoff: float = FIRST_BACKOFF_SECONDS,
    max_backoff: float = MAX_BACKOFF_SECONDS,
    healthy_after: float = HEALTHY_AFTER_SECONDS,
) -> int:
    """Run `child_main` in a forked child until it exits 0 or a stop signal arrives.

    Returns the exit status in the parent, and `child_main`'s status in each child: both
    then leave through the caller (so atexit handlers, coverage among them, run normally)."""
    stopping: list[int] = []
    child = 0

    def forward(signum: int, _frame: Any) -> None:
        if signum in STOP_SIGNALS:
            stopping.append(signum)
        if child:
            # The child may have exited already; the loop below reaps it.
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED_SIGNALS}
    backoff = first_backoff
    try:
        while True:
            started = time.monotonic()
            child = os.fork()
            if child == 0:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)
                return child_main()
            if stopping:  # a stop signal came before `child` was set: pass it on now
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, stopping[-1])
            status = _wait(child)
            child = 0
            if stopping or status == 0:
                return status
            if time.monotonic() - started >= healthy_after:
                backoff = first_backoff
            log.error(
                "celery worker exited with status %s; starting it again in %.0fs", status, backoff
            )
            if _sleep_unless_stopped(backoff, stopping):
                return status
            backoff = min(backoff * 2, max_backoff)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _wait(pid: int) -> int:
    """The child's exit status (128 + N when killed by signal N, as a shell reports it)."""
    _pid, status = os.waitpid(pid, 0)  # retried across our signal handler (PEP 475)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _sleep_unless_stopped(seconds: float, stopping: list[int]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if stopping:
            return True
        time.sleep(min(0.1, deadline - time.monotonic()))
    return bool(stopping)
