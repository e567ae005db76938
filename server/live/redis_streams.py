"""Redis Streams: one stream per league event, XADD with a bounded history, one XREAD reader."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from config.redis_clients import aioredis_from_url
from server.live.streams import (
    CREATED_FIELD,
    DEDUPE_TTL_SECONDS,
    HISTORY_EXPIRED,
    PUBLISH_ONCE,
    History,
    Outgoing,
    StreamMessage,
    dedupe_marker_key,
    parse_id,
    reset_reason,
    stream_key,
)

Entry = tuple[str, dict[str, str]]  # (id, fields), as decode_responses=True returns them
StreamId = tuple[int, int]


STREAM_POOL_CONNECTIONS = 32  # per process


class RedisStreams:
    def __init__(self, url: str, *, history_length: int, prefix: str) -> None:
        self._history_length = history_length
        self._prefix = prefix
        # After a Redis restart each pooled connection is stale and its next command fails with
        # "Connection closed by server" (a new stream then ends at once): retry once, at once, on
        # a fresh connection; an outage still fails fast. Publishes carry dedupe keys.
        self._client = aioredis_from_url(
            url,
            # 20,000 spectators reconnecting at once (a deploy) each replay their history:
            # they queue for these connections instead of opening one each, past Redis'
            # `maxclients` (10,000 by default; the rest were refused, their streams ended).
            pool_limit=STREAM_POOL_CONNECTIONS,
            decode_responses=True,
            socket_timeout=5,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[aioredis.ConnectionError],
        )
        # XREAD BLOCK holds its connection: the reader gets its own, with no socket timeout.
        self._reader = aioredis_from_url(
            url, decode_responses=True, single_connection_client=True, socket_timeout=None
        )
        self._reader_id: int | None = None
        self._publish_once = self._client.register_script(PUBLISH_ONCE)

    def key(self, event_id: int) -> str:
        return stream_key(self._prefix, event_id)

    def _event_id(self, key: str) -> int:
        return int(key.rsplit(":", 1)[1])

    def _script_input(self, message: Outgoing) -> tuple[list[str], list[str | int]]:
        marker = dedupe_marker_key(self._prefix, message.dedupe_key) if message.dedupe_key else ""
        args: list[str | int] = [
            self._history_length,
            message.kind,
            message.data,
            DEDUPE_TTL_SECONDS,
        ]
        return [self.key(message.event_id), marker], args

    async def publish(
        self, event_id: int, kind: str, data: str, dedupe_key: str | None = None
    ) -> str | None:
        keys, args = self._script_input(Outgoing(event_id, kind, data, dedupe_key))
        return cast(str | None, await self._publish_once(keys=keys, args=args)) or None

    async def publish_many(self, messages: Sequence[Outgoing]) -> list[str | None]:
        # Pipelines, not a round trip per message: an import's 10,000 events would otherwise
        # hold every later live event back for ~20 s behind them in the relay. Each pipeline
        # appends at most half the kept history (XADD MAXLEN trims as it appends): the hub's
        # reader, woken by the first message, keeps half the history of slack to read them
        # all before they are trimmed, as live clients need.
        step = max(1, self._history_length // 2)
        ids: list[str | None] = []
        for start in range(0, len(messages), step):
            async with self._client.pipeline(transaction=False) as pipe:
                for message in messages[start : start + step]:
                    keys, args = self._script_input(message)
                    await self._publish_once(keys=keys, args=args, client=pipe)
                ids.extend(cast(str | None, result) or None for result in await pipe.execute())
        return ids

    async def last_id(self, event_id: int) -> str:
        newest = cast(list[Entry], await self._client.xrevrange(self.key(event_id), count=1))
        return newest[0][0] if newest else "0-0"

    async def last_ids(self, event_ids: list[int]) -> dict[int, str]:
        pipe = self._client.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.xrevrange(self.key(event_id), count=1)
        replies = cast(list[list[Entry]], await pipe.execute())
        return {
            event_id: newest[0][0] if newest else "0-0"
            for event_id, newest in zip(event_ids, replies, strict=True)
        }

    async def history(self, event_id: int, after: str) -> History:
        key = self.key(event_id)
        position = parse_id(after)
        if position != (0, 0):
            # From the client's own id, inclusive: it must come back first, or the stream
            # cannot continue from it (trimmed, lost with Redis' data, or never there).
            entries = cast(list[Entry], await self._client.xrange(key, min=after, max="+"))
            if entries and parse_id(entries[0][0]) == position:
                return History([self._message(event_id, entry) for entry in entries[1:]])
        first, last, trimmed = await self._extent(key)
        if position != (0, 0):
            reason = reset_reason(position, first, last, trimmed=trimmed)
            return History([], reset=True, reason=reason)
        if trimmed:  # "from the start", but the start is gone
            return History([], reset=True, reason=HISTORY_EXPIRED)
        if last is None:
            return History([])
        entries = cast(list[Entry], await self._client.xrange(key, min="(0-0", max="+"))
        return History([self._message(event_id, entry) for entry in entries])

    async def _extent(self, key: str) -> tuple[StreamId | None, StreamId | None, bool]:
        """The first kept and the last ids (None: no such stream), and whether trimmed."""
        try:
            info: dict[str, Any] = await self._client.xinfo_stream(key)
        except aioredis.ResponseError:  # no such stream: never published to, or lost
            return None, None, False
        first = info.get("first-entry")
        trimmed = int(info.get("entries-added", 0)) > int(info.get("length", 0))
        last = parse_id(info["last-generated-id"])
        return (parse_id(first[0]) if first else None), last, trimmed

    def _message(self, event_id: int, entry: Entry) -> StreamMessage:
        message_id, fields = entry
        return StreamMessage(
            event_id,
            message_id,
            fields.get("kind", ""),
            fields.get("data", "null"),
            created=CREATED_FIELD in fields,
        )

    async def read(self, positions: dict[int, str], block_ms: int) -> list[StreamMessage]:
        if self._reader_id is None:
            self._reader_id = await self._reader.client_id()
        streams: dict[Any, Any] = {self.key(e): after for e, after in positions.items()}
        try:
            replies = cast(
                list[tuple[str, list[Entry]]],
                await self._reader.xread(streams, count=1000, block=block_ms or None),
            )
        except (aioredis.ConnectionError, aioredis.TimeoutError):
            self._reader_id = None  # a reconnect brings a new connection id
            raise
        return [
            self._message(self._event_id(key), entry)
            for key, entries in replies or []
            for entry in entries
        ]

    async def interrupt(self) -> None:
        if self._reader_id is not None:
            await self._client.client_unblock(self._reader_id)

    async def ping(self) -> None:
        await self._client.ping()

    async def close(self) -> None:
        await self._reader.aclose()
        await self._client.aclose()
