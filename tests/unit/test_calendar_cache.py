"""The rendered-feed cache (server/calendar/cache.py): one rendering per feed version, however
many calendar apps ask at once, within its size bound."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from server.calendar.cache import RenderedFeeds


async def test_a_feed_is_rendered_once_for_every_concurrent_request() -> None:
    feeds = RenderedFeeds(1_000)
    calls = 0
    gate = asyncio.Event()

    async def render() -> bytes:
        nonlocal calls
        calls += 1
        await gate.wait()
        return b"BEGIN:VCALENDAR"

    waiting = [asyncio.create_task(feeds.body('"a"', render)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == [b"BEGIN:VCALENDAR"] * 5
    assert await feeds.body('"a"', render) == b"BEGIN:VCALENDAR"
    assert calls == 1


async def test_a_failed_rendering_reaches_its_waiters_and_is_not_kept() -> None:
    feeds = RenderedFeeds(1_000)
    gate = asyncio.Event()

    async def broken() -> bytes:
        await gate.wait()
        raise RuntimeError("boom")

    waiting = [asyncio.create_task(feeds.body('"a"', broken)) for _ in range(2)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)

    async def fixed() -> bytes:
        return b"ok"

    assert await feeds.body('"a"', fixed) == b"ok"


async def test_the_least_recently_served_feed_goes_first() -> None:
    feeds = RenderedFeeds(10)

    def body(data: bytes) -> Callable[[], Awaitable[bytes]]:
        async def render() -> bytes:
            return data

        return render

    await feeds.body("a", body(b"aaaa"))
    await feeds.body("b", body(b"bbbb"))
    await feeds.body("a", body(b"XXXX"))  # served from the cache: now the most recent
    await feeds.body("c", body(b"cccc"))  # over 10 bytes: "b" goes
    assert feeds.size == 8
    assert await feeds.body("a", body(b"new")) == b"aaaa"
    assert await feeds.body("b", body(b"new")) == b"new"
    assert await feeds.body("big", body(b"x" * 11)) == b"x" * 11  # too big: served...
    assert await feeds.body("big", body(b"again")) == b"again"  # ...but not kept
    assert feeds.size == 8
