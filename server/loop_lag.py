"""The event loop measures its own stalls: a timer due every TICK_SECONDS notes how late it ran.

Anything that holds the loop (CPU work over many rows, a blocking call, a long garbage
collection) delays every request and SSE write by the same amount; the timer's lateness is
that delay, seen from inside. One `call_at` callback per tick, no task or future: cheap
enough to run always.
"""

from __future__ import annotations

import asyncio

from server import metrics

TICK_SECONDS = 0.02  # a stall of S seconds shows as a lag of at least S - TICK_SECONDS
WINDOW_SECONDS = 10.0  # the max gauge covers the current and the previous window


class LoopLagMonitor:
    def __init__(self, tick_seconds: float = TICK_SECONDS) -> None:
        self._tick = tick_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._window_ends = 0.0
        self._window_max = 0.0
        self._previous_max = 0.0

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._window_ends = self._loop.time() + WINDOW_SECONDS
        self._schedule()

    def _schedule(self) -> None:
        assert self._loop is not None
        self._due = self._loop.time() + self._tick
        self._handle = self._loop.call_at(self._due, self._ran)

    def _ran(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        # The loop runs timers up to one clock resolution early: never a negative lag.
        lag = max(0.0, now - self._due)
        metrics.EVENT_LOOP_LAG.observe(lag)
        if now >= self._window_ends:
            self._previous_max, self._window_max = self._window_max, 0.0
            self._window_ends = now + WINDOW_SECONDS
        self._window_max = max(self._window_max, lag)
        metrics.EVENT_LOOP_LAG_MAX.set(max(self._window_max, self._previous_max))
        self._schedule()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
