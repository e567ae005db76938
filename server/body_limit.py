"""Request body limits, enforced from the headers: API.md's "a body over the limit is 413
whatever its size, before it is read".

Tornado's own limit (HTTPServer's max_body_size) answers an oversize body with a bare 400 or a
dropped connection. Instead the application wraps every routed request in a `BodyLimit`
delegate (MatchdayApp.get_handler_delegate) which

- answers 413 with the contract's JSON error from the declared `Content-Length`, before any
  byte of the body is read, and for a chunked body as soon as the bytes received pass the limit;
- then closes the connection cleanly: the answer says `Connection: close`, the rest of the body
  is read and dropped until the client closes, or for at most LINGER_SECONDS (closing a socket
  that still has unread data makes the kernel send a reset, and a client still sending its
  body would lose the answer), then the server closes.

The limit is the handler's: `body_limit_setting` names the Settings field
(`max_json_body_bytes` by default; the CSV import: `max_upload_bytes`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from tornado import httputil
from tornado.concurrent import Future
from tornado.http1connection import HTTP1Connection
from tornado.web import RequestHandler

from server.base import BaseHandler, header_value
from server.errors import ApiError

if TYPE_CHECKING:
    from config.settings import Settings

LINGER_SECONDS = 5.0  # longest a refused body is drained before the socket is closed
NO_LIMIT = sys.maxsize  # Tornado's own check gives way to ours
ALL_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def body_limit(handler_class: type[RequestHandler], config: Settings) -> tuple[int, str]:
    """The largest body `handler_class` accepts, and the name of the setting that says so."""
    setting: str = getattr(handler_class, "body_limit_setting", "max_json_body_bytes")
    return int(getattr(config, setting)), setting.upper()


class BodyTooLargeHandler(BaseHandler):
    """Answers 413 on any route, for any method, without reading the body."""

    public_methods = ALL_METHODS

    def initialize(self, limit: int = 0, setting: str = "") -> None:
        super().initialize()
        self.limit, self.setting = limit, setting

    async def prepare(self) -> None:
        await self.limit_address()  # refused floods count against the address too
        raise ApiError(413, f"request body larger than {self.limit} bytes ({self.setting})")


class _HeldConnection(httputil.HTTPConnection):
    """The request's connection while a refusal is answered: the answer goes out at once (with
    `Connection: close`), but finishing the exchange is left to BodyLimit, after draining."""

    def __init__(self, real: HTTP1Connection, answered: Callable[[], None]) -> None:
        self.real = real
        self._answered = answered
        self.last_write: Future[None] | None = None

    def write_headers(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
        chunk: bytes | None = None,
    ) -> Future[None]:
        headers["Connection"] = "close"
        self.last_write = self.real.write_headers(start_line, headers, chunk)
        return self.last_write

    def write(self, chunk: bytes) -> Future[None]:
        self.last_write = self.real.write(chunk)
        return self.last_write

    def finish(self) -> None:
        self._answered()

    def __getattr__(self, name: str) -> Any:  # set_close_callback, context, stream…
        return getattr(self.real, name)


class BodyLimit(httputil.HTTPMessageDelegate):
    """Passes a request through to its handler's delegate unless the body is over the limit.

    A streaming handler (@stream_request_body) has already started when a chunked body passes
    the limit: it is given the chunk that passes it, then the end of the body, and answers 413
    itself (it counts its body against the same setting: see handlers/imports.py)."""

    # The state of a request that is not refused, as class defaults: one of these is made for
    # every request, and most of them never change any of it.
    received = 0
    started = False  # the inner delegate has seen the headers
    held: _HeldConnection | None = None
    answered = body_done = gone = False
    _linger: asyncio.TimerHandle | None = None

    def __init__(
        self,
        request: httputil.HTTPServerRequest,
        connection: HTTP1Connection,
        inner: httputil.HTTPMessageDelegate,
        limit: int,
        refusal: Callable[[], httputil.HTTPMessageDelegate],
    ) -> None:
        self.request = request
        self.connection = connection
        self.inner = inner
        self.limit = limit
        self._refusal = refusal

    @property
    def refused(self) -> bool:
        return self.held is not None

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Awaitable[None] | None:
        self.connection.set_max_body_size(NO_LIMIT)  # our limit, per route, replaces Tornado's
        declared = header_value(headers, "Content-Length")
        if declared.isdigit() and int(declared) > self.limit:
            # Refused from the headers: no "100 Continue" invites the client to send it.
            headers.pop("Expect", None)
            self._refuse()
            return None
        self.started = True
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.refused:
            return None  # drained and dropped
        self.received += len(chunk)
        if self.received <= self.limit:
            return self.inner.data_received(chunk)
        if self.started and getattr(self.inner, "stream_request_body", False):
            result = self.inner.data_received(chunk)  # the handler sees the limit passed
            self._refuse(streaming=True)
            return result
        self._refuse()
        return None

    def finish(self) -> None:
        if not self.refused:
            self.inner.finish()
            return
        self.body_done = True
        if self.answered:
            self._close()

    def on_connection_close(self) -> None:
        self.gone = True
        self._cancel_linger()
        self.inner.on_connection_close()

    # --- refusing ------------------------------------------------------------------------

    def _refuse(self, *, streaming: bool = False) -> None:
        self.held = _HeldConnection(self.connection, self._on_answered)
        self.request.connection = self.held
        if not streaming:
            # A non-streaming handler has not been created yet: answer with the refusal
            # handler instead (the body so far is dropped with the old delegate).
            self.inner = self._refusal()
        self.inner.finish()  # runs the refusal handler, or ends the streaming handler's body

    def _on_answered(self) -> None:
        self.answered = True
        if self.gone:
            return
        if self.body_done:
            self._close()
            return
        loop = asyncio.get_running_loop()
        self._linger = loop.call_later(LINGER_SECONDS, self._close)

    def _close(self) -> None:
        """Finish the exchange and close the connection once the answer is written."""
        self._cancel_linger()
        held = self.held
        if held is None or self.gone:
            return
        self.gone = True
        real = held.real
        real.finish()  # with the body unread, Tornado closes the connection after the answer
        if self.body_done:  # read to the end, Tornado would wait for another request
            last = held.last_write
            if last is None or last.done():
                real.close()
            else:
                last.add_done_callback(lambda _: real.close())

    def _cancel_linger(self) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None


def limit_body(
    request: httputil.HTTPServerRequest,
    delegate: httputil.HTTPMessageDelegate,
    limit: int,
    refusal: Callable[[], httputil.HTTPMessageDelegate],
) -> httputil.HTTPMessageDelegate:
    """`delegate` behind the body limit (HTTP/1 connections; others keep Tornado's limit)."""
    if not isinstance(request.connection, HTTP1Connection):
        return delegate
    return BodyLimit(request, request.connection, delegate, limit, refusal)
