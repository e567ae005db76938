"""The `EventStreams` contract, run against both implementations: the in-process
`MemoryStreams` of the embedded default and `RedisStreams` on the real Redis (each test under
its own key prefix, removed afterwards). Handlers and the hub never know which one they have,
so whatever one does here the other must do too."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from models.stream_protocol import STREAM_ID
from server.live.memory_streams import MemoryStreams
from server.live.redis_streams import RedisStreams
from server.live.streams import EventStreams, History, StreamMessage, parse_id
from tests.support import REDIS_URL, delete_redis_keys, eventually

HISTORY = 5
EVENT, OTHER = 101, 202


@pytest.fixture(params=["memory", "redis"])
async def streams(request: pytest.FixtureRequest) -> AsyncIterator[EventStreams]:
    if request.param == "memory":
        memory = MemoryStreams(history_length=HISTORY)
        yield memory
        await memory.close()
        return
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    redis = RedisStreams(REDIS_URL, history_length=HISTORY, prefix=prefix)
    try:
        yield redis
    finally:
        await redis.close()
        await delete_redis_keys(prefix)


async def publish_many(streams: EventStreams, count: int, event_id: int = EVENT) -> list[str]:
    ids = []
    for n in range(count):
        message_id = await streams.publish(event_id, "score", f'{{"n":{n}}}')
        assert message_id is not None
        ids.append(message_id)
    return ids


def numbers(messages: list[StreamMessage]) -> list[int]:
    return [int(m.data.removeprefix('{"n":').removesuffix("}")) for m in messages]


# --- ids -------------------------------------------------------------------------------------


async def test_ids_are_monotonic_ms_seq_ids_that_say_when(streams: EventStreams) -> None:
    before = time.time()
    ids = await publish_many(streams, 20)  # many within one millisecond: the seq part counts
    other = await publish_many(streams, 5, event_id=OTHER)
    after = time.time()
    for stream_ids in (ids, other):  # rising within each stream (Redis orders per stream)
        assert all(STREAM_ID.match(i) for i in stream_ids), stream_ids
        assert [parse_id(i) for i in stream_ids] == sorted({parse_id(i) for i in stream_ids})
    history = await streams.history(EVENT, "0-0")
    for message in history.messages:
        assert before - 1 <= message.published_at <= after + 1


async def test_last_id_is_0_0_then_the_newest(streams: EventStreams) -> None:
    assert await streams.last_id(EVENT) == "0-0"
    ids = await publish_many(streams, 3)
    assert await streams.last_id(EVENT) == ids[-1]
    assert await streams.last_id(OTHER) == "0-0"  # streams are per league event


# --- history ---------------------------------------------------------------------------------


async def test_history_after_an_id(streams: EventStreams) -> None:
    assert await streams.history(EVENT, "0-0") == History([])  # never published: no reset
    ids = await publish_many(streams, 4)
    await publish_many(streams, 2, event_id=OTHER)
    after_second = await streams.history(EVENT, ids[1])
    assert not after_second.reset
    assert [m.id for m in after_second.messages] == ids[2:]
    assert numbers(after_second.messages) == [2, 3]
    assert {(m.event_id, m.kind) for m in after_second.messages} == {(EVENT, "score")}
    assert [m.id for m in (await streams.history(EVENT, "0-0")).messages] == ids
    assert await streams.history(EVENT, ids[-1]) == History([])  # up to date: nothing, no reset


async def test_reset_when_the_id_is_older_than_the_kept_history(streams: EventStreams) -> None:
    # Redis trims with MAXLEN ~, a whole node (100 entries) at a time: publish well past that.
    ids = await publish_many(streams, 300)
    expired = History([], reset=True, reason="history_expired")
    assert await streams.history(EVENT, ids[0]) == expired
    assert await streams.history(EVENT, "0-0") == expired
    # An id inside the kept history (at least HISTORY long) still resumes exactly.
    inside = await streams.history(EVENT, ids[-HISTORY])
    assert not inside.reset and [m.id for m in inside.messages] == ids[-HISTORY + 1 :]
    # A resume is answered from the kept history only: bounded, whatever was published.
    kept = 0
    while not (await streams.history(EVENT, ids[-kept - 1])).reset:
        kept += 1
    assert HISTORY <= kept < 300 - 1  # Redis trims a whole node (100) at a time: a few more


# --- publish once ----------------------------------------------------------------------------


async def test_publish_once_with_a_dedupe_key(streams: EventStreams) -> None:
    first = await streams.publish(EVENT, "score", '{"n":0}', dedupe_key="outbox:1")
    assert first is not None
    again = await streams.publish(EVENT, "score", '{"n":0}', dedupe_key="outbox:1")
    assert again is None
    assert [m.id for m in (await streams.history(EVENT, "0-0")).messages] == [first]
    assert await streams.publish(EVENT, "score", '{"n":1}', dedupe_key="outbox:2") is not None
    assert await streams.publish(EVENT, "score", '{"n":2}') is not None  # no key: always
    assert await streams.publish(EVENT, "score", '{"n":3}') is not None
    assert numbers((await streams.history(EVENT, "0-0")).messages) == [0, 1, 2, 3]


# --- read ------------------------------------------------------------------------------------


async def test_read_returns_what_is_already_there_at_once(streams: EventStreams) -> None:
    ids = await publish_many(streams, 3)
    other = await publish_many(streams, 1, event_id=OTHER)
    found = await streams.read({EVENT: ids[0], OTHER: "0-0"}, block_ms=0)
    assert {(m.event_id, m.id) for m in found} == {
        (EVENT, ids[1]),
        (EVENT, ids[2]),
        (OTHER, other[0]),
    }


async def test_read_blocks_until_a_new_message(streams: EventStreams) -> None:
    start = await streams.last_id(EVENT)
    reader = asyncio.create_task(streams.read({EVENT: start}, block_ms=10_000))
    await asyncio.sleep(0)  # let it reach its wait; a publish before that is found as well
    assert not reader.done()
    published = await streams.publish(EVENT, "standings", '{"version":1}')
    found = await asyncio.wait_for(reader, 5)
    assert [(m.id, m.kind, m.data) for m in found] == [(published, "standings", '{"version":1}')]


async def test_read_gives_up_empty_after_its_block_time(streams: EventStreams) -> None:
    started = time.monotonic()
    assert await streams.read({EVENT: "0-0"}, block_ms=100) == []
    assert 0.05 < time.monotonic() - started < 5


async def test_interrupt_wakes_a_pending_read(streams: EventStreams) -> None:
    reader = asyncio.create_task(streams.read({EVENT: "0-0"}, block_ms=30_000))

    async def woken() -> bool:
        # The wake-up only reaches a read that is already waiting: repeat until one does.
        await streams.interrupt()
        await asyncio.sleep(0.02)
        return reader.done()

    started = time.monotonic()
    await eventually(woken, timeout=10)
    assert time.monotonic() - started < 10
    assert reader.result() == []
