"""Delivering one webhook: claim the delivery, POST it signed, record what happened.

A plain task function like those of workers.tasks: Celery workers run it (the `webhooks`
queue), and so does the in-process dispatcher of the embedded default. It returns the delay
before the next attempt, or None when there is nothing more to do (delivered, dead-lettered,
gone, or claimed by someone else). A delivery is claimed with a conditional UPDATE, so two
copies of one task (a redelivered message, a sweep) never both send it; the claim lapses
after a while, should the worker die mid-attempt.

SSRF: outside `any_url` mode, the host is resolved here and every address it resolves to
must be public; the connection then goes to exactly those addresses (the resolver hands them
to the HTTP client), so a DNS answer that changes between the check and the connect cannot
point the request inside. Redirects are never followed.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from tornado.httpclient import HTTPClient, HTTPRequest
from tornado.netutil import Resolver
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from config.settings import Settings
from models.base import utcnow
from models.domain.webhooks import (
    DELIVERY_HEADER,
    DUE,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    addresses_refusal,
    retry_delay,
    signature_header,
    url_refusal,
)
from models.webhooks import WebhookDelivery, WebhookSubscription

log = logging.getLogger("matchday.webhooks")
USER_AGENT = "Matchday-Webhooks/1"
MAX_RESPONSE_BYTES = 1 << 20  # the body is read and dropped; a bigger one fails the attempt
ERROR_CHARS = 500


@dataclass(frozen=True)
class DeliveryPolicy:
    any_url: bool
    max_attempts: int
    retry_base: float
    retry_max: float
    timeout: float

    @property
    def lease(self) -> timedelta:
        """How long a claim holds: well past the longest attempt."""
        return timedelta(seconds=2 * self.timeout + 30)


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        any_url=settings.webhook_any_url,
        max_attempts=settings.webhook_max_attempts,
        retry_base=settings.webhook_retry_base_seconds,
        retry_max=settings.webhook_retry_max_seconds,
        timeout=settings.webhook_timeout_seconds,
    )


@dataclass(frozen=True)
class Request:
    """What one attempt sends."""

    delivery_id: int
    url: str
    secret: str
    event: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None


class RefusedTarget(Exception):
    """The URL or an address of its host may not be called (SSRF rule)."""


def deliver_webhook(
    sessions: sessionmaker[Session], policy: DeliveryPolicy, delivery_id: int
) -> float | None:
    """One attempt; the delay before the next one, or None."""
    claimed = _claim(sessions, policy, delivery_id)
    if not isinstance(claimed, Request):
        return claimed
    outcome = send(claimed, policy)
    return _record(sessions, policy, delivery_id, outcome)


def _claim(
    sessions: sessionmaker[Session], policy: DeliveryPolicy, delivery_id: int
) -> Request | float | None:
    now = utcnow()
    with sessions.begin() as session:
        claimed = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                # `delivering` past its lease: the worker that claimed it died.
                WebhookDelivery.status.in_((*DUE, "delivering")),
                WebhookDelivery.next_attempt_at <= now,
            )
            .values(status="delivering", next_attempt_at=now + policy.lease)
        )
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return None
        if claimed.rowcount == 0:  # type: ignore[attr-defined]
            if delivery.status in DUE:  # early (a clock, a timer): come back when it is due
                return max(0.05, (delivery.next_attempt_at - now).total_seconds())
            return None  # done, dead, or being sent by someone else
        subscription = session.get(WebhookSubscription, delivery.subscription_id)
        if subscription is None or not subscription.active:
            delivery.status = "dead"
            delivery.last_error = "the subscription is disabled"
            return None
        return Request(
            delivery.id, subscription.url, subscription.secret, delivery.kind, body_of(delivery)
        )


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON body, the same bytes on every attempt: the live event's data as it was
    published, inside an envelope naming the delivery."""
    envelope: dict[str, Any] = {
        "id": delivery.id,
        "event": delivery.kind,
        "event_id": delivery.event_id,
        "stream_id": delivery.stream_id,
        "created_at": delivery.created_at.isoformat().replace("+00:00", "Z"),
    }
    head = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
    return (head[:-1] + ',"data":' + delivery.data + "}").encode()


def _record(
    sessions: sessionmaker[Session], policy: DeliveryPolicy, delivery_id: int, outcome: Outcome
) -> float | None:
    now = utcnow()
    with sessions.begin() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:  # the subscription was deleted meanwhile
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error[:ERROR_CHARS] if outcome.error else None
        extra = {"delivery_id": delivery_id, "attempts": delivery.attempts}
        if outcome.ok:
            delivery.status = "delivered"
            delivery.delivered_at = now
            log.info("webhook delivered", extra=extra)
            return None
        if delivery.attempts >= policy.max_attempts:
            delivery.status = "dead"
            log.warning("webhook dead-lettered: %s", outcome.error, extra=extra)
            return None
        delay = retry_delay(
            delivery.attempts, policy.retry_base, policy.retry_max, _jitter.uniform_to
        )
        delivery.status = "retrying"
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        log.info("webhook attempt failed, retry in %.1f s: %s", delay, outcome.error, extra=extra)
        return delay


class _Jitter:
    """Uniform draws for the backoff; the system's generator (no seeding to share)."""

    def __init__(self) -> None:
        self._random = secrets.SystemRandom()

    def uniform_to(self, limit: float) -> float:
        return self._random.uniform(0.0, limit)


_jitter = _Jitter()


class CheckedResolver(Resolver):
    """Resolves, then refuses the host if any of its addresses is not public; the HTTP
    client connects to exactly the addresses returned here."""

    def initialize(self, any_url: bool = False) -> None:  # type: ignore[override]
        self._any_url = any_url

    async def resolve(  # type: ignore[override]
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        # Blocking is fine: this loop is the attempt's own (HTTPClient), in a worker thread.
        try:
            infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
        except OSError as exc:
            raise RefusedTarget(f"cannot resolve {host}: {exc}") from exc
        found: list[tuple[int, Any]] = [(info[0], info[4]) for info in infos]
        if not self._any_url and (reason := addresses_refusal(str(a[1][0]) for a in found)):
            raise RefusedTarget(reason)
        return found


def send(request: Request, policy: DeliveryPolicy) -> Outcome:
    """POST the body, signed; 2xx is success, anything else (a redirect too) a failure."""
    if reason := url_refusal(request.url, any_url=policy.any_url):
        return Outcome(False, error=f"refused: {reason}")
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: request.event,
        DELIVERY_HEADER: str(request.delivery_id),
        SIGNATURE_HEADER: signature_header(request.secret, timestamp, request.body),
    }
    outgoing = HTTPRequest(
        request.url,
        method="POST",
        body=request.body,
        headers=headers,
        follow_redirects=False,
        connect_timeout=policy.timeout,
        request_timeout=policy.timeout,
        decompress_response=False,
        streaming_callback=lambda _chunk: None,  # read and dropped, never kept
    )
    client = HTTPClient(
        SimpleAsyncHTTPClient,
        resolver=CheckedResolver(any_url=policy.any_url),
        max_body_size=MAX_RESPONSE_BYTES,
    )
    try:
        response = client.fetch(outgoing, raise_error=False)
    except RefusedTarget as exc:
        return Outcome(False, error=f"refused: {exc}")
    except Exception as exc:  # connection refused, timeout, TLS: the attempt failed
        return Outcome(False, error=f"{type(exc).__name__}: {exc}")
    finally:
        client.close()
    if 200 <= response.code < 300:
        return Outcome(True, response.code)
    return Outcome(False, response.code, f"HTTP {response.code}")
