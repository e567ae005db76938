"""Audit records as plain JSON-able dicts (what travels to the `audit` queue) and their rows."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models.audit import AuditEntry
from models.base import utcnow
from models.intents import PendingAudit

AuditRecord = dict[str, Any]


def new_record(**fields: Any) -> AuditRecord:
    return {"at": utcnow().isoformat(), **fields}


def to_row(record: AuditRecord) -> AuditEntry:
    return AuditEntry(**row_values(record))


def store_once(session: Session, record: AuditRecord) -> bool:
    """Insert unless a row with this uid exists; True if inserted."""
    if session.scalar(select(AuditEntry.id).where(AuditEntry.uid == record["uid"])) is not None:
        return False
    session.add(to_row(record))
    return True


def row_values(record: AuditRecord) -> dict[str, Any]:
    """`record` as the columns of its `audit_entries` row (a Core INSERT's values)."""
    return {**record, "at": datetime.fromisoformat(record["at"])}


def pending_values(record: AuditRecord) -> dict[str, Any]:
    """The durable intent to store `record`, written with the change it describes: the
    columns of its `pending_audits` row (a Core INSERT's values)."""
    return {"uid": record["uid"], "record": json.dumps(record, separators=(",", ":"))}


def store_pending(sessions: sessionmaker[Session], records: list[AuditRecord]) -> int:
    """Store each entry (once, by uid) and forget its pending row, one transaction each;
    returns how many were new. Workers, the broker-down fallback and the sweep all use it."""
    stored = 0
    for record in records:
        try:
            with sessions.begin() as session:
                stored += store_once(session, record)
                _forget(session, record["uid"])
        except IntegrityError:  # a concurrent writer stored it first: only forget the intent
            with sessions.begin() as session:
                _forget(session, record["uid"])
    return stored


def _forget(session: Session, uid: str) -> None:
    session.execute(delete(PendingAudit).where(PendingAudit.uid == uid))
