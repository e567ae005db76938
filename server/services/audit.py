"""Audit entries: recorded during a unit of work, stored by the configured sink.

``record`` only collects the entry on the session. When the unit of work commits, the
application's sink stores it: inline in the same transaction (embedded default), or through
the Celery `audit` queue right after the commit, falling back to a direct write when the
broker cannot be reached (production). Either way an entry is never dropped, and every entry
carries a `uid` so a redelivered task never writes a second row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.audit_entries import AuditRecord, new_record

PENDING = "matchday.audit.pending"


@dataclass(frozen=True)
class AuditContext:
    """Who did it and from where; built by the handler from the request."""

    actor_id: int | None
    request_id: str
    ip: str


def record(
    session: AsyncSession,
    context: AuditContext,
    action: str,
    target_type: str | None = None,
    target_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    entry = new_record(
        uid=uuid.uuid4().hex,
        actor_id=context.actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        request_id=context.request_id,
        ip=context.ip,
        details=details or {},
    )
    session.info.setdefault(PENDING, []).append(entry)
    return entry


def take_pending(session: AsyncSession) -> list[AuditRecord]:
    return session.info.pop(PENDING, [])
