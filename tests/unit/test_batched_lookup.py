"""Concurrent lookups share a round trip, and none is answered from before it was asked."""

from __future__ import annotations

import asyncio

import pytest

from server.batched_lookup import BatchedLookup


class Store:
    def __init__(self) -> None:
        self.values = {"a": 1, "b": 2}
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def fetch(self, keys: list[str]) -> list[int]:
        self.batches.append(keys)
        snapshot = [self.values[key] for key in keys]  # read as the round trip begins
        await self.release.wait()
        return snapshot


async def test_concurrent_lookups_share_one_fetch() -> None:
    store = Store()
    lookup = BatchedLookup(store.fetch)
    found = await asyncio.gather(*(lookup.get(key) for key in "abab"))
    assert found == [1, 2, 1, 2]
    assert store.batches == [["a", "b"]]


async def test_a_lookup_during_a_fetch_waits_for_a_fetch_that_began_after_it() -> None:
    store = Store()
    store.release.clear()
    lookup = BatchedLookup(store.fetch)
    early = asyncio.ensure_future(lookup.get("a"))
    while not store.batches:  # until the first fetch is in flight, its value read
        await asyncio.sleep(0)
    store.values["a"] = 10  # a change committed, then a caller asks
    late = asyncio.ensure_future(lookup.get("a"))
    await asyncio.sleep(0)
    store.release.set()
    assert await early == 1
    assert await late == 10, "answered from a read that began before it asked"
    assert store.batches == [["a"], ["a"]]


async def test_a_failed_fetch_reaches_its_callers_and_the_next_batch_still_runs() -> None:
    calls = 0

    async def flaky(keys: list[str]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("away")
        return [7 for _ in keys]

    lookup = BatchedLookup(flaky)
    with pytest.raises(ConnectionError):
        await lookup.get("a")
    assert await lookup.get("a") == 7
