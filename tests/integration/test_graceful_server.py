"""DrainingHTTPServer (server/graceful.py) on a bare Tornado app: which connections the SIGTERM
drain closes at once, and which it lets finish their response first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import tornado.web
from tornado.testing import bind_unused_port

from server.graceful import DrainingHTTPServer


class SlowHandler(tornado.web.RequestHandler):
    def initialize(self, release: asyncio.Event) -> None:
        self.release = release

    async def get(self) -> None:
        await self.release.wait()
        self.write("done")


class FastHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("ok")


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture
async def draining() -> AsyncIterator[tuple[DrainingHTTPServer, int, asyncio.Event]]:
    release = asyncio.Event()
    app = tornado.web.Application(
        [(r"/slow", SlowHandler, {"release": release}), (r"/fast", FastHandler)]
    )
    sock, port = bind_unused_port()
    http = DrainingHTTPServer(app)
    http.add_sockets([sock])
    yield http, port, release
    http.stop()
    await http.close_all_connections()


async def _send(port: int, path: str, conn: Connection | None = None) -> Connection:
    reader, writer = conn or await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def _response(reader: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head.split(b"\r\n")[0] + b" " + await reader.readexactly(length)


async def test_idle_connections_close_at_once_busy_ones_after_their_response(
    draining: tuple[DrainingHTTPServer, int, asyncio.Event],
) -> None:
    http, port, release = draining
    idle = await _send(port, "/fast")
    assert await _response(idle[0]) == b"HTTP/1.1 200 OK ok"
    busy = await _send(port, "/slow")
    while http.busy == 0:  # the slow request's headers have arrived
        await asyncio.sleep(0.01)
    quieted = asyncio.ensure_future(http.quieted())

    http.stop()
    http.finish_requests()
    assert await asyncio.wait_for(idle[0].read(), 5) == b""  # closed, unasked
    await asyncio.sleep(0.1)
    assert http.busy == 1 and not quieted.done()

    release.set()
    assert await _response(busy[0]) == b"HTTP/1.1 200 OK done"  # answered in full
    assert await asyncio.wait_for(busy[0].read(), 5) == b""  # then closed
    await asyncio.wait_for(quieted, 5)
    assert http.busy == 0
    for _, writer in (idle, busy):
        writer.close()


async def test_a_request_whose_client_left_does_not_hold_the_drain(
    draining: tuple[DrainingHTTPServer, int, asyncio.Event],
) -> None:
    http, port, _release = draining
    _, writer = await _send(port, "/slow")
    while http.busy == 0:
        await asyncio.sleep(0.01)
    writer.close()  # nobody is left to answer
    await asyncio.wait_for(http.quieted(), 5)
    assert http.busy == 0


async def test_connections_waiting_too_long_for_headers_are_closed_busy_ones_are_not() -> None:
    """The headers timeout (Tornado's idle_connection_timeout), kept by one sweep per server
    instead of a timer per request: a client that never finishes its headers (slowloris) and
    a keep-alive connection left idle are closed after it; a request being served is not."""
    release = asyncio.Event()
    app = tornado.web.Application(
        [(r"/slow", SlowHandler, {"release": release}), (r"/fast", FastHandler)]
    )
    sock, port = bind_unused_port()
    http = DrainingHTTPServer(app, idle_connection_timeout=0.4)
    http.add_sockets([sock])
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        slowloris = await asyncio.open_connection("127.0.0.1", port)
        slowloris[1].write(b"GET /fast HTTP/1.1\r\nHost: te")  # the headers never end
        idle = await _send(port, "/fast")
        assert await _response(idle[0]) == b"HTTP/1.1 200 OK ok"
        busy = await _send(port, "/slow")

        assert await asyncio.wait_for(slowloris[0].read(), 5) == b""  # closed by the server
        assert await asyncio.wait_for(idle[0].read(), 5) == b""
        assert 0.4 <= loop.time() - started < 4
        await asyncio.sleep(0.5)  # past the timeout, still being served
        assert http.busy == 1
        release.set()
        assert await _response(busy[0]) == b"HTTP/1.1 200 OK done"
        for _, writer in (slowloris, idle, busy):
            writer.close()
    finally:
        http.stop()
        await http.close_all_connections()
