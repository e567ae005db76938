"""`serve --processes N`: fork N workers sharing the listening sockets, and supervise them.

Unlike tornado.process.fork_processes, the parent forwards SIGTERM/SIGINT to its children and
waits for their graceful drain, so stopping the parent never orphans a worker. Until then,
any worker that exits — crashed, killed, or drained after a SIGTERM of its own — is replaced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence

log = logging.getLogger("matchday.supervisor")
MAX_RESTARTS_PER_MINUTE = 10
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def run_workers(
    count: int,
    child_main: Callable[[], None],
    listeners: Sequence[socket.socket] = (),
    on_child_exit: Callable[[int], None] = lambda _pid: None,
) -> None:
    """Fork `count` children running `child_main`; return only in children (never in parent).
    The parent closes `listeners` when it starts stopping: the children still draining keep
    their own copies, and once they close theirs new connections are refused, not queued.
    `on_child_exit(pid)` runs in the parent as each child is reaped (its live metrics go)."""
    count = count or os.cpu_count() or 1
    supervisor = _Supervisor(child_main, listeners, on_child_exit)
    for index in range(count):
        if supervisor.spawn(index):
            return
    supervisor.run()


class _Supervisor:
    def __init__(
        self,
        child_main: Callable[[], None],
        listeners: Sequence[socket.socket],
        on_child_exit: Callable[[int], None],
    ):
        self.child_main = child_main
        self.listeners = listeners
        self.on_child_exit = on_child_exit
        self.children: dict[int, int] = {}  # pid -> worker index
        self.stopping = False
        self.gave_up = False
        self.restarts: list[float] = []
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def spawn(self, index: int) -> bool:
        """Fork worker `index`; True in the child (which has run and finished)."""
        # Signals wait until the new pid is recorded: stop() then reaches this child too, and
        # a child never runs the parent's handler (it would signal its siblings).
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            self.child_main()
            return True
        self.children[pid] = index
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        return False

    def stop(self, signum: int, _frame: object = None) -> None:
        """Forward the signal to every worker; from now on none is replaced."""
        if not self.stopping:
            self.stopping = True
            for listener in self.listeners:
                listener.close()
        for pid in list(self.children):
            _kill(pid, signum)

    def run(self) -> None:
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            index = self.children.pop(pid, None)
            self.on_child_exit(pid)
            if index is None or self.stopping:
                continue
            # Any exit is replaced, status 0 too: a worker sent SIGTERM on its own drains and
            # exits cleanly, and the supervisor would otherwise run one worker short for good.
            if self._too_many_restarts():
                log.error("workers keep exiting; giving up")
                self.gave_up = True
                self.stop(signal.SIGTERM)
                continue
            log.warning("worker %s %s; restarting it", index, _describe(status))
            if self.spawn(index):
                return
        sys.exit(1 if self.gave_up else 0)  # the orchestrator should see a failure

    def _too_many_restarts(self) -> bool:
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if t > now - 60] + [now]
        return len(self.restarts) > MAX_RESTARTS_PER_MINUTE


def _describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:  # a signal without a name (real-time signals)
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.kill(pid, signum)
