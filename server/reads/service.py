"""Reads of an event, its teams and games, and the events list, from the process's cache when
its bytes are current, from the database otherwise (and then kept).

Every read first takes the data version token of what it reads (versions.py); cached bytes
loaded under another token are not served. Whether the caller may see the event is decided
on every read, from the entry's owner, visibility and scorekeepers, exactly as
server/policy.py decides from the database. The events list is cached only as anonymous
callers see it (public events); a signed-in caller's list may hold private events and is
read from the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Event, User
from server.policy import may_view
from server.reads.cache import Body, EventEntry, ReadCache, encode
from server.reads.versions import LIST_KEY, ReadVersions, event_key
from server.schemas.events import EventSchema, TeamSchema
from server.schemas.games import GameSchema
from server.services import events as event_service
from server.services import games as game_service
from server.services.errors import NotFound

log = logging.getLogger("matchday.reads")
EVENT = EventSchema()
TEAM = TeamSchema()
GAME = GameSchema()
WARN_EVERY_SECONDS = 10.0


class _Unknown:
    """The version store did not answer: read from the database and keep nothing."""


UNKNOWN = _Unknown()
Token = str | None | _Unknown
T = TypeVar("T")


def envelope(items: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    return {"items": items, "page": page, "per_page": per_page, "total": total}


class EventReads:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cache: ReadCache,
        versions: ReadVersions,
        *,
        replica_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        self._replica_sessions = replica_sessions or sessions
        self.cache = cache
        self.versions = versions
        self._warned_at = 0.0
        self._loads: dict[Hashable, asyncio.Future[Any]] = {}

    def _list_sessions(self, user: User | None) -> async_sessionmaker[AsyncSession]:
        """Where a list is read from. The replica (DATABASE_REPLICA_URL) only serves an anonymous
        caller while the cache is off: a cached body claims a data version, and a lagging
        replica could fill it with data older than that version. Signed-in callers read the
        primary, so what they just wrote is in their next list."""
        if user is None and not self.cache.enabled:
            return self._replica_sessions
        return self._sessions

    # --- reads ---------------------------------------------------------------------------

    async def event(self, event_id: int, user: User | None) -> Body:
        entry, _token = await self._entry(event_id, user)
        return entry.event

    async def require_visible(self, event_id: int, user: User | None) -> None:
        """Raise NotFound unless the caller may see the event (a stream's connect): from the
        cached entry, so 10,000 spectators arriving at kick-off cost one database read per
        process, not one each."""
        await self._entry(event_id, user)

    async def teams(self, event_id: int, user: User | None, page: int, per_page: int) -> Body:
        entry, token = await self._entry(event_id, user)
        key = (page, per_page)
        body = entry.teams.get(key)
        if body is not None:
            return body

        async def load() -> Body:
            began = self.cache.begin()
            async with self._list_sessions(user)() as session:
                teams, total = await event_service.list_teams(session, event_id, page, per_page)
                items = TEAM.dump(teams, many=True)
            loaded = encode(envelope(items, total, page, per_page), public=entry.event.public)
            if token is not UNKNOWN and self.cache.holds(event_id, entry, began):
                entry.teams.put(key, loaded)
            return loaded

        return await self._shared(("teams", event_id, key), token, load)

    async def games(self, event_id: int, user: User | None, query: dict[str, Any]) -> Body:
        entry, token = await self._entry(event_id, user)
        key = tuple(sorted(query.items()))
        body = entry.games.get(key)
        if body is not None:
            return body

        async def load() -> Body:
            began = self.cache.begin()
            page, per_page = query["page"], query["per_page"]
            async with self._list_sessions(user)() as session:
                items, total = await game_service.list_games(
                    session, event_id, query, page, per_page
                )
            loaded = encode(envelope(items, total, page, per_page), public=entry.event.public)
            if token is not UNKNOWN and self.cache.holds(event_id, entry, began):
                entry.games.put(key, loaded)
            return loaded

        return await self._shared(("games", event_id, key), token, load)

    async def events(self, user: User | None, page: int, per_page: int) -> Body:
        """The events list: public events (cached), plus a signed-in caller's own private
        ones and those they keep score for (every event for an admin), from the database."""
        if user is not None:
            return await self._load_events(user, page, per_page)
        token = await self._token(LIST_KEY)
        if isinstance(token, _Unknown):
            return await self._load_events(None, page, per_page)
        entry = self.cache.public_list(token)
        body = entry.pages.get((page, per_page))
        if body is not None:
            return body

        async def load() -> Body:
            began = self.cache.begin()
            loaded = await self._load_events(None, page, per_page)
            if self.cache.list_holds(entry, began):
                entry.pages.put((page, per_page), loaded)
            return loaded

        return await self._shared(("list", page, per_page), token, load)

    async def _load_events(self, user: User | None, page: int, per_page: int) -> Body:
        async with self._list_sessions(user)() as session:
            events, total = await event_service.list_events(session, user, page, per_page)
            items = EVENT.dump(events, many=True)
        # A signed-in caller's list is read for that one answer; the anonymous one is kept.
        return encode(
            envelope(items, total, page, per_page), public=user is None, cached=user is None
        )

    # --- the event's entry ---------------------------------------------------------------

    async def _entry(self, event_id: int, user: User | None) -> tuple[EventEntry, Token]:
        token = await self._token(event_key(event_id))
        entry = None if isinstance(token, _Unknown) else self.cache.event(event_id, token)
        if entry is None:
            entry = await self._shared(
                ("event", event_id), token, lambda: self._load_entry(event_id, token)
            )
        keeper = user is not None and user.id in entry.scorekeepers
        if not may_view(entry.owner_id, entry.visibility, user, is_scorekeeper=keeper):
            raise NotFound("no such event")  # existence is not revealed
        return entry, token

    async def _load_entry(self, event_id: int, token: Token) -> EventEntry:
        storable = not isinstance(token, _Unknown) and self.cache.enabled
        began = self.cache.begin()
        async with self._sessions() as session:
            event = await session.get(Event, event_id)
            if event is None:
                raise NotFound("no such event")
            keepers = await event_service.scorekeeper_ids(session, event_id)
            public = event.visibility == "public"
            entry = EventEntry(
                None if isinstance(token, _Unknown) else token,
                event.owner_id,
                event.visibility,
                keepers,
                encode(EVENT.dump(event), public=public),
            )
        if storable:
            self.cache.store_event(event_id, entry, began)
        return entry

    async def _shared(
        self, what: tuple[Any, ...], token: Token, load: Callable[[], Awaitable[T]]
    ) -> T:
        """Concurrent misses of the same thing under the same token share one load: when an
        entry expires under load, one request reads the database, not every one in flight.
        Keyed by the token, so a read that began after a change never joins a load that began
        before it; without a token (versions unknown) nothing is shared."""
        if isinstance(token, _Unknown):
            return await load()
        key = (*what, token)
        running = self._loads.get(key)
        if running is None:
            running = asyncio.ensure_future(load())
            self._loads[key] = running
            running.add_done_callback(lambda done: self._loaded(key, done))
        return await asyncio.shield(running)  # type: ignore[no-any-return]

    def _loaded(self, key: Hashable, done: asyncio.Future[Any]) -> None:
        self._loads.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved, even if every waiter was cancelled

    async def _token(self, key: str) -> Token:
        if not self.cache.enabled:
            return UNKNOWN
        try:
            return await self.versions.current(key)
        except Exception as exc:  # the version store is away: serve from the database
            now = time.monotonic()
            if now - self._warned_at > WARN_EVERY_SECONDS:
                self._warned_at = now
                log.warning("read versions unavailable, reading from the database: %s", exc)
            return UNKNOWN

    # --- invalidation --------------------------------------------------------------------

    async def changed(self, event_ids: Iterable[int], *, listing: bool) -> None:
        """After a commit, before the writer is answered: this process drops the entries and
        every process sees new tokens. Never raises (the change is committed)."""
        ids = list(event_ids)
        for event_id in ids:
            self.cache.forget(event_id, listing=listing)
        if listing and not ids:
            self.cache.forget_list()
        keys = [event_key(event_id) for event_id in ids] + ([LIST_KEY] if listing else [])
        if not keys:
            return
        try:
            await self.versions.bump(keys)
        except Exception as exc:
            # Other processes learn from the event's live events, or within max_age.
            log.warning("read versions not bumped for %s: %s", keys, exc)

    def live_event(self, event_id: int) -> None:
        """A live event read from the stream (a score, a game, a correction)."""
        self.cache.forget(event_id)
