"""The process's cache of pre-serialised read bodies, least recently used events first out.

One entry per league event: who may see it (owner, visibility, scorekeepers), the event's
body, and its teams and games pages as they were asked for, all loaded under one data version
token (versions.py). Bodies do not depend on the caller; whether the caller may see them is
decided per request from the entry (server/policy.py), so private events stay private.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from server.content_coding import GZIP_MIN_BYTES, gzip_bytes, gzip_etag

PARTS_PER_EVENT = 16  # query variants (pages, filters) kept per event and for the public list


class Body:
    """A response body with its ETag; `public` says whether shared caches may keep it.
    Its gzip representation is made on first demand and kept (server/content_coding.py),
    for a body `cached` to be sent again: one built for a single answer goes plain."""

    __slots__ = ("_gzipped", "cached", "data", "etag", "public")

    def __init__(self, data: bytes, etag: str, public: bool, *, cached: bool = True) -> None:
        self.data = data
        self.etag = etag
        self.public = public
        self.cached = cached
        self._gzipped: tuple[bytes, str] | None = None

    def gzipped(self) -> tuple[bytes, str] | None:
        """The gzip bytes and their ETag, or None when the body is too small to gain or is
        not sent again (compressing it would be CPU on every request)."""
        if not self.cached or len(self.data) < GZIP_MIN_BYTES:
            return None
        if self._gzipped is None:
            self._gzipped = (gzip_bytes(self.data), gzip_etag(self.etag))
        return self._gzipped

    def __repr__(self) -> str:
        return f"Body({len(self.data)} bytes, etag={self.etag}, public={self.public})"


def encode(payload: Any, *, public: bool, cached: bool = True) -> Body:
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    etag = f'"{hashlib.sha1(data, usedforsecurity=False).hexdigest()}"'
    return Body(data, etag, public, cached=cached)


class Parts:
    """A small LRU of bodies by query (page, per_page, filters)."""

    def __init__(self) -> None:
        self._bodies: OrderedDict[tuple[Any, ...], Body] = OrderedDict()

    def get(self, query: tuple[Any, ...]) -> Body | None:
        body = self._bodies.get(query)
        if body is not None:
            self._bodies.move_to_end(query)
        return body

    def put(self, query: tuple[Any, ...], body: Body) -> None:
        self._bodies[query] = body
        self._bodies.move_to_end(query)
        while len(self._bodies) > PARTS_PER_EVENT:
            self._bodies.popitem(last=False)

    def __len__(self) -> int:
        return len(self._bodies)


@dataclass
class EventEntry:
    token: str | None  # the data version it was loaded under
    owner_id: int
    visibility: str
    scorekeepers: frozenset[int]
    event: Body
    loaded_at: float = field(default_factory=time.monotonic)
    teams: Parts = field(default_factory=Parts)
    games: Parts = field(default_factory=Parts)


@dataclass
class ListEntry:
    token: str | None
    loaded_at: float = field(default_factory=time.monotonic)
    pages: Parts = field(default_factory=Parts)


class ReadCache:
    """Bounded by `max_events`; an entry older than `max_age` is loaded again (it bounds how
    long a change whose version bump failed could stay unseen). Loads that began before a
    `forget` of their event are not stored (`begin` / `store(..., began=...)`)."""

    def __init__(self, max_events: int, max_age: float, *, max_marks: int | None = None) -> None:
        self.max_events = max_events
        self._max_marks = max_marks or 4 * max(max_events, 256)
        self.max_age = max_age
        self._events: OrderedDict[int, EventEntry] = OrderedDict()
        self._list: ListEntry | None = None
        self._clock = 0  # counts forgets
        self._forgotten: dict[int | None, int] = {}  # event id (None: the list) -> clock
        self._floor = 0  # loads begun before this clock are not stored

    @property
    def enabled(self) -> bool:
        return self.max_events > 0

    def begin(self) -> int:
        return self._clock

    def _current(self, loaded_at: float) -> bool:
        return time.monotonic() - loaded_at <= self.max_age

    def event(self, event_id: int, token: str | None) -> EventEntry | None:
        entry = self._events.get(event_id)
        if entry is None or entry.token != token or not self._current(entry.loaded_at):
            return None
        self._events.move_to_end(event_id)
        return entry

    def store_event(self, event_id: int, entry: EventEntry, began: int) -> bool:
        if not self.enabled or not self._may_store(event_id, began):
            return False
        self._events[event_id] = entry
        self._events.move_to_end(event_id)
        while len(self._events) > self.max_events:
            self._events.popitem(last=False)
        return True

    def holds(self, event_id: int, entry: EventEntry, began: int) -> bool:
        """Whether a part loaded since `began` may join `entry`."""
        return self._events.get(event_id) is entry and self._may_store(event_id, began)

    def public_list(self, token: str | None) -> ListEntry:
        if (
            self._list is None
            or self._list.token != token
            or not self._current(self._list.loaded_at)
        ):
            self._list = ListEntry(token)
        return self._list

    def list_holds(self, entry: ListEntry, began: int) -> bool:
        return self.enabled and self._list is entry and self._may_store(None, began)

    def _may_store(self, key: int | None, began: int) -> bool:
        # A forget at the clock a load began at came before it: that load reads newer data.
        return began >= self._floor and self._forgotten.get(key, -1) <= began

    def forget(self, event_id: int, *, listing: bool = False) -> None:
        """This event's data changed (a commit here, or a live event from the stream); with
        `listing`, its row did, so the public list too."""
        self._clock += 1
        self._events.pop(event_id, None)
        self._mark(event_id)
        if listing:
            self.forget_list()

    def forget_list(self) -> None:
        self._clock += 1
        self._list = None
        self._mark(None)

    def _mark(self, key: int | None) -> None:
        self._forgotten[key] = self._clock
        if len(self._forgotten) > self._max_marks:
            # Bounded: forget the marks and refuse every load begun before now instead.
            self._forgotten.clear()
            self._floor = self._clock

    def wants(self, event_id: int) -> bool:
        return event_id in self._events

    def __len__(self) -> int:
        return len(self._events)
