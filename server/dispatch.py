"""The background-work seam: the server asks for work by name; an implementation runs it.

- InProcessDispatcher (embedded default): the task functions of ``workers.tasks`` run in the
  blocking runner's threads. Recomputes of one event are coalesced: while one is queued or
  running, further requests only mark it dirty and one more run follows.
- CeleryDispatcher (production): tasks go to the Celery queues after the commit. Coalesced
  through a Redis marker per event: while a recompute is queued, no second one is sent; the
  task clears the marker before it reads, so the last run always sees every committed result.

Both wait (briefly) for the outbox relay first, so `standings` follows the `score` behind it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from server.blocking import BlockingRunner
from workers import tasks
from workers.celery_app import RECOMPUTE
from workers.celery_tasks import pending_recompute_key
from workers.publish import Publisher

log = logging.getLogger("matchday.dispatch")
PENDING_TTL_SECONDS = 300  # a lost task's marker expires; the reconcile task covers the gap


class DispatchUnavailable(Exception):
    """The task queue cannot be reached."""


class Dispatcher(Protocol):
    async def recompute_standings(self, event_id: int, request_id: str | None = None) -> str:
        """Ask for an event's standings to be recomputed (after commit); returns a task id.
        `request_id` travels with the task, into its log lines."""

    async def idle(self) -> None:
        """Wait until no work is queued here (tests, graceful shutdown)."""


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
        self._active: dict[int, tuple[str, asyncio.Task[Any]]] = {}
        self._dirty: set[int] = set()
        self.runs = 0  # recomputes actually run, for tests and metrics

    async def recompute_standings(self, event_id: int, request_id: str | None = None) -> str:
        if event_id in self._active:
            self._dirty.add(event_id)
            return self._active[event_id][0]
        task_id = uuid.uuid4().hex
        task = asyncio.get_running_loop().create_task(self._loop(event_id))
        self._active[event_id] = (task_id, task)
        return task_id

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
            await asyncio.gather(
                *(task for _id, task in self._active.values()), return_exceptions=True
            )


class CeleryDispatcher:
    def __init__(
        self,
        celery: Celery,
        redis_url: str,
        prefix: str,
        runner: BlockingRunner,
        before_run: Callable[[], Awaitable[None]],
    ) -> None:
        self._celery = celery
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        self._prefix = prefix
        self._runner = runner
        self._before_run = before_run
        self.sent = 0  # tasks actually enqueued, for tests and metrics

    async def recompute_standings(self, event_id: int, request_id: str | None = None) -> str:
        await self._before_run()
        try:
            return await self._runner.run(self._enqueue_recompute, event_id, request_id)
        except (redis.RedisError, OSError) as exc:
            raise DispatchUnavailable(str(exc)) from exc

    def _enqueue_recompute(self, event_id: int, request_id: str | None) -> str:
        key = pending_recompute_key(self._prefix, event_id)
        task_id = uuid.uuid4().hex
        if not self._redis.set(key, task_id, nx=True, ex=PENDING_TTL_SECONDS):
            queued = self._redis.get(key)
            if queued is not None:
                return queued.decode() if isinstance(queued, bytes) else str(queued)
            self._redis.set(key, task_id, ex=PENDING_TTL_SECONDS)
        try:
            # ignore_result: no result-backend subscription, which would retry for ~20 s
            # before a publish to a dead broker fails.
            self._celery.send_task(
                RECOMPUTE,
                args=[event_id],
                task_id=task_id,
                ignore_result=True,
                headers={"request_id": request_id},
            )
        except Exception:
            self._redis.delete(key)  # not queued after all: let the next score try again
            raise
        self.sent += 1
        return task_id

    def enqueue_audit(self, record: dict[str, Any]) -> None:
        from workers.celery_app import RECORD_AUDIT

        headers = {"request_id": record.get("request_id")}
        self._celery.send_task(RECORD_AUDIT, args=[record], ignore_result=True, headers=headers)

    async def idle(self) -> None:
        return None  # the queue belongs to the workers

    def close(self) -> None:
        self._redis.close()
