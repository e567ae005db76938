"""StreamHub: one reader per process fans every live event out to that process's SSE clients.

The reader follows only the league events that have local subscribers (or a cached standings
table). Each message is serialised once; writing it to a client never waits for that client.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import json
import logging
import time
from collections import Counter, defaultdict

from server import metrics
from server.batched_lookup import BatchedLookup
from server.live.sse import PING, SseClient, control_frame, frame
from server.live.standings_cache import StandingsCache
from server.live.streams import (
    HISTORY_EXPIRED,
    STREAM_RESTARTED,
    EventStreams,
    StreamMessage,
    is_valid_id,
    parse_id,
)
from server.reads.cache import ReadCache

log = logging.getLogger("matchday.hub")
READ_BLOCK_MS = 5_000
# Live events that change what GET /events/{id}, its teams or games answer.
READ_CHANGES = frozenset({"score", "game", "correction"})
MAX_BACKOFF_SECONDS = 2.0


def _reason(reason: str) -> str:
    return json.dumps({"reason": reason}, separators=(",", ":"))


class HubFull(Exception):
    """The process holds as many streams as it may (503)."""


class TooManyFromAddress(Exception):
    """This client address holds as many streams as it may (429)."""


class StreamHub:
    def __init__(
        self,
        streams: EventStreams,
        cache: StandingsCache,
        *,
        heartbeat_seconds: float,
        retry_ms: int,
        max_connections: int,
        max_per_ip: int,
        read_cache: ReadCache | None = None,
    ) -> None:
        self.streams = streams
        self.cache = cache
        self.read_cache = read_cache
        self.heartbeat_seconds = heartbeat_seconds
        self.retry_ms = retry_ms
        self.max_connections = max_connections
        self.max_per_ip = max_per_ip
        self.clients: dict[int, set[SseClient]] = defaultdict(set)
        self.per_ip: Counter[str] = Counter()
        self.positions: dict[int, str] = {}
        self.count = 0
        self._changed = asyncio.Event()
        self._frozen_at = 0  # streams open when the garbage collector last froze the heap
        self._empty = asyncio.Event()
        self._empty.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._watched: set[int] = set()  # events now in the spectators gauge
        # A fresh stream starts after the event's newest message. Thousands arriving at
        # kick-off share one pipelined lookup per batch instead of a Redis command (and,
        # at once, a Redis connection) each.
        self._last_ids: BatchedLookup[int, str] = BatchedLookup(self._newest_ids)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._read_loop()),
            loop.create_task(self._heartbeat_loop()),
        ]

    # --- connections ---------------------------------------------------------------------

    def admit(self, ip: str) -> None:
        if self.count >= self.max_connections:
            raise HubFull
        if self.per_ip[ip] >= self.max_per_ip:
            raise TooManyFromAddress

    async def subscribe(self, client: SseClient, last_event_id: str | None) -> None:
        """Register, replay what the client missed, then go live with no gap or duplicate."""
        self.count += 1
        self._empty.clear()
        self.per_ip[client.ip] += 1
        metrics.SSE_CONNECTIONS.inc()
        self.clients[client.event_id].add(client)  # held messages queue up while we replay
        await self.follow(client.event_id)
        start = last_event_id if last_event_id and is_valid_id(last_event_id) else None
        if start is None and last_event_id:
            self._reset(client, "invalid_id")  # not a stream id: nothing to resume from
        elif start is None:
            client.last_sent = parse_id(await self._last_ids.get(client.event_id))
        else:
            await self._replay(client, start)
        client.go_live()
        client.schedule_ping(self.heartbeat_seconds)

    async def _newest_ids(self, event_ids: list[int]) -> list[str]:
        if len(event_ids) == 1:
            return [await self.streams.last_id(event_ids[0])]
        newest = await self.streams.last_ids(event_ids)
        return [newest[event_id] for event_id in event_ids]

    async def _replay(self, client: SseClient, after: str) -> None:
        metrics.SSE_RESUMES.inc()
        history = await self.streams.history(client.event_id, after)
        if history.reset:
            self._reset(client, history.reason or HISTORY_EXPIRED)
            return
        client.last_sent = parse_id(after)
        client.replay(history.messages)

    def _reset(self, client: SseClient, reason: str) -> None:
        metrics.SSE_RESETS.inc()
        client.write(control_frame("reset", _reason(reason)))

    def unsubscribe(self, client: SseClient, reason: str) -> None:
        subscribers = self.clients.get(client.event_id)
        if subscribers is None or client not in subscribers:
            return
        subscribers.discard(client)
        if not subscribers:
            del self.clients[client.event_id]
            self._maybe_unfollow(client.event_id)
        self.count -= 1
        if self.count == 0:
            self._empty.set()
        self.per_ip[client.ip] -= 1
        if self.per_ip[client.ip] <= 0:
            del self.per_ip[client.ip]
        metrics.SSE_CONNECTIONS.dec()
        metrics.SSE_DISCONNECTS.labels(reason).inc()

    # --- reading -------------------------------------------------------------------------

    async def follow(self, event_id: int) -> None:
        """Make the reader include this event's stream, from its newest id on."""
        if event_id in self.positions:
            return
        newest = await self.streams.last_id(event_id)
        if event_id not in self.positions:  # another caller may have won the await
            self.positions[event_id] = newest
            self._changed.set()
            await self.streams.interrupt()

    def _maybe_unfollow(self, event_id: int) -> None:
        if event_id not in self.clients and not self.cache.wants(event_id):
            self.positions.pop(event_id, None)

    async def _read_loop(self) -> None:
        backoff = 0.05
        check = False
        while True:
            if not self.positions:
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                if check:
                    await self._check_positions()
                    if not self.positions:  # the last follower left meanwhile: XREAD of none
                        continue  # is an error, and was logged as a failed read
                messages = await self.streams.read(dict(self.positions), READ_BLOCK_MS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # backend down or restarting: keep positions, retry
                metrics.STREAM_READ_ERRORS.inc()
                log.warning("stream read failed, retrying in %.2fs: %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                check = True  # it may come back without its data
                continue
            backoff = 0.05
            # A stream that vanished or went backwards reads as silence: look when idle.
            check = not messages
            for message in messages:
                self._dispatch(message)

    async def _check_positions(self) -> None:
        """Streams now behind our position were lost with the backend's data (or restored
        older): reading on from our position would wait in silence for their new ids to pass
        it. Tell their clients to refetch and follow from the stream's newest id."""
        positions = dict(self.positions)
        newest = await self.streams.last_ids(list(positions))
        for event_id, last in newest.items():
            ours = positions[event_id]
            if self.positions.get(event_id) == ours and parse_id(last) < parse_id(ours):
                self.positions[event_id] = last
                self._restart(event_id, parse_id(last))

    def _restart(
        self, event_id: int, since: tuple[int, int], first: tuple[int, int] | None = None
    ) -> None:
        """The event's stream began anew: what its clients were sent may miss messages lost
        with the old one, and the new stream's ids may be lower than theirs. `first`, the new
        stream's first id when known: a client already sent it or later (it subscribed while
        this reader was still backing off, and replayed the new stream's history) is fine."""
        log.warning("stream of event %s restarted: resetting its clients", event_id)
        data = _reason(STREAM_RESTARTED)
        for client in list(self.clients.get(event_id, ())):
            if first is not None and client.pending is None and client.last_sent >= first:
                continue
            if client.pending is not None:  # mid-replay, from either stream: resume by id
                client.write(control_frame("reconnect", data, retry_ms=self.retry_ms))
                client.close(STREAM_RESTARTED)
            elif client.last_sent != (0, 0):  # (0, 0): nothing of the old stream was sent
                self._reset(client, STREAM_RESTARTED)
                client.last_sent = since

    def _dispatch(self, message: StreamMessage) -> None:
        position_before = self.positions.get(message.event_id)
        if position_before is not None:
            self.positions[message.event_id] = message.id
        if message.created and position_before not in (None, "0-0"):
            # We followed an earlier stream.
            self._restart(message.event_id, (0, 0), first=parse_id(message.id))
        if message.kind == "standings":
            self.cache.apply(message)
        elif message.kind in READ_CHANGES and self.read_cache is not None:
            # Another process's change (on an event followed for its streams or standings):
            # its version bump already told us; this also covers a bump that failed.
            self.read_cache.forget(message.event_id)
        data = frame(message)
        position = parse_id(message.id)
        subscribers = list(self.clients.get(message.event_id, ()))
        sent = sum(client.deliver(message, data, position) for client in subscribers)
        metrics.SSE_MESSAGES_SENT.inc(sent)
        metrics.SSE_BROADCASTS.labels(message.kind).inc()
        metrics.SSE_DELIVERY_LAG.observe(max(0.0, time.time() - message.published_at))

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for subscribers in list(self.clients.values()):
                for client in list(subscribers):
                    if client.pending is None and client.next_ping <= now:
                        client.write(PING)
                        client.schedule_ping(self.heartbeat_seconds)
            self.cache.expire(now)
            if self.count > self._frozen_at * 1.1 + 100:
                # Long-lived streams out of the collector's sight: full collections then scan
                # only new objects, not ~100 per open stream (a 10,000-stream process otherwise
                # pauses for hundreds of milliseconds mid-broadcast).
                gc.freeze()
                self._frozen_at = self.count
            for event_id in list(self.positions):
                self._maybe_unfollow(event_id)
            self.publish_spectators()

    def publish_spectators(self) -> None:
        """The gauge of spectators per event, for this process's most watched events only
        (a bounded label set). An event that drops out is set to 0 before its label goes:
        in multiprocess mode the last value written would otherwise stay in the sum."""
        top = heapq.nlargest(
            metrics.SPECTATOR_TOP_EVENTS, self.clients.items(), key=lambda item: len(item[1])
        )
        watched = {event_id for event_id, _ in top}
        for event_id in self._watched - watched:
            metrics.SSE_SPECTATORS.labels(str(event_id)).set(0)
            metrics.SSE_SPECTATORS.remove(str(event_id))
        for event_id, subscribers in top:
            metrics.SSE_SPECTATORS.labels(str(event_id)).set(len(subscribers))
        self._watched = watched

    # --- shutdown ------------------------------------------------------------------------

    def drain(self) -> None:
        """Tell every client to reconnect (elsewhere) and end their streams."""
        goodbye = control_frame("reconnect", '{"reason":"server_shutdown"}', retry_ms=self.retry_ms)
        for subscribers in list(self.clients.values()):
            for client in list(subscribers):
                client.write(goodbye)
                client.close("drain")

    async def emptied(self) -> None:
        """Wait until every stream has ended (after drain())."""
        await self._empty.wait()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
