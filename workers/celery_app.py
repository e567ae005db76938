"""The Celery application: Redis broker and result backend, JSON only, explicit queues.

Built lazily from the settings, so importing this module has no side effects (but for
connecting a `celeryd_init` handler that picks the workers' broker transport);
``celery -A workers.celery_app ...`` finds the app through the module ``__getattr__``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import redis
from celery import Celery, signals
from kombu import Exchange, Queue
from kombu.transport import redis as kombu_redis

from config.redis_target import celery_urls
from config.settings import Settings, load_settings

log = logging.getLogger("matchday.worker")
QUEUES = ("standings", "analytics", "audit", "webhooks")
RECOMPUTE = "matchday.recompute_standings"
RECORD_AUDIT = "matchday.record_audit"  # one record: what servers before batching sent
RECORD_AUDITS = "matchday.record_audits"  # a batch of records (server/audit_sink.py)
RECONCILE = "matchday.reconcile"
ANSWER_QUESTION = "matchday.analytics.answer"
DELIVER_WEBHOOK = "matchday.deliver_webhook"
ROUTES = {
    RECOMPUTE: {"queue": "standings"},
    RECONCILE: {"queue": "standings"},
    RECORD_AUDIT: {"queue": "audit"},
    RECORD_AUDITS: {"queue": "audit"},
    DELIVER_WEBHOOK: {"queue": "webhooks"},
    "matchday.analytics.*": {"queue": "analytics"},
}


def pending_recompute_key(prefix: str, event_id: int) -> str:
    """Set while a recompute of the event is queued: the dispatcher sends no second one."""
    return f"{prefix}recompute:pending:{event_id}"


class _ClosedConnectionGuard:
    """kombu's Redis channel, except that a channel whose connection was already torn down
    fails with a connection error, which Celery handles, instead of an AttributeError.

    On a lost connection celery 5.7.0 calls `collect()` (which clears the transport's
    `client`) and then `close()`; a channel that `collect()` could not close (its BRPOP read
    failed on the dead socket) is closed again then, and restoring its unacked messages builds
    a new pool from `self.connection.client`, which is None: "Unrecoverable error:
    AttributeError('NoneType' object has no attribute 'hostname')" and the worker exits. The
    same holds for a late ack of a task that outlived its connection. As a connection error it
    is logged and ignored; the messages stay in the unacked hash and come back after the
    visibility timeout (docs/operations.md)."""

    connection: Any  # the channel's transport (kombu's Channel sets it)

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport is None or transport.client is None:
            log.warning("broker channel used after its connection was closed: a lost connection")
            raise redis.ConnectionError("this broker channel's connection is already closed")
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]
        return params


class _BrokerChannel(_ClosedConnectionGuard, kombu_redis.Channel):
    pass


class _SentinelBrokerChannel(_ClosedConnectionGuard, kombu_redis.SentinelChannel):
    pass


class BrokerTransport(kombu_redis.Transport):
    """The Redis transport with `_BrokerChannel`; what workers connect with."""

    Channel = _BrokerChannel


class SentinelBrokerTransport(kombu_redis.SentinelTransport):
    """The same, for a broker found through Redis Sentinel (REDIS_SENTINELS)."""

    Channel = _SentinelBrokerChannel


BROKER_TRANSPORT = f"{__name__}:BrokerTransport"
SENTINEL_BROKER_TRANSPORT = f"{__name__}:SentinelBrokerTransport"


@signals.celeryd_init.connect
def _worker_transport(conf: Any = None, **_: Any) -> None:
    """Workers of a Matchday app connect with BrokerTransport. Only workers: they alone hold
    unacked messages; the server, beat and Flower keep kombu's own transport, whose
    `redis://` URI Flower's broker page needs (ours shows as `workers.celery_app:...://`)."""
    if conf is not None and conf.get("matchday_settings") is not None:
        sentinel = str(conf.broker_url).startswith("sentinel://")
        conf.broker_transport = SENTINEL_BROKER_TRANSPORT if sentinel else BROKER_TRANSPORT


def _restore_interval(settings: Settings) -> int:
    """Seconds between sweeps of the unacked hash: a tenth of the visibility timeout."""
    return max(1, min(30, settings.task_visibility_timeout_seconds // 10))


def make_celery(settings: Settings) -> Celery:
    if not settings.uses_redis:
        raise RuntimeError(
            "Celery needs REDIS_URL (the broker); the embedded default runs tasks in-process"
        )
    # Through Sentinel (REDIS_SENTINELS): kombu's `sentinel://` URLs and the primary's name.
    url, sentinel_options = celery_urls(settings.redis_url)
    app = Celery("matchday", broker=url, backend=url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_queues=[Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
        task_default_queue="standings",
        task_routes=ROUTES,
        # Tasks are idempotent: acknowledge after running, redeliver if a worker dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit_seconds,
        task_soft_time_limit=max(1, settings.task_time_limit_seconds - 5),
        task_ignore_result=True,  # results travel as live events, never back to handlers
        result_expires=3600,
        broker_connection_retry_on_startup=True,
        # A worker has nothing better to do than wait for its broker: retry forever
        # (Celery's default stops retrying after 100 tries in a row).
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        # Fail fast when the broker is down: the server then writes audit entries itself
        # and the reconcile task catches up on recomputes.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
        broker_transport_options={
            "visibility_timeout": settings.task_visibility_timeout_seconds,
            # Messages a worker held when its connection died wait in the unacked hash until a
            # sweep finds them older than the visibility timeout. kombu sweeps every
            # interval x throttle = 100 s; sweep often enough to redeliver them soon after.
            "unacked_restore_interval": _restore_interval(settings),
            "unacked_restore_throttle": 1,
            # Queues live under REDIS_KEY_PREFIX too, so deployments sharing a Redis stay apart.
            "global_keyprefix": settings.redis_key_prefix,
            # Notice a peer that vanished without a FIN (idle sockets), and do not hang in
            # connect() to an unreachable host while reconnecting.
            "socket_keepalive": True,
            "socket_connect_timeout": 5,
            **sentinel_options,
        },
        result_backend_transport_options={
            "global_keyprefix": settings.redis_key_prefix,
            **sentinel_options,
        },
        worker_send_task_events=True,  # Flower
        # Keep our structured logging (task_id and request_id on every line).
        worker_hijack_root_logger=False,
        task_send_sent_event=True,
        beat_schedule={
            "reconcile": {"task": RECONCILE, "schedule": settings.reconcile_seconds},
        },
        matchday_settings=settings,
    )
    app.autodiscover_tasks(["workers"], related_name="celery_tasks", force=True)
    return app


@functools.cache
def get_celery() -> Celery:
    return make_celery(load_settings())


def __getattr__(name: str) -> Any:
    if name in {"app", "celery"}:
        return get_celery()
    raise AttributeError(name)
