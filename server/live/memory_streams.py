"""In-process event streams for the embedded default: same ids, history and resume as Redis."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Sequence

from server.live.streams import (
    HISTORY_EXPIRED,
    History,
    Outgoing,
    StreamMessage,
    parse_id,
    reset_reason,
)

DEDUPE_KEYS_KEPT = 100_000


class _Stream:
    def __init__(self, maxlen: int) -> None:
        self.messages: deque[StreamMessage] = deque(maxlen=maxlen)
        self.trimmed = False
        # Trimmed before the reader saw them. A burst longer than the history (the relay
        # publishes a batch without yielding) must still reach live clients, as Redis'
        # blocking XREAD would deliver it: read() returns these once, then forgets them.
        self.unread: list[StreamMessage] = []


class MemoryStreams:
    """All state lives on the event loop thread; publishers elsewhere use call_soon_threadsafe."""

    def __init__(self, history_length: int) -> None:
        self._history_length = history_length
        self._streams: dict[int, _Stream] = {}
        self._last = (0, 0)
        self._published_keys: OrderedDict[str, str] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._followed: set[int] = set()  # the streams a pending read() waits on

    def _stream(self, event_id: int) -> _Stream:
        if event_id not in self._streams:
            self._streams[event_id] = _Stream(self._history_length)
        return self._streams[event_id]

    def _next_id(self) -> str:
        now = int(time.time() * 1000)
        ms, seq = self._last
        self._last = (now, 0) if now > ms else (ms, seq + 1)
        return f"{self._last[0]}-{self._last[1]}"

    async def publish(
        self, event_id: int, kind: str, data: str, dedupe_key: str | None = None
    ) -> str | None:
        if dedupe_key is not None and dedupe_key in self._published_keys:
            return None
        stream = self._stream(event_id)
        if len(stream.messages) == stream.messages.maxlen:
            stream.trimmed = True
            if event_id in self._followed:
                stream.unread.append(stream.messages[0])
        created = not stream.messages  # the first message of this stream in this process
        message = StreamMessage(event_id, self._next_id(), kind, data, created=created)
        stream.messages.append(message)
        if dedupe_key is not None:
            self._remember(dedupe_key, message.id)
        self._wakeup.set()
        return message.id

    async def publish_many(self, messages: Sequence[Outgoing]) -> list[str | None]:
        return [await self.publish(*message) for message in messages]

    def _remember(self, key: str, message_id: str) -> None:
        self._published_keys[key] = message_id
        while len(self._published_keys) > DEDUPE_KEYS_KEPT:
            self._published_keys.popitem(last=False)

    async def last_id(self, event_id: int) -> str:
        stream = self._streams.get(event_id)
        return stream.messages[-1].id if stream and stream.messages else "0-0"

    async def last_ids(self, event_ids: list[int]) -> dict[int, str]:
        return {event_id: await self.last_id(event_id) for event_id in event_ids}

    async def history(self, event_id: int, after: str) -> History:
        # A new process starts with no streams: ids from an earlier one are not found here
        # and get a reset (stream_restarted, or unknown_id when newer than what is kept).
        stream = self._streams.get(event_id)
        messages = list(stream.messages) if stream else []
        position = parse_id(after)
        if position == (0, 0):
            if stream and stream.trimmed:
                return History([], reset=True, reason=HISTORY_EXPIRED)
            return History(messages)
        for index, message in enumerate(messages):
            if parse_id(message.id) == position:
                return History(messages[index + 1 :])
        first = parse_id(messages[0].id) if messages else None
        last = parse_id(messages[-1].id) if messages else None
        trimmed = stream is not None and stream.trimmed
        return History([], reset=True, reason=reset_reason(position, first, last, trimmed=trimmed))

    def _after(self, positions: dict[int, str]) -> list[StreamMessage]:
        found: list[StreamMessage] = []
        for event_id, after in positions.items():
            stream = self._streams.get(event_id)
            if stream and stream.messages and parse_id(stream.messages[-1].id) > parse_id(after):
                kept = [*stream.unread, *stream.messages]
                found.extend(m for m in kept if parse_id(m.id) > parse_id(after))
        for stream in self._streams.values():
            stream.unread.clear()
        return found

    async def read(self, positions: dict[int, str], block_ms: int) -> list[StreamMessage]:
        found = self._after(positions)
        if found or block_ms <= 0:
            return found
        self._wakeup.clear()
        self._followed = set(positions)  # keep what is trimmed while the reader waits
        try:
            # Not wait_for: on Python 3.11 it swallows a cancel that lands in the tick of a
            # publish, and the hub's close() then waits forever for its reader.
            async with asyncio.timeout(block_ms / 1000):
                await self._wakeup.wait()
        except TimeoutError:
            return []
        finally:
            self._followed = set()
        return self._after(positions)

    async def interrupt(self) -> None:
        self._wakeup.set()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._wakeup.set()
