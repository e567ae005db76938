"""Concurrent lookups of keys shared as one round trip, never answered from before they asked.

A lookup that arrives while a batch is in flight waits for the next batch, which is sent
after it arrived: so a caller never gets a value read before its call (what the read cache's
version check and a new stream's starting point both rely on). Under load, thousands of
callers share a handful of round trips; alone, a caller pays one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchedLookup(Generic[K, V]):
    def __init__(self, fetch: Callable[[list[K]], Awaitable[Sequence[V]]]) -> None:
        """`fetch(keys)` returns the values in the keys' order; an exception it raises
        reaches every caller of that batch (no retry here)."""
        self._fetch = fetch
        self._queued: dict[K, list[asyncio.Future[V]]] = {}
        self._flushing = False

    async def get(self, key: K) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._queued.setdefault(key, []).append(future)
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, {}
                try:
                    values = await self._fetch(list(batch))
                except Exception as exc:
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for futures, value in zip(batch.values(), values, strict=True):
                    for future in futures:
                        if not future.done():
                            future.set_result(value)
        finally:
            self._flushing = False
