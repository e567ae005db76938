"""How task functions publish their results to the live streams (blocking code: worker threads)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from server.live.streams import DEDUPE_TTL_SECONDS, PUBLISH_ONCE, EventStreams, stream_key

# (league event id, kind, JSON data, dedupe key) -> the stream id it was given, or None
# when that dedupe key was published already
Publisher = Callable[[int, str, str, str | None], str | None]
PUBLISH_TIMEOUT_SECONDS = 5.0


class RedisPublisher:
    def __init__(self, url: str, *, prefix: str, history_length: int) -> None:
        # A blip of Redis costs a few retries, not a lost table.
        retry = Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=5)
        self._client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=5,
            retry=retry,
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )
        self._script = self._client.register_script(PUBLISH_ONCE)
        self._prefix = prefix
        self._history_length = history_length

    def __call__(
        self, event_id: int, kind: str, data: str, dedupe_key: str | None = None
    ) -> str | None:
        marker = f"{self._prefix}published:{dedupe_key}" if dedupe_key else ""
        keys = [stream_key(self._prefix, event_id), marker]
        args: list[str | int] = [self._history_length, kind, data, DEDUPE_TTL_SECONDS]
        return self._script(keys=keys, args=args) or None

    def close(self) -> None:
        self._client.close()


class LoopPublisher:
    """Hands a publish to the event loop that owns in-process streams, and waits for its id."""

    def __init__(self, streams: EventStreams, loop: asyncio.AbstractEventLoop) -> None:
        self._streams = streams
        self._loop = loop

    def __call__(
        self, event_id: int, kind: str, data: str, dedupe_key: str | None = None
    ) -> str | None:
        publish = self._streams.publish(event_id, kind, data, dedupe_key)
        return asyncio.run_coroutine_threadsafe(publish, self._loop).result(PUBLISH_TIMEOUT_SECONDS)


def offline_publisher(
    _event_id: int, _kind: str, _data: str, _dedupe_key: str | None = None
) -> str | None:
    """For commands that run with no server (demo): nothing listens, the snapshot suffices."""
    return None
