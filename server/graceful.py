"""An HTTPServer that knows which connections owe a response, for the SIGTERM drain.

A connection is *busy* from the moment a request's headers arrive until its response is
finished, and *idle* otherwise (a keep-alive connection waiting for its next request). The
drain (server/cli.py) closes idle connections at once and lets busy ones finish their
response before closing them, so no request that reached the process goes unanswered.

Tornado's per-connection loop calls ``start_request`` for each request it is about to read,
only after the previous response has been written: that call is the end of the previous
request. Streams (SSE) count as busy too; the hub ends them at the start of the drain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from tornado import httputil
from tornado.http1connection import HTTP1ServerConnection
from tornado.httpserver import HTTPServer


class DrainingHTTPServer(HTTPServer):
    def initialize(self, *args: Any, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self._open: set[HTTP1ServerConnection] = set()
        self._busy: set[HTTP1ServerConnection] = set()
        self._quiet = asyncio.Event()  # set while no connection is busy
        self._quiet.set()
        self._draining = False

    @property
    def busy(self) -> int:
        """How many requests are being served (their response is not finished)."""
        return len(self._busy)

    def finish_requests(self) -> None:
        """Close idle connections now, and every other one once its response is written.
        Call after stop(): nothing new is accepted."""
        self._draining = True
        for conn in self._open - self._busy:
            conn.stream.close()  # its loop ends and on_close() forgets it

    async def quieted(self) -> None:
        """Wait until no request is being served."""
        await self._quiet.wait()

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        conn = cast(HTTP1ServerConnection, server_conn)
        self._open.add(conn)
        self._set_idle(conn)  # the previous response on this connection, if any, is done
        if self._draining:
            conn.stream.close()  # answered; no further requests on it while shutting down
        delegate = super().start_request(server_conn, request_conn)
        return _Tracked(delegate, lambda: self._set_busy(conn))

    def on_close(self, server_conn: object) -> None:
        super().on_close(server_conn)
        conn = cast(HTTP1ServerConnection, server_conn)
        self._open.discard(conn)
        self._set_idle(conn)  # closed mid-request: there is nobody left to answer

    def _set_busy(self, conn: HTTP1ServerConnection) -> None:
        self._busy.add(conn)
        self._quiet.clear()

    def _set_idle(self, conn: HTTP1ServerConnection) -> None:
        self._busy.discard(conn)
        if not self._busy:
            self._quiet.set()


class _Tracked(httputil.HTTPMessageDelegate):
    """Passes everything through; tells the server when a request's headers have arrived."""

    def __init__(
        self, delegate: httputil.HTTPMessageDelegate, on_request: Callable[[], None]
    ) -> None:
        self.delegate = delegate
        self.on_request = on_request

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Any:
        self.on_request()
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        self.delegate.finish()

    def on_connection_close(self) -> None:
        self.delegate.on_connection_close()
