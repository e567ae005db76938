"""The sweep: what a committed change still owes, finished after a grace period.

A change records its standings recompute (`pending_recomputes`) and, in production, its
audit entries (`pending_audits`) in its own transaction (models/intents.py). Normally a
worker pays them within milliseconds and deletes the rows. If the task was lost — the broker
was down or restarted without its data, a worker was killed — the rows stay, and every
FOLLOW_UP_GRACE_SECONDS / 2 each server process: queues the overdue recomputes again (even if
a task is marked as queued), and stores the overdue audit entries itself. Webhook deliveries
whose attempt is overdue (a lost task or retry, a worker that died mid-attempt, a restart of
the embedded default) are queued again too. All of it is idempotent, so several processes
sweeping at once only repeat work.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from models.audit_entries import store_pending
from models.base import utcnow
from models.domain.webhooks import DUE
from models.intents import PendingAudit, PendingRecompute
from models.webhooks import WebhookDelivery
from server.blocking import BlockingRunner
from server.dispatch import Dispatcher, DispatchUnavailable

log = logging.getLogger("matchday.sweeper")
AUDIT_BATCH = 500


@dataclass(frozen=True)
class Swept:
    requeued: int  # overdue recomputes queued again
    audited: int  # overdue audit entries stored by the sweep
    webhooks: int = 0  # overdue webhook deliveries queued again


class FollowUpSweeper:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sync_sessions: sessionmaker[Session],
        runner: BlockingRunner,
        dispatcher: Dispatcher,
        *,
        grace_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._sync_sessions = sync_sessions
        self._runner = runner
        self._dispatcher = dispatcher
        self._grace = timedelta(seconds=grace_seconds)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._grace.total_seconds() / 2)
            try:
                await self.sweep()
            except Exception as exc:  # the database is down: next round
                log.warning("follow-up sweep failed: %s", exc)

    async def sweep(self) -> Swept:
        cutoff = utcnow() - self._grace
        events, records = await self._overdue(cutoff)
        requeued = await self._requeue(events)
        audited = await self._runner.run(store_pending, self._sync_sessions, records)
        webhooks = await self._requeue_webhooks(cutoff)
        if requeued or audited or webhooks:
            log.warning(
                "finished work of committed changes whose tasks were lost",
                extra={
                    "recomputes_requeued": requeued,
                    "audit_entries_stored": audited,
                    "webhook_deliveries_requeued": webhooks,
                },
            )
        return Swept(requeued, audited, webhooks)

    async def _requeue_webhooks(self, cutoff: object) -> int:
        async with self._sessions() as session, session.begin():
            # Due now, and not overdue again before another grace period has passed.
            result = await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.status.in_((*DUE, "delivering")),
                    WebhookDelivery.next_attempt_at < cutoff,
                    WebhookDelivery.id.in_(
                        select(WebhookDelivery.id)
                        .where(
                            WebhookDelivery.status.in_((*DUE, "delivering")),
                            WebhookDelivery.next_attempt_at < cutoff,
                        )
                        .order_by(WebhookDelivery.next_attempt_at)
                        .limit(AUDIT_BATCH)
                    ),
                )
                .values(next_attempt_at=utcnow())
                .returning(WebhookDelivery.id)
                .execution_options(synchronize_session=False)
            )
            ids = list(result.scalars())
        if ids:
            try:
                await self._dispatcher.deliver_webhooks(ids)
            except DispatchUnavailable as exc:
                log.warning("overdue webhook deliveries not queued: %s", exc)
                return 0
        return len(ids)

    async def _overdue(self, cutoff: object) -> tuple[list[int], list[dict]]:
        async with self._sessions() as session, session.begin():
            # Restart the clock of what is queued again now: a slow queue gets one more
            # task per grace period, not one per sweep.
            result = await session.execute(
                update(PendingRecompute)
                .where(PendingRecompute.requested_at < cutoff)
                .values(requested_at=utcnow())
                .returning(PendingRecompute.event_id)
            )
            events = list(result.scalars())
            rows = await session.scalars(
                select(PendingAudit.record)
                .where(PendingAudit.created_at < cutoff)
                .order_by(PendingAudit.created_at)
                .limit(AUDIT_BATCH)
            )
            return events, [json.loads(row) for row in rows]

    async def _requeue(self, events: list[int]) -> int:
        for done, event_id in enumerate(events):
            try:
                await self._dispatcher.recompute_standings(event_id, force=True)
            except DispatchUnavailable as exc:
                log.warning("overdue recomputes not queued (next sweep retries): %s", exc)
                await self._restore(events[done:])
                return done
        return len(events)

    async def _restore(self, events: list[int]) -> None:
        """Still owed: due again at the next sweep, not a whole grace period later."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(PendingRecompute)
                .where(PendingRecompute.event_id.in_(events))
                .values(requested_at=utcnow() - self._grace)
            )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
