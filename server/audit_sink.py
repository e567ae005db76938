"""Where audit records go when a unit of work commits (the audit seam)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, sessionmaker

from models.audit import AuditEntry
from models.audit_entries import AuditRecord, pending_values, row_values, store_pending
from models.bulk import insert_rows, table_of
from models.intents import PendingAudit
from server.blocking import BlockingRunner

log = logging.getLogger("matchday.audit")


class AuditSink(Protocol):
    async def before_commit(self, session: AsyncSession, records: list[AuditRecord]) -> None: ...

    async def after_commit(self, records: list[AuditRecord]) -> None: ...


class InlineAuditSink:
    """Embedded default: the rows are part of the transaction they describe."""

    async def before_commit(self, session: AsyncSession, records: list[AuditRecord]) -> None:
        # Core INSERTs: no ORM object and flush for a row nothing reads back.
        if records:
            await insert_rows(session, table_of(AuditEntry), [row_values(r) for r in records])

    async def after_commit(self, records: list[AuditRecord]) -> None:
        return None


class QueuedAuditSink:
    """Production: each record is kept as a `pending_audits` row in the change's own
    transaction, then goes to the `audit` queue after the commit; the worker stores the
    entry and deletes the row in one transaction. If the broker cannot be reached the server
    writes it at once; if the task is lost after all (a broker restarted without its data, a
    worker killed, the process stopped before sending), the server's sweep writes it after
    FOLLOW_UP_GRACE_SECONDS. A record of a committed change is never dropped.

    Records are sent in batches, in the background: while one batch is on its way to the
    broker, the records committed meanwhile wait for the next, one task for all of them
    (at most MAX_BATCH). A task per record cost a broker round trip (and Celery's sent
    event) for every score, an eighth of the servers' profile samples under scores; and the
    writer is answered without waiting for the broker."""

    MAX_BATCH = 200

    def __init__(
        self,
        enqueue: Callable[[list[AuditRecord]], object],
        runner: BlockingRunner,
        sessions: sessionmaker[Session],
        background: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self._enqueue = enqueue
        self._runner = runner
        self._sessions = sessions
        self._background = background  # tracked: the app's settled() and close() wait for it
        self._queued: list[AuditRecord] = []
        self._sending = False

    async def before_commit(self, session: AsyncSession, records: list[AuditRecord]) -> None:
        if records:  # Core, as InlineAuditSink's
            rows = [pending_values(record) for record in records]
            await insert_rows(session, table_of(PendingAudit), rows)

    async def after_commit(self, records: list[AuditRecord]) -> None:
        if not records:
            return
        self._queued.extend(records)
        if not self._sending:
            self._sending = True
            self._background(self._send())

    async def _send(self) -> None:
        try:
            while self._queued:
                batch = self._queued[: self.MAX_BATCH]
                del self._queued[: self.MAX_BATCH]
                try:
                    await self._runner.run(self._enqueue, batch)
                except Exception as exc:  # broker down: the entries must still land
                    log.warning("audit queue unreachable, writing directly: %s", exc)
                    await self._write(batch)
        finally:
            self._sending = False

    async def _write(self, records: list[AuditRecord]) -> None:
        try:
            await self._runner.run(store_pending, self._sessions, records)
        except Exception as exc:  # the database too: the pending rows wait for the sweep
            log.warning("audit entries left to the sweep (%d): %s", len(records), exc)
