"""The background-work seam: the server asks for work by name; an implementation runs it.

- InProcessDispatcher (embedded default): the task functions of ``workers.tasks`` run in the
  blocking runner's threads. Recomputes of one event are coalesced: while one is queued or
  running, further requests only mark it dirty and one more run follows.
- CeleryDispatcher (production): tasks go to the Celery queues after the commit. Coalesced
  through a Redis marker per event: while a recompute is queued, no second one is sent; the
  task clears the marker before it reads, so the last run always sees every committed result.

Neither publishes: a recompute stores its `standings` event in the outbox with its table,
and the outbox relay publishes it after every entry committed before it (the `score` behind
it among them). This module is the server's one way into ``workers``.

Webhook deliveries (workers/webhooks.py) are attempted in two threads of their own, retried
with timers on the loop; or by the `webhooks` Celery queue, retried with Celery countdowns.

Analytics questions are answered by workers.analytics in the same two ways: in the blocking
runner's threads, or by the `analytics` Celery queue, whose task pushes the answer onto a
Redis list the server waits on asynchronously (BLPOP) — never a blocking result `.get()`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any, Protocol

import redis
from celery import Celery
from kombu.exceptions import OperationalError as BrokerUnavailable
from sqlalchemy.orm import Session, sessionmaker

from config.redis_clients import aioredis_from_url, redis_from_url
from config.tracing import work_span
from server.blocking import BlockingRunner
from workers import tasks, webhooks
from workers.analytics.runtime import AnalyticsRuntime, make_runtime
from workers.celery_app import (
    ANSWER_QUESTION,
    DELIVER_WEBHOOK,
    RECOMPUTE,
    RECORD_AUDITS,
    make_celery,
    pending_recompute_key,
)
from workers.metrics_endpoint import start_metrics_server as start_worker_metrics
from workers.nudge import Nudge, no_nudge
from workers.supervise import celery_main, run_worker
from workers.webhooks import DeliveryPolicy, delivery_policy

__all__ = [  # what the rest of the server may use of the workers, through this seam
    "AnalyticsRuntime",
    "DeliveryPolicy",
    "celery_main",
    "delivery_policy",
    "make_celery",
    "make_runtime",
    "recompute_now",
    "run_worker",
    "start_worker_metrics",
]

log = logging.getLogger("matchday.dispatch")
PENDING_TTL_SECONDS = 300  # a lost task's marker expires; the reconcile task covers the gap


class DispatchUnavailable(Exception):
    """The task queue cannot be reached."""


class AnswerTimeout(Exception):
    """No answer to an analytics question within ANALYTICS_TIMEOUT_SECONDS."""


class Dispatcher(Protocol):
    async def recompute_standings(
        self, event_id: int, request_id: str | None = None, *, force: bool = False
    ) -> str:
        """Ask for an event's standings to be recomputed (after commit); returns a task id.
        `request_id` travels with the task, into its log lines. `force` sends a task even if
        one is marked as queued (the sweep, when that one seems lost)."""

    async def answer_question(
        self, request: dict[str, Any], request_id: str | None = None
    ) -> dict[str, Any]:
        """`{question, event_id, viewer, explain}` → `{"answer": ...}` or `{"error": ...}`;
        raises AnswerTimeout, DispatchUnavailable."""

    async def deliver_webhooks(self, delivery_ids: list[int]) -> None:
        """Attempt these webhook deliveries (after the commit that created or reset them);
        failures are retried with backoff. Raises DispatchUnavailable."""

    async def idle(self) -> None:
        """Wait until no work is queued here (tests, graceful shutdown)."""


class InProcessDispatcher:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        runner: BlockingRunner,
        nudge: Nudge,
        analytics: AnalyticsRuntime,
        answer_timeout: float,
        webhook_policy: DeliveryPolicy,
    ) -> None:
        self._sessions = session_factory
        self._webhook_policy = webhook_policy
        # Attempts wait on receivers for up to WEBHOOK_TIMEOUT_SECONDS: threads of their own,
        # so a slow receiver never holds up bcrypt or a recompute.
        self._webhook_runner = BlockingRunner(2, name="matchday-webhooks")
        self._attempts: set[asyncio.Task[None]] = set()
        self._retries: dict[int, asyncio.TimerHandle] = {}
        self._analytics = analytics
        self._answer_timeout = answer_timeout
        self._runner = runner
        self._nudge = nudge
        self._active: dict[int, tuple[str, asyncio.Task[Any]]] = {}
        self._dirty: set[int] = set()
        self.runs = 0  # recomputes actually run, for tests and metrics

    async def recompute_standings(
        self, event_id: int, request_id: str | None = None, *, force: bool = False
    ) -> str:
        # In-process bookkeeping cannot be lost: an active run always re-reads (dirty).
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
            await self._runner.run(_recompute_traced, self._sessions, self._nudge, event_id)
        except Exception:
            log.exception("standings recompute failed", extra={"event_id": event_id})

    async def answer_question(
        self, request: dict[str, Any], request_id: str | None = None
    ) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self._answer_timeout):
                return await self._runner.run(self._analytics.answer, request)
        except TimeoutError as exc:
            raise AnswerTimeout() from exc

    async def deliver_webhooks(self, delivery_ids: list[int]) -> None:
        for delivery_id in delivery_ids:
            self._attempt_soon(delivery_id)

    def _attempt_soon(self, delivery_id: int) -> None:
        timer = self._retries.pop(delivery_id, None)
        if timer is not None:  # a redelivery overtakes the scheduled retry
            timer.cancel()
        task = asyncio.get_running_loop().create_task(self._attempt(delivery_id))
        self._attempts.add(task)
        task.add_done_callback(self._attempts.discard)

    async def _attempt(self, delivery_id: int) -> None:
        try:
            delay = await self._webhook_runner.run(
                webhooks.deliver_webhook, self._sessions, self._webhook_policy, delivery_id
            )
        except Exception:  # the database is away: the server's sweep tries it again
            log.exception("webhook attempt failed", extra={"delivery_id": delivery_id})
            return
        if delay is not None:
            loop = asyncio.get_running_loop()
            self._retries[delivery_id] = loop.call_later(delay, self._attempt_soon, delivery_id)

    async def idle(self) -> None:
        while self._active or self._attempts:
            await asyncio.gather(
                *(task for _id, task in self._active.values()),
                *self._attempts,
                return_exceptions=True,
            )

    def close(self) -> None:
        """Scheduled retries are dropped (the rows say when they are due: the sweep of the
        next start sends them)."""
        for timer in self._retries.values():
            timer.cancel()
        self._retries.clear()
        self._webhook_runner.shutdown()


def _recompute_traced(sessions: sessionmaker[Session], nudge: Nudge, event_id: int) -> int | None:
    # In the runner's thread, in the context of the request that asked (tracing on).
    with work_span(f"run/{RECOMPUTE}", event_id=event_id):
        return tasks.recompute_standings(sessions, nudge, event_id)


class CeleryDispatcher:
    def __init__(
        self,
        celery: Celery,
        redis_url: str,
        prefix: str,
        runner: BlockingRunner,
        answer_timeout: float,
    ) -> None:
        self._celery = celery
        self._redis = redis_from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        # BLPOP holds its connection for up to answer_timeout: the socket timeout must exceed it.
        self._replies = aioredis_from_url(
            redis_url, socket_timeout=answer_timeout + 5, socket_connect_timeout=2
        )
        self._answer_timeout = answer_timeout
        self._prefix = prefix
        self._runner = runner
        self.sent = 0  # tasks actually enqueued, for tests and metrics

    async def recompute_standings(
        self, event_id: int, request_id: str | None = None, *, force: bool = False
    ) -> str:
        try:
            return await self._runner.run(self._enqueue_recompute, event_id, request_id, force)
        except (redis.RedisError, OSError) as exc:
            raise DispatchUnavailable(str(exc)) from exc

    def _enqueue_recompute(self, event_id: int, request_id: str | None, force: bool) -> str:
        key = pending_recompute_key(self._prefix, event_id)
        task_id = uuid.uuid4().hex
        if force:
            self._redis.set(key, task_id, ex=PENDING_TTL_SECONDS)
        elif not self._redis.set(key, task_id, nx=True, ex=PENDING_TTL_SECONDS):
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

    async def deliver_webhooks(self, delivery_ids: list[int]) -> None:
        try:
            await self._runner.run(self._enqueue_deliveries, delivery_ids)
        except (redis.RedisError, OSError, BrokerUnavailable) as exc:
            raise DispatchUnavailable(str(exc)) from exc

    def _enqueue_deliveries(self, delivery_ids: list[int]) -> None:
        for delivery_id in delivery_ids:
            self._celery.send_task(DELIVER_WEBHOOK, args=[delivery_id], ignore_result=True)

    def enqueue_audits(self, records: list[dict[str, Any]]) -> None:
        """One task for a batch of audit records (server/audit_sink.py). The message's
        request id is theirs when they share one; each line the worker logs names its own."""
        ids = {record.get("request_id") for record in records}
        headers = {"request_id": ids.pop() if len(ids) == 1 else None}
        self._celery.send_task(RECORD_AUDITS, args=[records], ignore_result=True, headers=headers)

    async def answer_question(
        self, request: dict[str, Any], request_id: str | None = None
    ) -> dict[str, Any]:
        reply_to = f"{self._prefix}analytics:reply:{uuid.uuid4().hex}"
        try:
            await self._runner.run(self._enqueue_question, request, reply_to, request_id)
            popped = await self._replies.blpop([reply_to], timeout=self._answer_timeout)
        except (redis.RedisError, OSError) as exc:
            raise DispatchUnavailable(str(exc)) from exc
        if popped is None:
            raise AnswerTimeout()
        reply: dict[str, Any] = json.loads(popped[1])
        return reply

    def _enqueue_question(
        self, request: dict[str, Any], reply_to: str, request_id: str | None
    ) -> None:
        self._celery.send_task(
            ANSWER_QUESTION,
            args=[request, reply_to],
            ignore_result=True,
            # A worker that only gets to it after the asker gave up drops it unanswered.
            expires=self._answer_timeout,
            headers={"request_id": request_id},
        )

    async def idle(self) -> None:
        return None  # the queue belongs to the workers

    async def aclose(self) -> None:
        await self._replies.aclose()

    def close(self) -> None:
        self._redis.close()


def recompute_now(session_factory: sessionmaker[Session], event_id: int) -> int | None:
    """Recompute a table here and now, with no server around (`matchday demo`, benchmarks):
    its `standings` event waits in the outbox for a server's relay."""
    return tasks.recompute_standings(session_factory, no_nudge, event_id)
