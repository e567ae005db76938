"""Webhook deliveries for the live events the outbox relay publishes.

The relay is the one publisher of live events, whoever wrote them (a request's unit of work,
a worker's recompute): deliveries are created there, in the transaction that deletes the
published entries, and only for the entries that transaction deleted. Two relays that
published the same entry (each skipped by the other's dedupe key) therefore create its
deliveries once. After that commit the new deliveries go to the dispatcher.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import OutboxEntry
from models.domain.webhooks import wants
from models.webhooks import WebhookDelivery, WebhookSubscription

Published = tuple[OutboxEntry, str | None]  # an entry and the stream id that carried it


def _status(entry: OutboxEntry) -> str | None:
    """The game's status of a `score` event (subscribers of `final` want only finals)."""
    if entry.kind != "score":
        return None
    status = json.loads(entry.data).get("status")
    return status if isinstance(status, str) else None


class WebhookFanout:
    def __init__(self, send: Callable[[list[int]], None]) -> None:
        self._send = send  # hands committed delivery ids to the dispatcher

    async def record(self, session: AsyncSession, published: Sequence[Published]) -> list[int]:
        """Store a delivery per published entry and subscription that wants it; their ids."""
        if not published:
            return []
        event_ids = {entry.event_id for entry, _ in published}
        found = await session.execute(
            select(
                WebhookSubscription.id,
                WebhookSubscription.event_id,
                WebhookSubscription.event_types,
            ).where(
                WebhookSubscription.event_id.in_(event_ids),
                WebhookSubscription.active.is_(True),
            )
        )
        by_event: dict[int, list[tuple[int, list[str]]]] = defaultdict(list)
        for subscription_id, event_id, event_types in found:
            by_event[event_id].append((subscription_id, event_types))
        if not by_event:
            return []
        rows = [
            {
                "subscription_id": subscription_id,
                "event_id": entry.event_id,
                "kind": entry.kind,
                "data": entry.data,
                "stream_id": stream_id,
            }
            for entry, stream_id in published
            for subscription_id, event_types in by_event.get(entry.event_id, ())
            if wants(event_types, entry.kind, _status(entry))
        ]
        if not rows:
            return []
        result = await session.execute(insert(WebhookDelivery).returning(WebhookDelivery.id), rows)
        return list(result.scalars())

    def send(self, delivery_ids: list[int]) -> None:
        if delivery_ids:
            self._send(delivery_ids)
