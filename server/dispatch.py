"""The background-work seam: the server asks for work by name; an implementation runs it.

This module ships the in-process implementation for the embedded default: the task
functions from ``workers.tasks`` run in the blocking runner's threads. Recomputes of one
event are coalesced: while one is queued or running, further requests only mark it dirty,
and one more run follows, so a burst of scores costs a handful of recomputes, and the last
one always sees every committed result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from server.blocking import BlockingRunner
from workers import tasks
from workers.publish import Publisher

log = logging.getLogger("matchday.dispatch")


class Dispatcher(Protocol):
    def recompute_standings(self, event_id: int) -> None:
        """Ask for an event's standings to be recomputed (call after commit)."""

    async def idle(self) -> None:
        """Wait until no work is queued or running (tests, graceful shutdown)."""


class InProcessDispatcher:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        runner: BlockingRunner,
        publish: Publisher,
        before_run: Callable[[], Awaitable[None]],
    ) -> None:
        self._sessions = session_factory
        self._runner = runner
        self._publish = publish
        self._before_run = before_run
        self._active: dict[int, asyncio.Task[Any]] = {}
        self._dirty: set[int] = set()
        self.runs = 0  # recomputes actually run, for tests and metrics

    def recompute_standings(self, event_id: int) -> None:
        if event_id in self._active:
            self._dirty.add(event_id)
            return
        self._active[event_id] = asyncio.get_running_loop().create_task(self._loop(event_id))

    async def _loop(self, event_id: int) -> None:
        try:
            while True:
                self._dirty.discard(event_id)
                await self._run_once(event_id)
                if event_id not in self._dirty:
                    return
        finally:
            self._active.pop(event_id, None)

    async def _run_once(self, event_id: int) -> None:
        self.runs += 1
        try:
            await self._before_run()
            await self._runner.run(
                tasks.recompute_standings, self._sessions, self._publish, event_id
            )
        except Exception:
            log.exception("standings recompute failed", extra={"event_id": event_id})

    async def idle(self) -> None:
        while self._active:
            await asyncio.gather(*self._active.values(), return_exceptions=True)
