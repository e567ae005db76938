"""The outbox relay: the one publisher of live events.

A unit of work stores its live events as outbox rows in its own transaction
(server/unit_of_work.py) and kicks the relay after the commit; a worker's recompute stores
its `standings` row the same way and nudges the relays over Redis (workers/nudge.py). The
relay publishes committed entries oldest first and deletes them, so events reach the stream
in the order their changes committed. If the streams backend is down, the entries wait and
a periodic sweep retries. Every entry is published with its row id as the dedupe key, so a
retry after a crash between publish and delete, or a second server process's relay, does
not publish it twice. The transaction that deletes published entries also creates their
webhook deliveries (server/live/webhook_fanout.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from config.tracing import record_span
from models import OutboxEntry, StandingsSnapshot
from models.outbox import outbox_dedupe_key
from server import metrics
from server.live.streams import EventStreams, Outgoing
from server.live.webhook_fanout import WebhookFanout

log = logging.getLogger("matchday.outbox")
BATCH = 200


def _record_standings_ids(session: Session, carried: list[tuple[OutboxEntry, str]]) -> None:
    """Note in each snapshot which stream message carried it (only if still the newest), so
    a standings response can say which stream id it is current to."""
    for entry, stream_id in carried:
        version = json.loads(entry.data)["version"]
        session.execute(
            update(StandingsSnapshot)
            .where(
                StandingsSnapshot.event_id == entry.event_id,
                StandingsSnapshot.version == version,
            )
            .values(last_event_id=stream_id)
        )


def _trace_publications(
    batch: list[OutboxEntry], stream_ids: list[str | None], started_ns: int
) -> None:
    """One span per entry that carries a trace (tracing on): the batch's publication, in the
    trace of the change that wrote the entry (a score's request, a recompute's task)."""
    ended_ns = time.time_ns()
    for entry, stream_id in zip(batch, stream_ids, strict=True):
        if entry.traceparent:
            record_span(
                f"publish {entry.kind}",
                entry.traceparent,
                start_ns=started_ns,
                end_ns=ended_ns,
                attributes={
                    "messaging.system": "redis_streams",
                    "messaging.operation.type": "publish",
                    "messaging.message.id": stream_id or "",
                    "matchday.event_id": entry.event_id,
                    "matchday.outbox_id": entry.id,
                    "matchday.kind": entry.kind,
                },
            )


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        streams: EventStreams,
        *,
        sweep_seconds: float,
        webhooks: WebhookFanout | None = None,
    ) -> None:
        self._sessions = sessions
        self._webhooks = webhooks
        self._streams = streams
        self._sweep_seconds = sweep_seconds
        self._kicked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._waiters: list[asyncio.Future[None]] = []
        self.published = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def kick(self) -> None:
        """Call after a commit that added entries."""
        self._kicked.set()

    async def caught_up(self) -> None:
        """Wait for a relay pass that began after this call, so every entry committed before
        it is published: a recompute's `standings` then follows the `score` that caused it."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self.kick()
        await asyncio.shield(waiter)

    async def _run(self) -> None:
        while not self._closing:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # lands in the tick the event is set (a kick), and close() then waits forever.
            with contextlib.suppress(TimeoutError):  # the periodic sweep
                async with asyncio.timeout(self._sweep_seconds):
                    await self._kicked.wait()
            self._kicked.clear()
            waiters, self._waiters = self._waiters, []
            await self.relay_pending()
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def relay_pending(self) -> int:
        """Publish every committed entry; returns how many were published. Never raises."""
        total = 0
        try:
            while batch := await self._pending():
                total += await self._publish(batch)
                if len(batch) < BATCH:
                    # Drained as of this pass's read: an entry committed since kicked the
                    # relay again. Not asking a second time saves a session and a SELECT
                    # per pass, which at a pass per score was most of the relay's work.
                    break
            metrics.OUTBOX_PENDING.set(0)
        except Exception as exc:  # the backend is down: entries stay for the next sweep
            log.warning("outbox relay paused: %s", exc)
            await self._count_pending()
        self.published += total
        metrics.OUTBOX_PUBLISHED.inc(total)
        return total

    async def _count_pending(self) -> None:
        """The backlog for matchday_outbox_pending, counted only when a pass failed (a pass
        that caught up sets 0 without a query)."""
        with contextlib.suppress(Exception):  # the database is down too: keep the last reading
            async with self._sessions() as session:
                count = await session.scalar(select(func.count()).select_from(OutboxEntry))
            metrics.OUTBOX_PENDING.set(count or 0)

    async def _pending(self) -> list[OutboxEntry]:
        async with self._sessions() as session:
            query = select(OutboxEntry).order_by(OutboxEntry.id).limit(BATCH)
            return list(await session.scalars(query))

    async def _publish(self, batch: list[OutboxEntry]) -> int:
        """The batch in one go (a pipeline on Redis). If it fails, every entry stays for the
        next sweep; those that made it are skipped then by their dedupe keys."""
        started_ns = time.time_ns()
        stream_ids = await self._streams.publish_many(
            [Outgoing(e.event_id, e.kind, e.data, outbox_dedupe_key(e.id)) for e in batch]
        )
        _trace_publications(batch, stream_ids, started_ns)
        # Standings tables and the ids of the messages that carried them.
        carried = [
            (entry, stream_id)
            for entry, stream_id in zip(batch, stream_ids, strict=True)
            if entry.kind == "standings" and stream_id
        ]
        done = [entry.id for entry in batch]
        deliveries: list[int] = []
        async with self._sessions() as session, session.begin():
            deleted = await session.execute(
                delete(OutboxEntry)
                .where(OutboxEntry.id.in_(done))
                .returning(OutboxEntry.id)
                .execution_options(synchronize_session=False)
            )
            await session.run_sync(_record_standings_ids, carried)
            if self._webhooks is not None:
                mine = set(deleted.scalars())  # another relay deleted the rest: its deliveries
                published = [
                    (entry, stream_id)
                    for entry, stream_id in zip(batch, stream_ids, strict=True)
                    if entry.id in mine
                ]
                deliveries = await self._webhooks.record(session, published)
        if self._webhooks is not None:
            self._webhooks.send(deliveries)
        return len(done)

    async def close(self) -> None:
        """Let a pass in progress finish, rather than cancel it: a pass cut short on SQLite
        keeps its connection's write lock until it is collected, and the last pass below then
        waits out the database's busy timeout (5 s). Then publish what is left."""
        self._closing = True
        self._kicked.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.relay_pending()
