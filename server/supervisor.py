"""`serve --processes N`: fork N workers sharing the listening sockets, and supervise them.

Unlike tornado.process.fork_processes, the parent forwards SIGTERM/SIGINT to its children and
waits for their graceful drain, so stopping the parent never orphans a worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable

log = logging.getLogger("matchday.supervisor")
MAX_RESTARTS_PER_MINUTE = 10


def run_workers(count: int, child_main: Callable[[], None]) -> None:
    """Fork `count` children running `child_main`; return only in children (never in parent)."""
    count = count or os.cpu_count() or 1
    children: dict[int, int] = {}
    for index in range(count):
        if _spawn(index, children, child_main):
            return
    _supervise(children, child_main)


def _spawn(index: int, children: dict[int, int], child_main: Callable[[], None]) -> bool:
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        child_main()
        return True
    children[pid] = index
    return False


def _supervise(children: dict[int, int], child_main: Callable[[], None]) -> None:
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            _kill(pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    restarts: list[float] = []
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        index = children.pop(pid, None)
        if index is None or stopping or os.waitstatus_to_exitcode(status) == 0:
            continue
        restarts = [t for t in restarts if t > time.monotonic() - 60] + [time.monotonic()]
        if len(restarts) > MAX_RESTARTS_PER_MINUTE:
            log.error("workers keep dying; giving up")
            forward(signal.SIGTERM, None)
            continue
        log.warning("worker %s exited with status %s; restarting", index, status)
        if _spawn(index, children, child_main):
            return
    sys.exit(0)


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.kill(pid, signum)
