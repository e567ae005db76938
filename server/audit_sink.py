"""Where audit records go when a unit of work commits (the audit seam)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.audit_entries import AuditRecord, to_row
from server.blocking import BlockingRunner

log = logging.getLogger("matchday.audit")


class AuditSink(Protocol):
    async def before_commit(self, session: AsyncSession, records: list[AuditRecord]) -> None: ...

    async def after_commit(self, records: list[AuditRecord]) -> None: ...


class InlineAuditSink:
    """Embedded default: the rows are part of the transaction they describe."""

    async def before_commit(self, session: AsyncSession, records: list[AuditRecord]) -> None:
        session.add_all(to_row(record) for record in records)

    async def after_commit(self, records: list[AuditRecord]) -> None:
        return None


class QueuedAuditSink:
    """Production: each record goes to the `audit` queue after the commit; if the broker
    cannot be reached, the server writes it itself. A record is never dropped."""

    def __init__(
        self,
        enqueue: Callable[[AuditRecord], object],
        runner: BlockingRunner,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self._enqueue = enqueue
        self._runner = runner
        self._sessions = sessions

    async def before_commit(self, session: AsyncSession, records: list[AuditRecord]) -> None:
        return None

    async def after_commit(self, records: list[AuditRecord]) -> None:
        for record in records:
            try:
                await self._runner.run(self._enqueue, record)
            except Exception as exc:  # broker down: the entry must still land
                log.warning("audit queue unreachable, writing directly: %s", exc)
                await self._write(record)

    async def _write(self, record: AuditRecord) -> None:
        try:
            async with self._sessions() as session, session.begin():
                session.add(to_row(record))
        except IntegrityError:
            pass  # the queued copy got there first
