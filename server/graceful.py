"""An HTTPServer that knows which connections owe a response, for the SIGTERM drain, and
closes those that wait too long for a request's headers.

A connection is *busy* from the moment a request's headers arrive until its response is
finished, and *idle* otherwise (a keep-alive connection waiting for its next request). The
drain (server/cli.py) closes idle connections at once and lets busy ones finish their
response before closing them, so no request that reached the process goes unanswered.

Tornado's per-connection loop calls ``start_request`` for each request it is about to read,
only after the previous response has been written: that call is the end of the previous
request. Streams (SSE) count as busy too; the hub ends them at the start of the drain.

Headers timeout (slow clients, "slowloris", and keep-alive connections left idle): Tornado
arms a timer for every request it reads (``idle_connection_timeout``, 3600 s by default), a
timer created and cancelled per request on the hot path. Here the same limit is kept by one
sweep per server instead: a connection idle for longer than the timeout is closed within
``sweep_seconds`` of it, and the sweep only runs while connections are open.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from tornado import httputil
from tornado.http1connection import HTTP1ServerConnection
from tornado.httpserver import HTTPServer

MAX_SWEEP_SECONDS = 30.0  # the default 3600 s timeout is kept to within 30 s


class DrainingHTTPServer(HTTPServer):
    def initialize(self, *args: Any, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        # Each open connection, and since when it waits for a request's headers.
        self._open: dict[HTTP1ServerConnection, float] = {}
        self._busy: set[HTTP1ServerConnection] = set()
        self._quiet = asyncio.Event()  # set while no connection is busy
        self._quiet.set()
        self._draining = False
        # Tornado's per-request timer is off (None); the sweep enforces the same timeout.
        self.header_timeout: float = self.conn_params.header_timeout or 3600.0
        self.conn_params.header_timeout = None
        self.sweep_seconds = min(self.header_timeout / 4, MAX_SWEEP_SECONDS)
        self._sweep_timer: asyncio.TimerHandle | None = None

    @property
    def busy(self) -> int:
        """How many requests are being served (their response is not finished)."""
        return len(self._busy)

    def finish_requests(self) -> None:
        """Close idle connections now, and every other one once its response is written.
        Call after stop(): nothing new is accepted."""
        self._draining = True
        for conn in self._open.keys() - self._busy:
            conn.stream.close()  # its loop ends and on_close() forgets it

    async def quieted(self) -> None:
        """Wait until no request is being served."""
        await self._quiet.wait()

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        conn = cast(HTTP1ServerConnection, server_conn)
        self._open[conn] = time.monotonic()  # waits for headers from now on
        self._set_idle(conn)  # the previous response on this connection, if any, is done
        if self._draining:
            conn.stream.close()  # answered; no further requests on it while shutting down
        if self._sweep_timer is None:
            loop = asyncio.get_running_loop()
            self._sweep_timer = loop.call_later(self.sweep_seconds, self._sweep)
        return _Tracked(super().start_request(server_conn, request_conn), self, conn)

    def on_close(self, server_conn: object) -> None:
        super().on_close(server_conn)
        conn = cast(HTTP1ServerConnection, server_conn)
        self._open.pop(conn, None)
        self._set_idle(conn)  # closed mid-request: there is nobody left to answer

    def _set_busy(self, conn: HTTP1ServerConnection) -> None:
        self._busy.add(conn)
        self._quiet.clear()

    def _set_idle(self, conn: HTTP1ServerConnection) -> None:
        self._busy.discard(conn)
        if not self._busy:
            self._quiet.set()

    def _sweep(self) -> None:
        """Close the connections that have waited longer than the timeout for headers."""
        self._sweep_timer = None
        waited_since = time.monotonic() - self.header_timeout
        for conn, since in list(self._open.items()):
            if since <= waited_since and conn not in self._busy:
                conn.stream.close()  # as Tornado's own timeout does; on_close() forgets it
        if self._open:
            loop = asyncio.get_running_loop()
            self._sweep_timer = loop.call_later(self.sweep_seconds, self._sweep)


class _Tracked(httputil.HTTPMessageDelegate):
    """Passes everything through; tells the server when a request's headers have arrived."""

    __slots__ = ("conn", "delegate", "server")

    def __init__(
        self,
        delegate: httputil.HTTPMessageDelegate,
        server: DrainingHTTPServer,
        conn: HTTP1ServerConnection,
    ) -> None:
        self.delegate = delegate
        self.server = server
        self.conn = conn

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Any:
        self.server._set_busy(self.conn)
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        self.delegate.finish()

    def on_connection_close(self) -> None:
        self.delegate.on_connection_close()
