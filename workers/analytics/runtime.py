"""What answering needs, built once per process from the settings: the read engine (replica
when configured), the answer cache, the optional language-model planner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from models.db import make_read_engine, sync_session_factory
from workers.analytics.cache import AnswerCache, MemoryAnswerCache, RedisAnswerCache
from workers.analytics.service import AnalyticsConfig, Planner, Viewer, answer_or_error


@dataclass
class AnalyticsRuntime:
    engine: Engine
    sessions: sessionmaker[Session]
    config: AnalyticsConfig
    cache: AnswerCache
    planner: Planner | None

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """A transport request `{question, event_id, event_date, viewer, explain}` →
        answer_or_error."""
        picked = request.get("event_date")
        return answer_or_error(
            self.sessions,
            request["question"],
            event_id=request.get("event_id"),
            event_date=date.fromisoformat(picked) if picked else None,
            viewer=Viewer.from_dict(request.get("viewer") or {}),
            explain=bool(request.get("explain")),
            config=self.config,
            cache=self.cache,
            planner=self.planner,
        )

    owned_redis: redis.Redis | None = None  # closed with the runtime (server side only)

    def close(self) -> None:
        self.engine.dispose()
        if self.owned_redis is not None:
            self.owned_redis.close()


def make_planner(settings: Settings) -> Planner | None:
    if not settings.analytics_llm_url:
        return None
    from workers.analytics.llm import LlmPlanner

    return LlmPlanner(
        settings.analytics_llm_url,
        model=settings.analytics_llm_model,
        api_key=settings.analytics_llm_api_key or None,
        timeout_seconds=settings.analytics_llm_timeout_seconds,
    )


def make_runtime(
    settings: Settings, redis_client: redis.Redis | None = None, *, owns_redis: bool = False
) -> AnalyticsRuntime:
    engine = make_read_engine(settings)
    cache: AnswerCache
    if redis_client is not None:
        prefix = settings.redis_key_prefix
        cache = RedisAnswerCache(redis_client, prefix, settings.analytics_cache_ttl_seconds)
    else:
        cache = MemoryAnswerCache(settings.analytics_cache_ttl_seconds)
    return AnalyticsRuntime(
        engine=engine,
        sessions=sync_session_factory(engine),
        config=AnalyticsConfig.from_settings(settings),
        cache=cache,
        planner=make_planner(settings),
        owned_redis=redis_client if owns_redis else None,
    )
