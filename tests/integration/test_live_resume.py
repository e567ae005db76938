"""Resuming a live stream across a discontinuity: Redis lost its data (wiped, or restarted
without persistence), the in-process streams of a new process, or an id the stream never
had. The client is told `reset` (and refetches) instead of silently missing events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from server.live.memory_streams import MemoryStreams
from server.live.redis_streams import RedisStreams
from server.live.streams import EventStreams, parse_id, stream_key
from tests.integration.test_live import (
    Live,
    free_port,
    league,
    schedule,
    score,
    settle,
    start_redis,
    stop,
)
from tests.sse_client import SseMessage, SseStream
from tests.support import Api

# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
async def production(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    launcher = Live(request, tmp_path, "production")
    yield launcher
    await launcher.close()


@pytest.fixture
async def embedded(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    launcher = Live(request, tmp_path, "embedded")
    yield launcher
    await launcher.close()


@asynccontextmanager
async def own_redis() -> AsyncIterator[tuple[str, aioredis.Redis]]:
    """A redis-server of the test's own (no persistence): wiping it touches nobody else."""
    port = free_port()
    process = await start_redis(port)
    url = f"redis://127.0.0.1:{port}/0"
    client = aioredis.from_url(url, decode_responses=True)
    try:
        yield url, client
    finally:
        await client.aclose()
        stop(process)


async def reset_reason(stream: SseStream, timeout: float = 5.0) -> str:
    """The first message must be `reset`: its reason."""
    first = await stream.next_event(timeout)
    assert first is not None and first.event == "reset", first
    assert first.id is None, first
    return str(first.json["reason"])


async def scores(stream: SseStream, count: int, timeout: float = 5.0) -> list[SseMessage]:
    got = await stream.events(count, timeout)
    assert all(m.event == "score" for m in got), got
    return got


def homes(messages: list[SseMessage]) -> list[int]:
    return [m.json["home_score"] for m in messages]


class Match:
    """One league with one game whose home score goes up by one per post."""

    def __init__(self, api: Api, token: str, game: int) -> None:
        self.api, self.token, self.game, self.home = api, token, game, 0

    @classmethod
    async def create(cls, api: Api) -> tuple[Match, int]:
        token = await api.user("owner@example.com")
        ev, _teams = await league(api, token, 2)
        game = (await schedule(api, token, ev))[0]["id"]
        return cls(api, token, game), ev

    async def bump(self, times: int = 1) -> None:
        for _ in range(times):
            self.home += 1
            await score(self.api, self.token, self.game, self.home, 0)


# --- Redis lost its data ---------------------------------------------------------------------


@pytest.mark.postgres
async def test_redis_wiped_resume_from_before_resets_and_open_streams_are_told(
    production: Live,
) -> None:
    async with own_redis() as (url, redis):
        app, api = await production.start(redis_url=url)
        match, ev = await Match.create(api)
        await settle(app)
        path = f"/api/v1/events/{ev}/stream"
        across = await production.open(api, path)  # stays open through the wipe
        await match.bump(5)
        before = await scores(across, 5)

        await redis.flushall()  # Redis lost everything: the stream begins anew
        await match.bump(3)

        # An open stream is told, then goes on with the new stream: nothing new is missed.
        assert await reset_reason(across, timeout=10) == "stream_restarted"
        after = await scores(across, 3)
        assert homes(after) == [6, 7, 8]

        # Ids from before the wipe are older than the recreated stream, which was never
        # trimmed: history cannot be replayed from them.
        resumed = []
        for old in (before[0].id, before[-1].id):
            stream = await production.open(api, path, {"Last-Event-ID": old or ""})
            assert stream.status == 200, stream.body
            assert await reset_reason(stream) == "stream_restarted"
            resumed.append(stream)

        # An id of the new stream still replays, with no gap and no duplicate.
        kept = await production.open(api, path + f"?last_event_id={after[0].id}")
        assert [m.id for m in await scores(kept, 2)] == [m.id for m in after[1:]]

        await match.bump()  # and every one of them goes on live
        for stream in (across, kept, *resumed):
            assert homes(await scores(stream, 1)) == [9]


@pytest.mark.postgres
async def test_stream_gone_entirely_resets_promptly_and_open_streams_are_told(
    production: Live,
) -> None:
    async with own_redis() as (url, redis):
        app, api = await production.start(redis_url=url)
        match, ev = await Match.create(api)
        await settle(app)
        path = f"/api/v1/events/{ev}/stream"
        across = await production.open(api, path)
        await match.bump(2)
        before = await scores(across, 2)

        await redis.flushall()  # nothing is published afterwards: the stream is just gone
        started = time.monotonic()
        resumed = await production.open(api, path, {"Last-Event-ID": before[-1].id or ""})
        assert await reset_reason(resumed, timeout=3) == "stream_restarted"
        assert time.monotonic() - started < 3
        # The open stream's reader finds its stream gone when it next idles (READ_BLOCK_MS).
        assert await reset_reason(across, timeout=12) == "stream_restarted"

        fresh = await production.open(api, path)  # opened after the wipe: nothing to reset
        await until_followed(fresh)
        await match.bump()
        for stream in (across, resumed, fresh):
            assert homes(await scores(stream, 1)) == [3]


@pytest.mark.postgres
async def test_stream_restored_with_older_ids_resets_open_streams(production: Live) -> None:
    # Ids come from Redis' clock: a stream restored older, or recreated by a Redis whose clock
    # is behind, has ids below an open stream's position. Reading on from there would return
    # nothing until the new ids passed it; the reader notices the stream went backwards.
    async with own_redis() as (url, redis):
        app, api = await production.start(redis_url=url)
        match, ev = await Match.create(api)
        await settle(app)
        path = f"/api/v1/events/{ev}/stream"
        across = await production.open(api, path)
        await match.bump(2)
        before = await scores(across, 2)

        await redis.flushall()
        key = stream_key(app.config.redis_key_prefix, ev)
        older = parse_id(before[0].id or "")[0] - 60_000
        for seq in range(3):
            game = {"id": match.game, "home_score": 100 + seq}
            await redis.xadd(key, {"kind": "score", "data": json.dumps(game)}, f"{older}-{seq}")

        assert await reset_reason(across, timeout=12) == "stream_restarted"
        resumed = await production.open(api, path, {"Last-Event-ID": before[-1].id or ""})
        assert await reset_reason(resumed) == "unknown_id"  # newer than the whole stream
        await match.bump()
        for stream in (across, resumed):
            assert homes(await scores(stream, 1)) == [3]


async def until_followed(stream: SseStream) -> None:
    """The stream's first line arrived: the hub has registered it."""
    first = await stream.next()
    assert first is not None and first.retry is not None, first


# --- in-process streams: a new process -------------------------------------------------------


async def test_ids_from_a_previous_process_reset_on_in_process_streams(embedded: Live) -> None:
    app, api = await embedded.start()
    match, ev = await Match.create(api)
    await settle(app)
    path = f"/api/v1/events/{ev}/stream"
    stream = await embedded.open(api, path)
    await match.bump(3)
    before = await scores(stream, 3)
    database = app.config.database_url
    await embedded.stop(app)

    # The same database, a new process: its in-process streams start empty.
    app, api = await embedded.start(DATABASE_URL=database)
    match.api = api
    gone = await embedded.open(api, path, {"Last-Event-ID": before[-1].id or ""})
    assert await reset_reason(gone) == "stream_restarted"  # no stream here at all

    await match.bump(2)
    await settle(app)
    for old in (before[0].id, before[-1].id):  # older than this process' stream
        resumed = await embedded.open(api, path, {"Last-Event-ID": old or ""})
        assert await reset_reason(resumed) == "stream_restarted"
    current = await scores(gone, 2)
    assert homes(current) == [4, 5]

    kept = await embedded.open(api, path, {"Last-Event-ID": current[0].id or ""})
    assert [m.id for m in await scores(kept, 1)] == [current[1].id]
    at_last = await embedded.open(api, path, {"Last-Event-ID": current[1].id or ""})
    ahead = parse_id(current[1].id or "")[0] + 60_000
    newer = await embedded.open(api, path, {"Last-Event-ID": f"{ahead}-0"})
    assert await reset_reason(newer) == "unknown_id"
    await match.bump()
    for each in (gone, kept, at_last, newer):  # at its last id: no reset, just live
        assert homes(await scores(each, 1)) == [6]


# --- both EventStreams: what history() says about an id ---------------------------------------


@pytest.fixture(params=["memory", "redis"])
async def streams(request: pytest.FixtureRequest) -> AsyncIterator[EventStreams]:
    if request.param == "memory":
        yield MemoryStreams(history_length=3)
        return
    async with own_redis() as (url, _redis):
        backend = RedisStreams(url, history_length=3, prefix="resume:")
        try:
            yield backend
        finally:
            await backend.close()


async def test_history_replays_only_from_an_id_the_stream_has(streams: EventStreams) -> None:
    published = [await streams.publish(7, "score", json.dumps({"n": n})) for n in range(2)]
    await asyncio.sleep(0.002)  # the next id is in a later millisecond: a gap before it
    published.append(await streams.publish(7, "score", json.dumps({"n": 2})))
    first, middle, last = (parse_id(each or "") for each in published)

    replay = await streams.history(7, published[0] or "")
    assert (replay.reset, [m.id for m in replay.messages]) == (False, published[1:])
    at_last = await streams.history(7, published[2] or "")
    assert (at_last.reset, at_last.messages) == (False, [])
    everything = await streams.history(7, "0-0")
    assert [m.id for m in everything.messages] == published
    assert [m.created for m in everything.messages] == [True, False, False]

    cases = {
        f"{first[0] - 1}-0": "stream_restarted",  # before a stream that was never trimmed
        f"{last[0] + 1}-0": "unknown_id",  # newer than the stream
        f"{middle[0]}-{middle[1] + 1}": "unknown_id",  # in its range, but not one of its ids
    }
    for after, reason in cases.items():
        history = await streams.history(7, after)
        assert (history.reset, history.reason, history.messages) == (True, reason, []), after

    nothing = await streams.history(8, f"{first[0]}-0")  # no stream at all
    assert (nothing.reset, nothing.reason) == (True, "stream_restarted")
    assert (await streams.history(8, "0-0")).reset is False

    for n in range(300):  # trimmed: the oldest ids are gone (Redis trims whole nodes)
        await streams.publish(7, "score", json.dumps({"n": n}))
    for after in (published[0] or "", "0-0"):
        expired = await streams.history(7, after)
        assert (expired.reset, expired.reason) == (True, "history_expired")
    assert await streams.last_ids([7, 8]) == {7: await streams.last_id(7), 8: "0-0"}
