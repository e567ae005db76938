"""Telling every serve process that someone's access changed, so that each forgets the bearer
tokens it remembers (server/auth/cache.py).

The process that committed the change clears its own cache, then publishes on the auth
channel (production, Redis); the other processes hear it through their NudgeListener
(server/live/nudges.py), which also clears the cache on every (re)subscription, since a
message sent while it was not listening is lost. If the publish fails, the others forget the
token within AUTH_CACHE_SECONDS.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

from config.redis_clients import aioredis_from_url
from models.stream_protocol import access_changed_channel
from server.auth.cache import AuthCache

log = logging.getLogger("matchday.auth")
PUBLISH_TIMEOUT_SECONDS = 1.0


class AccessChanges:
    def __init__(self, cache: AuthCache, redis_url: str | None, prefix: str) -> None:
        self.cache = cache
        self._channel = access_changed_channel(prefix)
        self._client: aioredis.Redis | None = None
        if redis_url:
            self._client = aioredis_from_url(
                redis_url,
                socket_timeout=PUBLISH_TIMEOUT_SECONDS,
                socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS,
            )

    async def committed(self) -> None:
        """A unit of work that changed someone's access has committed (never raises)."""
        self.cache.clear()
        if self._client is None:
            return
        try:
            await self._client.publish(self._channel, b"1")
        except Exception as exc:  # the change is committed; the TTL bounds the rest
            log.warning("access change not announced to other processes: %s", exc)

    def heard(self) -> None:
        """Another process announced a change (or this one just (re)subscribed)."""
        self.cache.clear()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
