"""The application's side of a unit of work: what happens once a change has committed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.intents import owe_recomputes
from server.audit_sink import AuditSink
from server.auth.access_changes import AccessChanges
from server.business_metrics import count_committed
from server.dispatch import Dispatcher, DispatchUnavailable
from server.live.outbox import OutboxRelay
from server.live.standings_cache import StandingsCache
from server.reads.service import EventReads
from server.unit_of_work import Pending

log = logging.getLogger("matchday.follow_ups")


class AppFollowUps:
    def __init__(
        self,
        *,
        audit_sink: AuditSink,
        relay: OutboxRelay,
        dispatcher: Dispatcher,
        standings_cache: StandingsCache,
        reads: EventReads,
        access_changes: AccessChanges,
        background: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self._audit_sink = audit_sink
        self._relay = relay
        self._dispatcher = dispatcher
        self._cache = standings_cache
        self._reads = reads
        self._access_changes = access_changes
        self._background = background

    async def before_commit(self, session: AsyncSession, work: Pending) -> None:
        # The recomputes owed are rows of this transaction: a lost task cannot lose them.
        owed = owe_recomputes(session.get_bind().dialect.name, work.recomputes)
        if owed is not None:
            await session.execute(owed)
        await self._audit_sink.before_commit(session, work.audit)

    async def after_commit(self, work: Pending) -> None:
        # Spectators first: the relay publishes the committed events while the rest runs.
        if work.live_events:
            self._relay.kick()
        count_committed(work.audit)
        if work.access_changed:  # before the caller is answered: its next request counts it
            await self._access_changes.committed()
        for event_id in work.forget_standings:
            self._cache.forget(event_id)
        # Before the writer is answered: a read it sends next, to any process, sees its change.
        if work.changed_events or work.listing_changed:
            await self._reads.changed(work.changed_events, listing=work.listing_changed)
        request_id = work.context.request_id
        waited = [event_id for event_id, wait in work.recomputes.items() if wait]
        for event_id, wait in work.recomputes.items():
            if not wait:
                self._background(self._recompute(event_id, request_id))
        if work.webhook_deliveries:
            self.send_webhooks(work.webhook_deliveries)
        # Before any waited dispatch, which may raise: an audit entry is never dropped.
        await self._audit_sink.after_commit(work.audit)
        for event_id in waited:
            work.task_ids[event_id] = await self._dispatcher.recompute_standings(
                event_id, request_id
            )

    def send_webhooks(self, delivery_ids: list[int]) -> None:
        """Hand committed deliveries to the dispatcher, in the background."""
        self._background(self._send_webhooks(list(delivery_ids)))

    async def _send_webhooks(self, delivery_ids: list[int]) -> None:
        try:
            await self._dispatcher.deliver_webhooks(delivery_ids)
        except DispatchUnavailable as exc:
            # The rows say they are due: the sweep sends them once the queue is back.
            log.warning("webhook deliveries not queued (the sweep will): %s", exc)

    async def _recompute(self, event_id: int, request_id: str | None) -> None:
        try:
            await self._dispatcher.recompute_standings(event_id, request_id)
        except DispatchUnavailable as exc:
            # The change is committed; the periodic reconcile task recomputes the stale table.
            log.warning("recompute not queued (reconcile will catch up): %s", exc)
