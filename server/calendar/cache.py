"""Rendered feeds, kept by ETag: calendar apps poll, and a season takes a while to render.

icalendar builds each entry from Python objects (see docs/calendar.md for what a season
costs), so the rendering runs in the blocking runner, once per version of a feed: the ETag
is a digest of everything the rendering reads (feed.etag), so bytes stored under it stay
right until the data changes, and the ETag with it (no invalidation needed). Requests for a
feed that is being rendered wait for that rendering instead of starting another. Used on the
event loop only; bounded by total size, least recently served out first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable


class RenderedFeeds:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._rendering: dict[str, asyncio.Future[bytes]] = {}

    async def body(self, etag: str, render: Callable[[], Awaitable[bytes]]) -> bytes:
        """The feed's bytes: kept ones, the ones being rendered, or `render()`'s."""
        kept = self._bodies.get(etag)
        if kept is not None:
            self._bodies.move_to_end(etag)
            return kept
        pending = self._rendering.get(etag)
        if pending is not None:
            return await asyncio.shield(pending)  # one waiter leaving cancels no one
        pending = self._rendering[etag] = asyncio.get_running_loop().create_future()
        try:
            body = await render()
        except Exception as exc:
            pending.set_exception(exc)
            pending.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        except BaseException:  # cancelled: the waiters are, too
            pending.cancel()
            raise
        finally:
            del self._rendering[etag]
        pending.set_result(body)
        self._keep(etag, body)
        return body

    def _keep(self, etag: str, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        self._bodies[etag] = body
        self.size += len(body)
        while self.size > self.max_bytes:
            _, dropped = self._bodies.popitem(last=False)
            self.size -= len(dropped)
