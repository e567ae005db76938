"""Webhook subscriptions of an event: owner and admins only, every change audited
(`webhook.create`, `webhook.update`, `webhook.delete`). The secret is generated when not
given and shown once, in the reply that creates (or rotates) it."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import User
from models.webhooks import WebhookSubscription
from server.blocking import BlockingRunner
from server.policy import Need
from server.services import audit
from server.services.errors import NotFound
from server.services.events import load_event, paginate
from server.services.webhook_targets import check_target

EDITABLE = ("url", "event_types", "active")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


async def list_subscriptions(
    session: AsyncSession, event_id: int, user: User, page: int, per_page: int
) -> tuple[list[WebhookSubscription], int]:
    await load_event(session, event_id, user, Need.MANAGE)
    query = (
        select(WebhookSubscription)
        .where(WebhookSubscription.event_id == event_id)
        .order_by(WebhookSubscription.id)
    )
    return await paginate(session, query, page, per_page)


async def create_subscription(
    session: AsyncSession,
    event_id: int,
    user: User,
    fields: dict[str, Any],
    *,
    runner: BlockingRunner,
    any_url: bool,
) -> tuple[WebhookSubscription, str]:
    """The new subscription and its secret."""
    await load_event(session, event_id, user, Need.MANAGE)
    await check_target(runner, fields["url"], any_url=any_url)
    secret = fields.get("secret") or new_secret()
    subscription = WebhookSubscription(
        event_id=event_id,
        url=fields["url"],
        secret=secret,
        event_types=fields["event_types"],
        active=fields["active"],
        created_by=user.id,
    )
    session.add(subscription)
    await session.flush()
    new = {name: getattr(subscription, name) for name in EDITABLE}
    audit.record(session, "webhook.create", "webhook", subscription.id, {"new": new})
    return subscription, secret


async def load_subscription(
    session: AsyncSession, webhook_id: int, user: User, *, lock: bool = False
) -> WebhookSubscription:
    """NotFound for an unknown webhook or one of an event the caller cannot see;
    PermissionDenied when the caller sees the event but does not manage it."""
    subscription = await session.get(WebhookSubscription, webhook_id, with_for_update=lock or None)
    if subscription is None:
        raise NotFound("no such webhook")
    try:
        await load_event(session, subscription.event_id, user, Need.MANAGE)
    except NotFound:
        raise NotFound("no such webhook") from None
    return subscription


async def change_subscription(
    session: AsyncSession,
    webhook_id: int,
    user: User,
    fields: dict[str, Any],
    *,
    runner: BlockingRunner,
    any_url: bool,
) -> tuple[WebhookSubscription, str | None]:
    """The subscription as changed, and its new secret when one was asked for."""
    subscription = await load_subscription(session, webhook_id, user, lock=True)
    if "url" in fields and fields["url"] != subscription.url:
        await check_target(runner, fields["url"], any_url=any_url)
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name in EDITABLE:
        if name in fields and fields[name] != getattr(subscription, name):
            old[name], new[name] = getattr(subscription, name), fields[name]
            setattr(subscription, name, fields[name])
    secret = new_secret() if fields.get("rotate_secret") else None
    if secret is not None:
        subscription.secret = secret
        new["secret"] = "rotated"  # noqa: S105 — a marker, never the secret itself
    if new:
        await session.flush()
        audit.record(session, "webhook.update", "webhook", webhook_id, {"old": old, "new": new})
    return subscription, secret


async def delete_subscription(session: AsyncSession, webhook_id: int, user: User) -> None:
    """Gone with its delivery log; attempts in flight find nothing to record."""
    subscription = await load_subscription(session, webhook_id, user, lock=True)
    old = {name: getattr(subscription, name) for name in EDITABLE}
    await session.delete(subscription)
    await session.flush()
    audit.record(session, "webhook.delete", "webhook", webhook_id, {"old": old})
