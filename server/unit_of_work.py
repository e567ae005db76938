"""One unit of work per change.

A service records, on the session, everything its change implies while it makes it: audit
entries (``services.audit.record``), live events (``publish``), standings recomputes
(``recompute``), webhook deliveries to attempt (``deliver_webhooks``; those of live events
are created by the relay as it publishes them, server/live/webhook_fanout.py), cached tables
gone stale (``forget_standings``) and the league events whose cached reads it makes old
(noted by itself: every flushed event, team, game or scorekeeper row and every live event;
``touch_event`` for Core statements). ``unit_of_work`` owns
the transaction: live events become outbox rows inside it, and only once it has committed
are the follow-ups handed to the application's ``FollowUps`` (audit sink, outbox relay,
dispatcher, standings cache). A rollback discards them all, so nothing is published,
queued or audited for a change that did not happen. (``publish_many``: many live events at
once, e.g. an import's 10,000 games.)

Handlers open a unit of work (``BaseHandler.db()``) and call one service; they never touch
the outbox, the relay or the dispatcher themselves.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from config.tracing import current_traceparent
from models import Event, Game, OutboxEntry, Scorekeeper, Team
from models.audit_entries import AuditRecord
from models.bulk import insert_rows, table_of

PENDING = "matchday.unit_of_work"


@dataclass(frozen=True)
class AuditContext:
    """Who acts and from where; the handler builds it from the request."""

    actor_id: int | None
    request_id: str | None
    ip: str | None


NO_CONTEXT = AuditContext(None, None, None)  # commands and tasks: no request behind them


@dataclass
class Pending:
    """What a unit of work implies, collected during the transaction."""

    context: AuditContext = NO_CONTEXT
    audit: list[AuditRecord] = field(default_factory=list)
    live_events: int = 0
    # event id -> whether the caller waits for the task to be queued (and learns its id)
    recomputes: dict[int, bool] = field(default_factory=dict)
    forget_standings: set[int] = field(default_factory=set)
    # league events whose cached reads go stale; listing: an event's own row changed
    changed_events: set[int] = field(default_factory=set)
    listing_changed: bool = False
    # someone's access changed (sign-out, password, role): remembered tokens are forgotten
    access_changed: bool = False
    task_ids: dict[int, str] = field(default_factory=dict)  # filled after the commit
    webhook_deliveries: list[int] = field(default_factory=list)
    # Live events not yet written, as outbox rows: a unit of work writes them with one Core
    # INSERT before it commits (no ORM object, no flush of its own). None outside a unit of
    # work: `publish` adds ORM objects, written by the session's next flush.
    outbox: list[dict[str, Any]] | None = None


def pending(session: AsyncSession) -> Pending:
    found = session.info.get(PENDING)
    if found is None:
        found = session.info[PENDING] = Pending()
    return found  # type: ignore[no-any-return]


def publish(session: AsyncSession, event_id: int, kind: str, payload: Any) -> None:
    """A live event for the league event's stream: stored in the outbox with the change,
    published by the relay once the transaction commits."""
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    row = {"event_id": event_id, "kind": kind, "data": data, "traceparent": current_traceparent()}
    work = pending(session)
    if work.outbox is None:
        session.add(OutboxEntry(**row))
    else:
        work.outbox.append(row)
    work.live_events += 1
    work.changed_events.add(event_id)


async def write_outbox(session: AsyncSession) -> None:
    """Write the live events `publish` has collected, in the order they were published (the
    relay publishes by id): before the commit, and before any later outbox INSERT."""
    work = pending(session)
    if work.outbox:
        rows, work.outbox = work.outbox, []
        await insert_rows(session, table_of(OutboxEntry), rows)


async def publish_many(
    session: AsyncSession, event_id: int, kind: str, datas: Sequence[str]
) -> None:
    """Many live events of one kind at once (an import's games), each already serialised
    to JSON (off the event loop, by the caller): Core INSERTs instead of an ORM object per
    event. Published by the relay once the transaction commits, like `publish`'s."""
    if not datas:
        return
    # What `publish` collected before goes first, so those entries get the lower ids: the
    # relay publishes in id order. (Executing the INSERT flushes those it added as objects.)
    await write_outbox(session)
    traceparent = current_traceparent()
    rows = [
        {"event_id": event_id, "kind": kind, "data": data, "traceparent": traceparent}
        for data in datas
    ]
    await insert_rows(session, table_of(OutboxEntry), rows)
    work = pending(session)
    work.live_events += len(datas)
    work.changed_events.add(event_id)


def recompute(session: AsyncSession, event_id: int, *, wait: bool = False) -> None:
    """Recompute the event's standings after the commit. With `wait`, the commit's caller
    waits for the task to be queued (DispatchUnavailable if it cannot be) and finds its id
    in ``Pending.task_ids``; otherwise it is queued in the background. Either way the
    recompute is owed as a row of this transaction, so a queue outage or a lost task is made
    good by the sweep (server/sweeper.py)."""
    work = pending(session)
    work.recomputes[event_id] = work.recomputes.get(event_id, False) or wait


def deliver_webhooks(session: AsyncSession, delivery_ids: Sequence[int]) -> None:
    """Attempt these webhook deliveries after the commit (a redelivery). Their rows say
    they are due, so a lost task is sent again by the sweep."""
    pending(session).webhook_deliveries.extend(delivery_ids)


def forget_standings(session: AsyncSession, event_id: int) -> None:
    """Drop the process's cached table of the event after the commit (visibility changed)."""
    pending(session).forget_standings.add(event_id)


def access_changed(session: AsyncSession) -> None:
    """After the commit, every process forgets the bearer tokens it remembers
    (server/auth/cache.py): a revoked token or a changed role counts at once."""
    pending(session).access_changed = True


def touch_event(session: AsyncSession, event_id: int, *, listing: bool = False) -> None:
    """The event's cached reads are stale after the commit (for changes made with Core
    statements, which the flush does not see); `listing`: the event's own row changed."""
    work = pending(session)
    work.changed_events.add(event_id)
    work.listing_changed = work.listing_changed or listing


@sa_event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _context: object) -> None:
    """Every event, team, game or scorekeeper row a unit of work writes makes its league
    event's cached reads stale: noted here, so no service can forget to say so."""
    work = session.info.get(PENDING)
    if work is None:
        return  # not a unit of work (a read, a worker's session)
    for row in itertools.chain(session.new, session.dirty, session.deleted):
        if isinstance(row, Event):
            work.changed_events.add(row.id)
            work.listing_changed = True
        elif isinstance(row, Team | Game | Scorekeeper):
            work.changed_events.add(row.event_id)


class FollowUps(Protocol):
    """Carries out what a committed unit of work implies (server/follow_ups.py)."""

    async def before_commit(self, session: AsyncSession, work: Pending) -> None: ...

    async def after_commit(self, work: Pending) -> None: ...


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession],
    follow_ups: FollowUps,
    context: AuditContext = NO_CONTEXT,
) -> AsyncIterator[AsyncSession]:
    """Commits when the block ends cleanly, rolls back otherwise; follow-ups only after a
    commit. The session's `Pending` stays readable after the block (task ids)."""
    async with sessions() as session:
        work = session.info[PENDING] = Pending(context=context, outbox=[])
        async with session.begin():
            yield session
            await session.flush()  # ORM rows first (a no-op when none changed): as before
            await write_outbox(session)
            await follow_ups.before_commit(session, work)
        await follow_ups.after_commit(work)
