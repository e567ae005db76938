"""Webhook subscriptions of an event, their delivery log and manual redelivery
(owner, admin; docs/webhooks.md)."""

from __future__ import annotations

from server.base import BaseHandler
from server.openapi import Op, json_reply
from server.schemas.common import PageQuerySchema
from server.schemas.webhooks import (
    DeliveryListQuerySchema,
    WebhookCreateSchema,
    WebhookSchema,
    WebhookSecretSchema,
    WebhookUpdateSchema,
)
from server.services import webhook_deliveries
from server.services import webhooks as webhook_service

WEBHOOK = WebhookSchema()
WITH_SECRET = WebhookSecretSchema()
URL_RULE = (
    "422 on `url` when it is not allowed: in production only `https` URLs whose host "
    "resolves to public addresses (WEBHOOK_URLS); also checked on every delivery."
)


class WebhookBase(BaseHandler):
    def any_url(self) -> bool:
        return self.application.config.webhook_any_url


class EventWebhooksHandler(WebhookBase):
    openapi = {
        "get": Op(
            operation_id="listWebhooks",
            summary="List an event's webhook subscriptions (owner, admin)",
            tag="webhooks",
            responses={200: "WebhookPage"},
            query=PageQuerySchema,
            errors=(403,),
        ),
        "post": Op(
            operation_id="createWebhook",
            summary="Subscribe a URL to an event's live events (owner, admin)",
            tag="webhooks",
            responses={
                201: json_reply(
                    "The subscription, with its secret (shown only here)", "WebhookSecret"
                )
            },
            body=WebhookCreateSchema,
            errors=(403,),
            description="Each live event of a chosen type is POSTed to `url`, signed with "
            "HMAC-SHA256 in `Matchday-Signature: t=<unix>,v1=<hex>` over `<t>.<body>`. "
            + URL_RULE
            + " Audited as `webhook.create`.",
        ),
    }

    async def get(self, event_id: str) -> None:
        query = self.load_query(PageQuerySchema)
        async with self.db() as session:
            found, total = await webhook_service.list_subscriptions(
                session,
                self.path_id(event_id),
                self.require_user(),
                query["page"],
                query["per_page"],
            )
            items = WEBHOOK.dump(found, many=True)
        self.write_json(self.page_envelope(items, total, query))

    async def post(self, event_id: str) -> None:
        body = self.load_body(WebhookCreateSchema())
        async with self.db() as session:
            subscription, secret = await webhook_service.create_subscription(
                session,
                self.path_id(event_id),
                self.require_user(),
                body,
                runner=self.application.blocking,
                any_url=self.any_url(),
            )
            reply = {**WEBHOOK.dump(subscription), "secret": secret}
        self.write_json(reply, 201)


class WebhookHandler(WebhookBase):
    openapi = {
        "get": Op(
            operation_id="getWebhook",
            summary="Get a webhook subscription (owner, admin)",
            tag="webhooks",
            responses={200: WebhookSchema},
            errors=(403,),
        ),
        "patch": Op(
            operation_id="updateWebhook",
            summary="Change, pause or re-key a webhook subscription (owner, admin)",
            tag="webhooks",
            responses={
                200: json_reply(
                    "The subscription; with `rotate_secret`, its new secret (shown only here)",
                    "WebhookSecret",
                )
            },
            body=WebhookUpdateSchema,
            errors=(403,),
            description="Any of `url`, `event_types`, `active`, `rotate_secret`. "
            + URL_RULE
            + " Audited as `webhook.update`.",
        ),
        "delete": Op(
            operation_id="deleteWebhook",
            summary="Delete a webhook subscription and its delivery log (owner, admin)",
            tag="webhooks",
            responses={204: None},
            errors=(403,),
            description="Audited as `webhook.delete`.",
        ),
    }

    async def get(self, webhook_id: str) -> None:
        async with self.db() as session:
            subscription = await webhook_service.load_subscription(
                session, self.path_id(webhook_id), self.require_user()
            )
            reply = WEBHOOK.dump(subscription)
        self.write_json(reply)

    async def patch(self, webhook_id: str) -> None:
        body = self.load_body(WebhookUpdateSchema())
        async with self.db() as session:
            subscription, secret = await webhook_service.change_subscription(
                session,
                self.path_id(webhook_id),
                self.require_user(),
                body,
                runner=self.application.blocking,
                any_url=self.any_url(),
            )
            reply = WEBHOOK.dump(subscription)
        self.write_json({**reply, "secret": secret} if secret else reply)

    async def delete(self, webhook_id: str) -> None:
        async with self.db() as session:
            await webhook_service.delete_subscription(
                session, self.path_id(webhook_id), self.require_user()
            )
        self.set_status(204)
        self.finish()


class DeliveriesHandler(WebhookBase):
    openapi = {
        "get": Op(
            operation_id="listWebhookDeliveries",
            summary="A webhook's delivery log, newest first (owner, admin)",
            tag="webhooks",
            responses={200: "WebhookDeliveryPage"},
            query=DeliveryListQuerySchema,
            errors=(403,),
            description="Each delivery's `status` (`pending`, `delivering`, `retrying`, "
            "`delivered`, `dead`), `attempts`, `last_status_code` and `last_error`; filter "
            "with `status`.",
        )
    }

    async def get(self, webhook_id: str) -> None:
        query = self.load_query(DeliveryListQuerySchema)
        async with self.db() as session:
            items, total = await webhook_deliveries.list_deliveries(
                session, self.path_id(webhook_id), self.require_user(), query
            )
        self.write_json(self.page_envelope(items, total, query))


class RedeliverHandler(WebhookBase):
    openapi = {
        "post": Op(
            operation_id="redeliverWebhook",
            summary="Send a delivery again (owner, admin)",
            tag="webhooks",
            responses={202: "WebhookDelivery"},
            errors=(403, 409),
            description="Due at once, with a fresh budget of attempts; the same delivery id "
            "and body. 409 `delivery_in_flight` while an attempt is running. Audited as "
            "`webhook.redeliver`.",
        )
    }

    async def post(self, webhook_id: str, delivery_id: str) -> None:
        async with self.db() as session:
            reply = await webhook_deliveries.redeliver(
                session, self.path_id(webhook_id), self.path_id(delivery_id), self.require_user()
            )
        self.write_json(reply, 202)


routes = [
    (r"/api/v1/events/([0-9]+)/webhooks", EventWebhooksHandler),
    (r"/api/v1/webhooks/([0-9]+)", WebhookHandler),
    (r"/api/v1/webhooks/([0-9]+)/deliveries", DeliveriesHandler),
    (r"/api/v1/webhooks/([0-9]+)/deliveries/([0-9]+)/redeliver", RedeliverHandler),
]
