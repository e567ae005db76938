"""The event-streams seam: one ordered, bounded stream of live events per league event.

Two implementations share these semantics: Redis Streams (production) and an in-process
one (embedded default). Ids, keys and the publish-once script: models/stream_protocol.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from models.stream_protocol import (
    CREATED_FIELD,
    DEDUPE_TTL_SECONDS,
    PUBLISH_ONCE,
    dedupe_marker_key,
    is_valid_id,
    parse_id,
    stream_key,
)

__all__ = [  # the protocol's names, re-exported for the server's modules
    "CREATED_FIELD",
    "DEDUPE_TTL_SECONDS",
    "HISTORY_EXPIRED",
    "PUBLISH_ONCE",
    "STREAM_RESTARTED",
    "UNKNOWN_ID",
    "EventStreams",
    "History",
    "Outgoing",
    "StreamMessage",
    "dedupe_marker_key",
    "is_valid_id",
    "parse_id",
    "reset_reason",
    "stream_key",
]

# Why a resume cannot continue without a gap (the `reset` message's reason).
HISTORY_EXPIRED = "history_expired"  # the id is older than the kept history
STREAM_RESTARTED = "stream_restarted"  # the stream was lost (Redis' data) and begun anew
UNKNOWN_ID = "unknown_id"  # a well-formed id this stream never had (e.g. newer than its last)


@dataclass(frozen=True)
class StreamMessage:
    event_id: int
    id: str
    kind: str
    data: str  # JSON text, serialised once by the publisher
    created: bool = False  # the first message of its stream (after a wipe: of a new stream)

    @property
    def published_at(self) -> float:
        """Seconds since the epoch, from the id's millisecond part."""
        return parse_id(self.id)[0] / 1000


@dataclass(frozen=True)
class History:
    """Messages after a given id, or ``reset`` (and why) when the stream cannot continue
    from that id without a gap."""

    messages: list[StreamMessage]
    reset: bool = False
    reason: str = ""  # when reset: HISTORY_EXPIRED, STREAM_RESTARTED or UNKNOWN_ID


def reset_reason(
    after: tuple[int, int],
    first: tuple[int, int] | None,
    last: tuple[int, int] | None,
    *,
    trimmed: bool,
) -> str:
    """Why a stream whose kept ids run from `first` to `last` (None: no stream) has no
    message with the id `after`. Every id a client holds came from a message (or a table
    that names one), so an id that is not there means the history has a hole."""
    if last is None:
        return STREAM_RESTARTED  # the stream is gone: ids from before were lost with it
    if after > last:
        return UNKNOWN_ID  # newer than anything the stream has had
    if first is None or after < first:
        # Before the first kept id: trimmed away, or (never trimmed) from an earlier stream.
        # A recreated stream that has since been trimmed reads as expired: the same reset.
        return HISTORY_EXPIRED if trimmed else STREAM_RESTARTED
    return UNKNOWN_ID  # within the kept range, but not one of its ids


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
        """Every kept message after `after`; reset=True (with reset_reason()) unless `after`
        is one of the stream's kept ids, or "0-0" (from the start) and nothing was trimmed."""

    async def last_ids(self, event_ids: list[int]) -> dict[int, str]:
        """last_id() of several streams in one round trip."""

    async def read(self, positions: dict[int, str], block_ms: int) -> list[StreamMessage]:
        """Messages after each position, waiting up to `block_ms` for the first one."""

    async def interrupt(self) -> None:
        """Wake a pending read() early (a stream was added to the positions)."""

    async def ping(self) -> None:
        """Raise if the backing store does not answer."""

    async def close(self) -> None: ...
