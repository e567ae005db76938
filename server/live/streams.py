"""The event-streams seam: one ordered, bounded stream of live events per league event.

Two implementations share these semantics: Redis Streams (production) and an in-process
one (embedded default). Ids are Redis stream ids, ``<milliseconds>-<sequence>``, so they are
monotonic, comparable, and say when an event was published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

STREAM_ID = re.compile(r"^([0-9]{1,20})-([0-9]{1,20})$")


@dataclass(frozen=True)
class StreamMessage:
    event_id: int
    id: str
    kind: str
    data: str  # JSON text, serialised once by the publisher

    @property
    def published_at(self) -> float:
        """Seconds since the epoch, from the id's millisecond part."""
        return parse_id(self.id)[0] / 1000


@dataclass(frozen=True)
class History:
    """Messages after a given id, or ``reset`` when some of them are no longer kept."""

    messages: list[StreamMessage]
    reset: bool = False


def parse_id(value: str) -> tuple[int, int]:
    match = STREAM_ID.match(value)
    if not match:
        raise ValueError(f"not a stream id: {value!r}")
    return int(match.group(1)), int(match.group(2))


def is_valid_id(value: str) -> bool:
    return STREAM_ID.match(value) is not None


def stream_key(prefix: str, event_id: int) -> str:
    return f"{prefix}stream:{event_id}"


# Publish once per dedupe key: the check, the XADD and the marker are one atomic step, so a
# relay that retries after a crash between XADD and deleting its outbox row adds nothing.
PUBLISH_ONCE = """
if KEYS[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then return false end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
                      'kind', ARGV[2], 'data', ARGV[3])
if KEYS[2] ~= '' then redis.call('SET', KEYS[2], id, 'EX', ARGV[4]) end
return id
"""
DEDUPE_TTL_SECONDS = 7 * 24 * 3600


class EventStreams(Protocol):
    async def publish(
        self, event_id: int, kind: str, data: str, dedupe_key: str | None = None
    ) -> str | None:
        """Append a message; returns its id. With `dedupe_key`, a key already published
        returns None and appends nothing (the outbox relay's retry guard)."""

    async def last_id(self, event_id: int) -> str:
        """The newest id of the stream, or "0-0" when it has none."""

    async def history(self, event_id: int, after: str) -> History:
        """Every kept message after `after`, or reset=True if some were trimmed."""

    async def read(self, positions: dict[int, str], block_ms: int) -> list[StreamMessage]:
        """Messages after each position, waiting up to `block_ms` for the first one."""

    async def interrupt(self) -> None:
        """Wake a pending read() early (a stream was added to the positions)."""

    async def ping(self) -> None:
        """Raise if the backing store does not answer."""

    async def close(self) -> None: ...
