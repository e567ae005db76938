"""Where audit records go when a unit of work commits (the audit seam)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

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
    worker killed), the server's sweep writes it after FOLLOW_UP_GRACE_SECONDS. A record of a
    committed change is never dropped."""

    def __init__(
        self,
        enqueue: Callable[[AuditRecord], object],
        runner: BlockingRunner,
        sessions: sessionmaker[Session],
    ) -> None:
        self._enqueue = enqueue
        self._runner = runner
        self._sessions = sessions

    async def before_commit(self, session: AsyncSession, records: list[AuditRecord]) -> None:
        if records:  # Core, as InlineAuditSink's
            rows = [pending_values(record) for record in records]
            await insert_rows(session, table_of(PendingAudit), rows)

    async def after_commit(self, records: list[AuditRecord]) -> None:
        for record in records:
            try:
                await self._runner.run(self._enqueue, record)
            except Exception as exc:  # broker down: the entry must still land
                log.warning("audit queue unreachable, writing directly: %s", exc)
                await self._write(record)

    async def _write(self, record: AuditRecord) -> None:
        try:
            await self._runner.run(store_pending, self._sessions, [record])
        except Exception as exc:  # the database too: the pending row waits for the sweep
            log.warning("audit entry left to the sweep: %s", exc)
