"""Idempotency-Key: the first successful reply is stored with the change and replayed on retries."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import IdempotencyRecord
from models.base import utcnow
from models.bulk import table_of
from server.services.errors import InvalidInput


@dataclass(frozen=True)
class StoredReply:
    status: int
    body: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


async def lookup(session: AsyncSession, user_id: int, key: str, print_: str) -> StoredReply | None:
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.expires_at <= utcnow():
        await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record.id))
        return None
    if record.request_fingerprint != print_:
        raise InvalidInput(
            "this Idempotency-Key was used for a different request",
            code="idempotency_key_reused",
            details={"Idempotency-Key": ["already used for a different request"]},
        )
    return StoredReply(record.status_code, record.body)


async def remember(
    session: AsyncSession, user_id: int, key: str, print_: str, reply: StoredReply, ttl_seconds: int
) -> None:
    # A Core INSERT (a score's hot path): no ORM object for a row nothing reads back here.
    await session.execute(
        insert(table_of(IdempotencyRecord)).values(
            user_id=user_id,
            key=key,
            request_fingerprint=print_,
            status_code=reply.status,
            body=reply.body,
            expires_at=utcnow() + timedelta(seconds=ttl_seconds),
        )
    )
