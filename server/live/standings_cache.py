"""Each process keeps the latest standings per event in memory, refreshed by the `standings`
events its hub already reads, so GET /standings does not touch the database on the hot path."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from server.live.sse import wire_data
from server.live.streams import StreamMessage
from server.reads.cache import Body, encode

IDLE_SECONDS = 600.0  # stop following an event nobody has asked about for this long
# One request re-reads an expired visibility; the others are served the table meanwhile,
# unless the re-read has not finished after this long (it failed): then another tries.
RECHECK_SECONDS = 2.0


@dataclass
class CachedStandings:
    payload: dict[str, Any]
    encoded: Body  # the bytes and ETag (and, on demand, their gzip) of the payload
    public: bool
    checked_at: float  # when visibility was last read from the database
    used_at: float = field(default_factory=time.monotonic)
    recheck_started: float = 0.0


def _encode(payload: dict[str, Any], *, cached: bool = True) -> Body:
    # Who may see the table is `CachedStandings.public`, which a re-read can change.
    return encode(payload, public=False, cached=cached)


def uncached(payload: dict[str, Any]) -> CachedStandings:
    """A table served straight from the database, not kept."""
    return CachedStandings(payload, _encode(payload, cached=False), public=False, checked_at=0.0)


class StandingsCache:
    def __init__(self, visibility_ttl: float) -> None:
        self.visibility_ttl = visibility_ttl
        self._entries: dict[int, CachedStandings] = {}

    def get_public(self, event_id: int) -> CachedStandings | None:
        """A table servable to anyone without the database, if we have a fresh one."""
        entry = self._entries.get(event_id)
        if entry is None or not entry.public:
            return None
        now = entry.used_at = time.monotonic()
        if now - entry.checked_at > self.visibility_ttl:
            # Without this, every request in flight when the TTL ran out went to the database
            # at once (50 connections: 50 loads queued on the pool, the p99 of the cached path).
            if now - entry.recheck_started < RECHECK_SECONDS:
                return entry
            entry.recheck_started = now
            return None
        return entry

    def get(self, event_id: int) -> CachedStandings | None:
        entry = self._entries.get(event_id)
        if entry is not None:
            entry.used_at = time.monotonic()
        return entry

    def store(self, payload: dict[str, Any], public: bool) -> CachedStandings:
        """Keep a table read from the database unless a newer one already arrived."""
        event_id = payload["event_id"]
        current = self._entries.get(event_id)
        now = time.monotonic()
        if current is not None and current.payload["version"] > payload["version"]:
            current.public, current.checked_at = public, now
            return current
        entry = CachedStandings(payload, _encode(payload), public, now)
        self._entries[event_id] = entry
        return entry

    def apply(self, message: StreamMessage) -> None:
        """A `standings` event: newer tables replace older ones; older ones are ignored."""
        current = self._entries.get(message.event_id)
        if current is None:
            return  # nobody asked for this table here; the database has it
        payload = json.loads(wire_data(message))
        if payload.get("version", 0) < current.payload["version"]:
            return
        current.payload, current.encoded = payload, _encode(payload)

    def forget(self, event_id: int) -> None:
        self._entries.pop(event_id, None)

    def wants(self, event_id: int) -> bool:
        return event_id in self._entries

    def expire(self, now: float) -> None:
        for event_id, entry in list(self._entries.items()):
            if now - entry.used_at > IDLE_SECONDS:
                del self._entries[event_id]
