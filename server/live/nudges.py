"""Production: workers nudge the outbox relays over Redis pub/sub when they commit entries,
and serve processes announce access changes (server/auth/access_changes.py).

Every server process subscribes and kicks its own relay, or forgets its remembered tokens. A
nudge missed while the connection was down costs only latency: each (re)subscription kicks
the relay once (and forgets every remembered token), and the relay's periodic sweep
publishes whatever is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import redis.asyncio as aioredis

from config.redis_clients import aioredis_from_url
from models.stream_protocol import access_changed_channel, outbox_nudge_channel

log = logging.getLogger("matchday.outbox")
RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)


class NudgeListener:
    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        on_nudge: Callable[[], None],
        on_access_changed: Callable[[], None] | None = None,
    ) -> None:
        # The subscription waits for messages indefinitely; health checks find a dead socket.
        self._client = aioredis_from_url(
            url, socket_timeout=None, socket_connect_timeout=2, health_check_interval=30
        )
        self._channel = outbox_nudge_channel(prefix)
        self._access_channel = access_changed_channel(prefix)
        self._on_nudge = on_nudge
        self._on_access_changed = on_access_changed or (lambda: None)
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()  # set while listening (tests, readiness)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen()
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
                self.subscribed.clear()
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("outbox nudges unavailable, retrying in %.1f s: %s", delay, exc)
                await asyncio.sleep(delay)

    async def _listen(self) -> None:
        async with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(self._channel, self._access_channel)
            self.subscribed.set()
            self._on_nudge()  # whatever was committed while nobody listened
            self._on_access_changed()
            access_channel = self._access_channel.encode()
            async for message in pubsub.listen():
                if message.get("channel") == access_channel:
                    self._on_access_changed()
                else:
                    self._on_nudge()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._client.aclose()
