"""Celery tasks: thin wrappers that run the task functions of workers.tasks with per-process
resources (engine, outbox nudge, Redis), retries for transient failures and the task id in logs."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import redis
from celery import Task, shared_task, signals
from celery.exceptions import Retry
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from config.errors import tag_errors
from config.logging import log_context
from config.prometheus import process_exited
from config.redis_clients import redis_from_url
from config.settings import Settings
from models.audit_entries import AuditRecord, store_pending
from models.db import make_sync_engine, sync_session_factory
from workers import maintenance, tasks, webhooks
from workers.analytics.errors import unavailable_error
from workers.analytics.runtime import AnalyticsRuntime, make_runtime
from workers.celery_app import (
    ANSWER_QUESTION,
    DELIVER_WEBHOOK,
    RECOMPUTE,
    RECONCILE,
    RECORD_AUDIT,
    RECORD_AUDITS,
    pending_recompute_key,
)
from workers.metrics import TASK_SECONDS, TASKS
from workers.nudge import RedisNudge

log = logging.getLogger("matchday.worker")
TRANSIENT = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)


@dataclass
class WorkerResources:
    """One set per worker process (created after the fork, never shared across it)."""

    pid: int
    settings: Settings
    sessions: sessionmaker[Session]
    nudge: RedisNudge
    redis: redis.Redis
    _analytics: AnalyticsRuntime | None = None

    @property
    def analytics(self) -> AnalyticsRuntime:
        # Built on first use: standings-only workers never open the read engine.
        if self._analytics is None:
            self._analytics = make_runtime(self.settings, self.redis)
        return self._analytics


def _resources(settings: Settings) -> WorkerResources:
    engine = make_sync_engine(settings)
    return WorkerResources(
        pid=os.getpid(),
        settings=settings,
        sessions=sync_session_factory(engine),
        nudge=RedisNudge(settings.redis_url, prefix=settings.redis_key_prefix),
        redis=redis_from_url(settings.redis_url, socket_timeout=5),
    )


class MatchdayTask(Task):
    """Base of every task: resources per process, retries with backoff for transient
    database/Redis errors, the task id in every log line, duration and outcome metrics."""

    abstract = True
    autoretry_for = TRANSIENT
    retry_backoff = True
    retry_backoff_max = 30
    retry_jitter = True
    max_retries = 8
    acks_late = True
    reject_on_worker_lost = True
    _shared: WorkerResources | None = None

    @property
    def res(self) -> WorkerResources:
        shared = MatchdayTask._shared
        if shared is None or shared.pid != os.getpid():
            MatchdayTask._shared = shared = _resources(self.app.conf.matchday_settings)
        return shared

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        context = {"task_id": self.request.id, "task": self.name, "request_id": _request_id(self)}
        token = log_context.set(context)
        tag_errors(**context)  # Sentry's event for a failure carries them too
        started = time.perf_counter()
        outcome = "error"
        try:
            result = super().__call__(*args, **kwargs)
            outcome = "ok"
            return result
        except Retry:  # autoretry_for: a transient error, sent again with backoff
            outcome = "retry"
            raise
        finally:
            TASKS.labels(self.name, outcome).inc()
            TASK_SECONDS.labels(self.name).observe(time.perf_counter() - started)
            log_context.reset(token)


@signals.worker_process_shutdown.connect
def _pool_process_exits(**_: Any) -> None:
    """A pool process's live gauges (its database pool) stop counting in the worker's sum."""
    process_exited(os.getpid())


def _request_id(task: Task) -> str | None:
    """The request id the server sent in the message headers (custom headers land on the
    request context, or under `headers` depending on the protocol)."""
    direct = getattr(task.request, "request_id", None)
    return direct or (getattr(task.request, "headers", None) or {}).get("request_id")


@shared_task(bind=True, base=MatchdayTask, name=RECOMPUTE)
def recompute_standings(self: MatchdayTask, event_id: int) -> int | None:
    # Clear the marker first: a score committed from now on enqueues a fresh recompute,
    # while everything committed before it is read by this run.
    self.res.redis.delete(pending_recompute_key(self.res.settings.redis_key_prefix, event_id))
    return tasks.recompute_standings(self.res.sessions, self.res.nudge, event_id)


@shared_task(bind=True, base=MatchdayTask, name=RECORD_AUDIT)
def record_audit(self: MatchdayTask, record: AuditRecord) -> bool:
    """Idempotent on the record's uid: a redelivered task writes no second row. The server's
    `pending_audits` row goes in the same transaction (the sweep's work is then done)."""
    stored = store_pending(self.res.sessions, [record]) == 1
    log.info(
        "audit entry %s", "stored" if stored else "already stored", extra={"uid": record["uid"]}
    )
    return stored


@shared_task(bind=True, base=MatchdayTask, name=RECORD_AUDITS)
def record_audits(self: MatchdayTask, records: list[AuditRecord]) -> int:
    """A server's batch of records (one task for every record its process committed while
    the previous batch was being sent); idempotent on each uid as `record_audit`. Each line
    carries the request id of the change it records."""
    stored = 0
    context = log_context.get() or {}
    for record in records:
        new = store_pending(self.res.sessions, [record]) == 1
        stored += new
        token = log_context.set({**context, "request_id": record.get("request_id")})
        try:
            log.info(
                "audit entry %s",
                "stored" if new else "already stored",
                extra={"uid": record["uid"]},
            )
        finally:
            log_context.reset(token)
    return stored


@shared_task(bind=True, base=MatchdayTask, name=RECONCILE)
def reconcile(self: MatchdayTask) -> dict[str, int]:
    """Recompute stale tables; prune expired idempotency keys and revoked tokens."""
    stale = maintenance.stale_events(self.res.sessions)
    for event_id in stale:
        tasks.recompute_standings(self.res.sessions, self.res.nudge, event_id)
    pruned = maintenance.prune_expired(self.res.sessions)
    log.info("reconciled", extra={"recomputed": len(stale), **pruned})
    return {"recomputed": len(stale), **pruned}


ANSWER_REPLY_TTL_SECONDS = 60  # a reply nobody collected (the server gave up) expires


@shared_task(
    bind=True,
    base=MatchdayTask,
    name=ANSWER_QUESTION,
    autoretry_for=(),
    max_retries=0,
    acks_late=False,  # a question is not worth redelivering: the asker has moved on
)
def answer_question(self: MatchdayTask, request: dict[str, Any], reply_to: str) -> None:
    """Answer and push the outcome onto `reply_to`, where the server waits (BLPOP)."""
    try:
        outcome = self.res.analytics.answer(request)
    except Exception:
        log.exception("analytics question failed")
        outcome = {"error": unavailable_error().to_dict()}
    pipe = self.res.redis.pipeline()
    pipe.rpush(reply_to, json.dumps(outcome, separators=(",", ":")))
    pipe.expire(reply_to, ANSWER_REPLY_TTL_SECONDS)
    pipe.execute()


@shared_task(bind=True, base=MatchdayTask, name=DELIVER_WEBHOOK)
def deliver_webhook(self: MatchdayTask, delivery_id: int) -> None:
    """One attempt; a failed one is sent again after its backoff (the row says when: a lost
    retry is found by the server's sweep, a duplicate finds the delivery claimed or done)."""
    policy = webhooks.delivery_policy(self.res.settings)
    delay = webhooks.deliver_webhook(self.res.sessions, policy, delivery_id)
    if delay is not None:
        raise self.retry(countdown=delay, max_retries=None)
