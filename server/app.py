"""The Tornado application, which owns every shared resource of a process."""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import Coroutine
from typing import Any

import redis
import tornado.web
from tornado import httputil

from config.redis_clients import redis_from_url
from config.settings import Settings
from models.db import (
    async_session_factory,
    make_async_engine,
    make_async_replica_engine,
    make_sync_engine,
    sync_session_factory,
)
from server.access_log import UNMATCHED, log_request, route_template
from server.audit_sink import AuditSink, InlineAuditSink, QueuedAuditSink
from server.auth.access_changes import AccessChanges
from server.auth.cache import AuthCache
from server.auth.tokens import TokenService
from server.base import NotFoundHandler
from server.blocking import BlockingRunner
from server.body_limit import BodyTooLargeHandler, body_limit, limit_body
from server.calendar.cache import RenderedFeeds
from server.dispatch import (
    AnalyticsRuntime,
    CeleryDispatcher,
    Dispatcher,
    InProcessDispatcher,
    delivery_policy,
    make_celery,
    make_runtime,
)
from server.follow_ups import AppFollowUps
from server.handlers import analytics, auth, calendar, events, games, health, stream, webhooks
from server.live.hub import StreamHub
from server.live.memory_streams import MemoryStreams
from server.live.nudges import NudgeListener
from server.live.outbox import OutboxRelay
from server.live.redis_streams import RedisStreams
from server.live.standings_cache import StandingsCache
from server.live.streams import EventStreams
from server.live.webhook_fanout import WebhookFanout
from server.loop_lag import LoopLagMonitor
from server.ratelimit import Throttle, make_throttle
from server.reads.cache import ReadCache
from server.reads.service import EventReads
from server.reads.versions import MemoryVersions, ReadVersions, RedisVersions
from server.routing import RouteIndex
from server.sweeper import FollowUpSweeper


def all_routes() -> list[Any]:
    from server.handlers import admin, docs, imports, metrics, pages

    return [
        *auth.routes,
        *admin.routes,
        *events.routes,
        *games.routes,
        *calendar.routes,
        *imports.routes,
        *webhooks.routes,
        *analytics.routes,
        *stream.routes,
        *health.routes,
        *metrics.routes,
        *docs.routes,
        *pages.routes,
    ]


def route_templates(routes: list[Any]) -> dict[type[tornado.web.RequestHandler], str]:
    """Each handler class's route template (its first route), the `route` metric label."""
    templates: dict[type[tornado.web.RequestHandler], str] = {}
    for route in routes:
        templates.setdefault(route[1], route_template(route[0]))
    return templates


def _read_versions(config: Settings) -> ReadVersions:
    if config.uses_redis:
        return RedisVersions(config.redis_url, config.redis_key_prefix)
    return MemoryVersions()


def _streams(config: Settings) -> EventStreams:
    if config.uses_redis:
        return RedisStreams(
            config.redis_url,
            history_length=config.stream_history_length,
            prefix=config.redis_key_prefix,
        )
    return MemoryStreams(config.stream_history_length)


class MatchdayApp(tornado.web.Application):
    """Build with make_app(), then `await app.start()` on the loop that will serve it."""

    dispatcher: Dispatcher
    follow_ups: AppFollowUps  # what a committed unit of work implies (server/unit_of_work)
    analytics: AnalyticsRuntime | None = None  # in-process answering (no Celery)
    nudges: NudgeListener | None = None  # workers' "outbox entries committed" (production)

    def __init__(self, config: Settings, **tornado_settings: Any) -> None:
        self.config = config
        self.engine = make_async_engine(config)
        self.sessions = async_session_factory(self.engine)
        # Lag-tolerant reads (server/reads: anonymous lists with the cache off): the replica
        # when one is configured.
        self.replica_engine = make_async_replica_engine(config)
        self.read_sessions = (
            async_session_factory(self.replica_engine) if self.replica_engine else self.sessions
        )
        self.sync_engine = make_sync_engine(config)
        self.sync_sessions = sync_session_factory(self.sync_engine)
        self.blocking = BlockingRunner(config.blocking_pool_size)
        self.tokens = TokenService(
            dict(config.jwt_keys),
            config.jwt_signing_kid,
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
            access_ttl=config.access_token_ttl_seconds,
            refresh_ttl=config.refresh_token_ttl_seconds,
        )
        self.auth_cache = AuthCache(config.auth_cache_seconds)
        self.access_changes = AccessChanges(
            self.auth_cache,
            config.redis_url if config.uses_redis else None,
            config.redis_key_prefix,
        )
        self.streams = _streams(config)
        self.standings_cache = StandingsCache(config.standings_cache_ttl_seconds)
        self.read_cache = ReadCache(config.read_cache_events, config.read_cache_max_age_seconds)
        self.calendar_feeds = RenderedFeeds(config.calendar_cache_bytes)
        self.hub = StreamHub(
            self.streams,
            self.standings_cache,
            read_cache=self.read_cache,
            heartbeat_seconds=config.sse_heartbeat_seconds,
            retry_ms=config.sse_retry_ms,
            max_connections=config.sse_max_connections,
            max_per_ip=config.sse_max_connections_per_ip,
        )
        self.reads = EventReads(
            self.sessions,
            self.read_cache,
            _read_versions(config),
            replica_sessions=self.read_sessions,
        )
        self.relay = OutboxRelay(
            self.sessions,
            self.streams,
            sweep_seconds=config.outbox_sweep_seconds,
            webhooks=WebhookFanout(self._send_webhooks),
        )
        self.audit_sink: AuditSink = InlineAuditSink()
        self.throttle: Throttle = make_throttle(config)
        self.loop_lag = LoopLagMonitor()
        self._background: set[asyncio.Task[None]] = set()
        self.draining = False
        tornado_settings.setdefault("log_function", log_request)  # one line per request
        routes = all_routes()
        self.route_templates = route_templates(routes)
        self._body_limits: dict[type[tornado.web.RequestHandler], tuple[int, str]] = {}
        super().__init__(
            routes,
            default_handler_class=NotFoundHandler,
            xsrf_cookies=False,  # bearer tokens, no cookies: CSRF does not apply
            **tornado_settings,
        )
        self.route_index = RouteIndex(self.wildcard_router.rules)

    def find_handler(
        self, request: httputil.HTTPServerRequest, **kwargs: Any
    ) -> tornado.web._HandlerDelegate:
        """Tornado's routing, with the route found in one match (server/routing.py)."""
        if len(self.default_router.rules) == 1:  # no host-specific routes (add_handlers)
            rule = self.route_index.rule_for(request.path)
            params = rule.matcher.match(request) if rule is not None else None
            if rule is not None and params is not None:
                if rule.target_kwargs:
                    params["target_kwargs"] = rule.target_kwargs
                delegate = self.wildcard_router.get_target_delegate(rule.target, request, **params)
                if delegate is not None:
                    return delegate  # type: ignore[return-value]  # a _HandlerDelegate
        return super().find_handler(request, **kwargs)

    def get_handler_delegate(  # type: ignore[override]  # any message delegate will do
        self,
        request: httputil.HTTPServerRequest,
        target_class: type[tornado.web.RequestHandler],
        target_kwargs: dict[str, Any] | None = None,
        path_args: list[bytes] | None = None,
        path_kwargs: dict[str, bytes] | None = None,
    ) -> httputil.HTTPMessageDelegate:
        """Every request meets its route's body limit first (server/body_limit.py), and
        carries its route template for the access line and the metrics."""
        request.route_template = self.route_templates.get(target_class, UNMATCHED)  # type: ignore[attr-defined]
        delegate = super().get_handler_delegate(
            request, target_class, target_kwargs, path_args, path_kwargs
        )
        limit = self._body_limits.get(target_class)
        if limit is None:  # once per handler class: the settings do not change
            limit = self._body_limits[target_class] = body_limit(target_class, self.config)
        refusal = functools.partial(self._refusal, request, limit)
        return limit_body(request, delegate, limit[0], refusal)

    def _refusal(
        self, request: httputil.HTTPServerRequest, limit: tuple[int, str]
    ) -> httputil.HTTPMessageDelegate:
        """The 413 answer's delegate, made only when a body is refused."""
        kwargs = {"limit": limit[0], "setting": limit[1]}
        return super().get_handler_delegate(request, BodyTooLargeHandler, kwargs)

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run follow-up work after a response without losing track of it."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def settled(self) -> None:
        """Wait for follow-up work handed to background(), for the dispatcher's queued work,
        and for the relay to have published every entry they committed (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.dispatcher.idle()
        await self.relay.caught_up()

    def _analytics_cache_redis(self) -> redis.Redis | None:
        if not self.config.uses_redis:
            return None
        return redis_from_url(self.config.redis_url, socket_timeout=2, socket_connect_timeout=2)

    def _send_webhooks(self, delivery_ids: list[int]) -> None:
        """The relay's new deliveries (after its commit): to the dispatcher."""
        self.follow_ups.send_webhooks(delivery_ids)

    def _nudge_from_thread(self, _event_id: int) -> None:
        """In-process tasks run in the blocking runner's threads: kick the relay on the loop."""
        self._loop.call_soon_threadsafe(self.relay.kick)

    async def start(self) -> None:
        """Start the background loops: stream reader, heartbeats, outbox relay."""
        self._loop = asyncio.get_running_loop()
        if self.config.uses_celery:
            self.celery = make_celery(self.config)
            dispatcher = CeleryDispatcher(
                self.celery,
                self.config.redis_url,
                self.config.redis_key_prefix,
                self.blocking,
                answer_timeout=self.config.analytics_timeout_seconds,
            )
            self.dispatcher = dispatcher
            self.audit_sink = QueuedAuditSink(
                dispatcher.enqueue_audits, self.blocking, self.sync_sessions, self.background
            )
        else:
            self.analytics = make_runtime(
                self.config, self._analytics_cache_redis(), owns_redis=True
            )
            self.dispatcher = InProcessDispatcher(
                self.sync_sessions,
                self.blocking,
                self._nudge_from_thread,
                analytics=self.analytics,
                answer_timeout=self.config.analytics_timeout_seconds,
                webhook_policy=delivery_policy(self.config),
            )
        if self.config.uses_redis:
            self.nudges = NudgeListener(
                self.config.redis_url,
                prefix=self.config.redis_key_prefix,
                on_nudge=self.relay.kick,
                on_access_changed=self.access_changes.heard,
            )
            self.nudges.start()
        self.follow_ups = AppFollowUps(
            audit_sink=self.audit_sink,
            relay=self.relay,
            dispatcher=self.dispatcher,
            standings_cache=self.standings_cache,
            reads=self.reads,
            access_changes=self.access_changes,
            background=self.background,
        )
        self.sweeper = FollowUpSweeper(
            self.sessions,
            self.sync_sessions,
            self.blocking,
            self.dispatcher,
            grace_seconds=self.config.follow_up_grace_seconds,
        )
        self.sweeper.start()
        self.hub.start()
        self.relay.start()
        self.relay.kick()  # anything left unpublished by a previous run
        self.loop_lag.start()
        # What start-up built (modules, schemas, mappers: ~120,000 objects) lives as long as
        # the process. Out of the collector's sight, a full collection scans only what
        # requests keep alive instead of pausing the loop for 60-90 ms (measured).
        gc.freeze()

    async def close(self) -> None:
        """Finish queued work, then release pools and connections."""
        await self.settled()
        self.loop_lag.close()
        if self.nudges is not None:
            await self.nudges.close()
        await self.relay.close()
        await self.hub.close()
        await self.streams.close()
        await self.reads.versions.close()
        await self.access_changes.close()
        await self.throttle.close()
        if isinstance(self.dispatcher, CeleryDispatcher):
            self.dispatcher.close()
            await self.dispatcher.aclose()
            self.celery.close()
        elif isinstance(self.dispatcher, InProcessDispatcher):
            self.dispatcher.close()
        if self.analytics is not None:
            self.analytics.close()
        await self.engine.dispose()
        if self.replica_engine is not None:
            await self.replica_engine.dispose()
        self.sync_engine.dispose()
        self.blocking.shutdown()
        gc.unfreeze()  # a process that goes on (tests, a restart) can collect all of it again


async def make_app(config: Settings, **tornado_settings: Any) -> MatchdayApp:
    """A started application (its background loops run on the current event loop)."""
    app = MatchdayApp(config, **tornado_settings)
    await app.start()
    return app
