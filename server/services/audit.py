"""Audit entries, written in the same transaction as the change they describe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import AuditEntry


@dataclass(frozen=True)
class AuditContext:
    """Who did it and from where; built by the handler from the request."""

    actor_id: int | None
    request_id: str
    ip: str


async def record(
    session: AsyncSession,
    context: AuditContext,
    action: str,
    target_type: str | None = None,
    target_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=context.actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        request_id=context.request_id,
        ip=context.ip,
        details=details or {},
    )
    session.add(entry)
    return entry
