"""A subscription's delivery log, and manual redelivery (audited as `webhook.redeliver`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import User
from models.base import utcnow
from models.domain.webhooks import DUE
from models.webhooks import WebhookDelivery
from server.schemas.webhooks import WebhookDeliverySchema
from server.services import audit
from server.services.errors import Conflict, NotFound
from server.services.events import paginate
from server.services.webhooks import load_subscription
from server.unit_of_work import deliver_webhooks

DELIVERY = WebhookDeliverySchema()


def delivery_body(delivery: WebhookDelivery) -> dict[str, Any]:
    body: dict[str, Any] = DELIVERY.dump(delivery)
    if delivery.status not in DUE:
        body["next_attempt_at"] = None  # delivered, dead, or in flight: nothing scheduled
    return body


async def list_deliveries(
    session: AsyncSession, webhook_id: int, user: User, query: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """Newest first; `status` filters."""
    await load_subscription(session, webhook_id, user)
    rows = select(WebhookDelivery).where(WebhookDelivery.subscription_id == webhook_id)
    if "status" in query:
        rows = rows.where(WebhookDelivery.status == query["status"])
    found, total = await paginate(
        session, rows.order_by(WebhookDelivery.id.desc()), query["page"], query["per_page"]
    )
    return [delivery_body(delivery) for delivery in found], total


async def redeliver(
    session: AsyncSession, webhook_id: int, delivery_id: int, user: User
) -> dict[str, Any]:
    """Due again now, with a fresh budget of attempts (same id and body: receivers that
    dedupe on `Matchday-Delivery` see it once). 409 while an attempt is in flight."""
    await load_subscription(session, webhook_id, user)
    delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.subscription_id != webhook_id:
        raise NotFound("no such delivery")
    if delivery.status == "delivering" and delivery.next_attempt_at > utcnow():
        raise Conflict("an attempt of this delivery is in flight", code="delivery_in_flight")
    old = {"status": delivery.status, "attempts": delivery.attempts}
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    await session.flush()
    audit.record(session, "webhook.redeliver", "webhook_delivery", delivery_id, {"old": old})
    deliver_webhooks(session, [delivery_id])
    return delivery_body(delivery)
