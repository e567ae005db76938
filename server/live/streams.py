"""The event-streams seam: one ordered, bounded stream of live events per league event.

Two implementations share these semantics: Redis Streams (production) and an in-process
one (embedded default). Ids, keys and the publish-once script: models/stream_protocol.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from models.stream_protocol import (
    DEDUPE_TTL_SECONDS,
    PUBLISH_ONCE,
    dedupe_marker_key,
    is_valid_id,
    parse_id,
    stream_key,
)

__all__ = [  # the protocol's names, re-exported for the server's modules
    "DEDUPE_TTL_SECONDS",
    "PUBLISH_ONCE",
    "EventStreams",
    "History",
    "Outgoing",
    "StreamMessage",
    "dedupe_marker_key",
    "is_valid_id",
    "parse_id",
    "stream_key",
]


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


class Outgoing(NamedTuple):
    """A message to publish: `publish`'s arguments."""

    event_id: int
    kind: str
    data: str
    dedupe_key: str | None = None


class EventStreams(Protocol):
    async def publish(
        self, event_id: int, kind: str, data: str, dedupe_key: str | None = None
    ) -> str | None:
        """Append a message; returns its id. With `dedupe_key`, a key already published
        returns None and appends nothing (the outbox relay's retry guard)."""

    async def publish_many(self, messages: Sequence[Outgoing]) -> list[str | None]:
        """`publish` each message in order, in one round trip where the store allows.
        Raises if any failed; some before it may have been appended (dedupe keys guard the
        retry)."""

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
