"""The Tornado application, which owns every shared resource of a process."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
import tornado.web

from config.settings import Settings
from models.db import (
    async_session_factory,
    make_async_engine,
    make_sync_engine,
    sync_session_factory,
)
from server.auth.tokens import TokenService
from server.base import NotFoundHandler
from server.blocking import BlockingRunner
from server.dispatch import Dispatcher, InProcessDispatcher
from server.handlers import auth, events, games, health


def all_routes() -> list[Any]:
    return [*auth.routes, *events.routes, *games.routes, *health.routes, *_docs_routes()]


def _docs_routes() -> list[Any]:
    from server.handlers import docs, pages

    return [*docs.routes, *pages.routes]


class MatchdayApp(tornado.web.Application):
    def __init__(self, config: Settings, **tornado_settings: Any) -> None:
        self.config = config
        self.engine = make_async_engine(config)
        self.sessions = async_session_factory(self.engine)
        self.sync_engine = make_sync_engine(config)
        self.blocking = BlockingRunner(config.blocking_pool_size)
        self.tokens = TokenService(
            config.jwt_secret,
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
            access_ttl=config.access_token_ttl_seconds,
            refresh_ttl=config.refresh_token_ttl_seconds,
        )
        self.dispatcher: Dispatcher = InProcessDispatcher(
            sync_session_factory(self.sync_engine), self.blocking
        )
        self.redis = aioredis.from_url(config.redis_url) if config.uses_redis else None
        self.draining = False
        super().__init__(
            all_routes(),
            default_handler_class=NotFoundHandler,
            xsrf_cookies=False,  # bearer tokens, no cookies: CSRF does not apply
            **tornado_settings,
        )

    async def close(self) -> None:
        """Finish queued work, then release pools and connections."""
        await self.dispatcher.idle()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
        self.sync_engine.dispose()
        self.blocking.shutdown()


def make_app(config: Settings, **tornado_settings: Any) -> MatchdayApp:
    return MatchdayApp(config, **tornado_settings)
