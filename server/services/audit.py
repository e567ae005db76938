"""Audit entries: recorded during a unit of work, stored by the configured sink.

``record`` only collects the entry on the unit of work. When it commits, the application's
sink stores it: inline in the same transaction (embedded default), or through the Celery
`audit` queue right after the commit, falling back to a direct write when the broker cannot
be reached (production). Either way an entry is never dropped, and every entry carries a
`uid` so a redelivered task never writes a second row.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.audit_entries import AuditRecord, new_record
from server.unit_of_work import AuditContext, pending

__all__ = ["AuditContext", "record"]


def record(
    session: AsyncSession,
    action: str,
    target_type: str | None = None,
    target_id: int | None = None,
    details: dict[str, Any] | None = None,
    *,
    actor_id: int | None = None,
) -> AuditRecord:
    """Who acted comes from the unit of work's context; `actor_id` names them where the
    action itself identifies them (registration, login)."""
    work = pending(session)
    context = work.context
    entry = new_record(
        uid=uuid.uuid4().hex,
        actor_id=actor_id if actor_id is not None else context.actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        request_id=context.request_id,
        ip=context.ip,
        details=details or {},
    )
    work.audit.append(entry)
    return entry
