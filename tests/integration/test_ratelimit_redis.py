"""The Redis rate-limit backend (one Lua script on the real Redis) decides exactly like the
in-memory one, request by request, when both read the same clock: what production counts in
Redis is what the embedded default counts in memory, which the unit tests pin down."""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from config.limits import Rate
from server.ratelimit import CONSUME, PEEK, REFUND, MemoryBackend, RedisBackend
from tests.support import REDIS_URL, Clock, delete_redis_keys

RATES = [Rate(5, 10), Rate(3, 1), Rate(1, 60)]

operations = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=4_000),  # milliseconds since the previous one
        st.sampled_from(["a", "b"]),
        st.sampled_from([CONSUME, CONSUME, CONSUME, PEEK, REFUND]),
    ),
    min_size=1,
    max_size=40,
)


async def both_backends(steps: list[tuple[int, str, int]], rate: Rate) -> None:
    clock = Clock(0.0)
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    memory, redis = MemoryBackend(clock), RedisBackend(REDIS_URL, prefix, clock=clock)
    try:
        for advance_ms, key, cost in steps:
            clock.advance(advance_ms / 1000)
            expected = await memory.hit(key, rate, cost)
            assert await redis.hit(key, rate, cost) == expected, (clock.now, key, cost)
    finally:
        await redis.close()
        await delete_redis_keys(prefix)


@settings(max_examples=40, deadline=None)
@given(steps=operations, rate=st.sampled_from(RATES))
def test_redis_and_memory_backends_decide_alike(steps: list[tuple[int, str, int]], rate: Rate):
    asyncio.run(both_backends(steps, rate))


async def test_without_a_clock_redis_counts_by_its_own_time() -> None:
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    redis = RedisBackend(REDIS_URL, prefix)
    try:
        decisions = [await redis.hit("k", Rate(2, 3600)) for _ in range(3)]
        assert [d.allowed for d in decisions] == [True, True, False]
        assert 0 < decisions[-1].retry_after <= 2 * 3600
    finally:
        await redis.close()
        await delete_redis_keys(prefix)
