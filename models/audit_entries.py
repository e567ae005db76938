"""Audit records as plain JSON-able dicts (what travels to the `audit` queue) and their rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEntry
from models.base import utcnow

AuditRecord = dict[str, Any]


def new_record(**fields: Any) -> AuditRecord:
    return {"at": utcnow().isoformat(), **fields}


def to_row(record: AuditRecord) -> AuditEntry:
    return AuditEntry(**{**record, "at": datetime.fromisoformat(record["at"])})


def store_once(session: Session, record: AuditRecord) -> bool:
    """Insert unless a row with this uid exists; True if inserted."""
    if session.scalar(select(AuditEntry.id).where(AuditEntry.uid == record["uid"])) is not None:
        return False
    session.add(to_row(record))
    return True
