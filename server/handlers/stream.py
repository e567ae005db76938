"""GET /api/v1/events/{id}/stream: live events as Server-Sent Events."""

from __future__ import annotations

import contextlib
import logging
from typing import cast

from tornado.http1connection import HTTP1Connection
from tornado.iostream import StreamClosedError

from server import metrics
from server.base import BaseHandler
from server.errors import ApiError
from server.live.hub import HubFull, TooManyFromAddress
from server.live.sse import SseClient
from server.openapi import Op, query_parameter, text_reply

log = logging.getLogger("matchday.stream")


class EventStreamHandler(BaseHandler):
    public_methods = frozenset({"GET"})
    openapi = {
        "get": Op(
            operation_id="streamEvent",
            summary="Live events (Server-Sent Events)",
            tag="games",
            responses={
                200: text_reply(
                    "text/event-stream",
                    "`text/event-stream`: a `retry:` line, then messages with `id:`, `event:` "
                    "(`score`, `correction`, `standings`, `game`) and one `data:` line of "
                    "JSON: for `score` and `game` a `Game` (team names included), for "
                    "`correction` `{game: Game, reason}`, for `standings` a `Standings`. "
                    "`: ping` comments keep it open. Control messages have no `id:`: "
                    "`reset` (refetch, then keep reading) when the stream cannot go on from "
                    "`Last-Event-ID` without a gap, or began anew under an open stream; its "
                    'data is `{"reason": ...}`: `history_expired` (older than the kept '
                    "history), `stream_restarted` (from before the stream was lost and begun "
                    "anew), `unknown_id` (an id the stream never had, e.g. newer than its "
                    "last), `invalid_id` (not a stream id). `reconnect` when the server shuts "
                    "down.",
                )
            },
            headers=("Last-Event-ID",),
            errors=(429, 503),
            extra={
                "parameters": [
                    query_parameter("last_event_id", "Same as the `Last-Event-ID` header"),
                    query_parameter(
                        "access_token",
                        "An access token, for clients (EventSource) that cannot send "
                        "`Authorization`; needed for private events",
                    ),
                ]
            },
            description="Replays every event after `Last-Event-ID` before going live, with no "
            "gap and no duplicate. 503 when the process is at its connection cap or shutting "
            "down, 429 past the per-address cap.",
        )
    }
    endpoint_limit = "sse_connect"  # connects per address; open streams: hub.admit
    streaming = True

    def initialize(self) -> None:
        super().initialize()
        self.client: SseClient | None = None

    def bearer_token(self) -> str | None:
        # EventSource cannot set headers: private events may pass ?access_token= instead.
        return super().bearer_token() or self.get_query_argument("access_token", None) or None

    async def get(self, event_id: str) -> None:
        self._admit()
        visible_id = await self._visible_event_id(event_id)
        self._start_stream()
        await self.flush()
        buffer_bytes = self.application.config.sse_client_buffer_bytes
        connection = cast(HTTP1Connection, self.request.connection)
        chunked = self.request.version == "HTTP/1.1"  # how Tornado frames this response
        self.client = SseClient(
            connection, visible_id, self.client_ip, buffer_bytes, chunked=chunked
        )
        reason = await self._serve(self.client)
        if reason != "slow" and not connection.stream.closed():
            with contextlib.suppress(StreamClosedError):
                self.finish()

    async def _visible_event_id(self, raw_id: str) -> int:
        """Authorised from the read cache (the event's entry, current to its data version),
        as GET /events/{id} is: no session or ORM object per connect, none held for the
        life of the stream."""
        event_id = self.path_id(raw_id)
        await self.application.reads.require_visible(event_id, self.current_user)
        return event_id

    async def _serve(self, client: SseClient) -> str:
        """Hold the stream until the client leaves, is dropped, or the process drains."""
        hub = self.application.hub
        reason = "error"
        try:
            await hub.subscribe(client, self._last_event_id())
            reason = await client.closed
        except Exception as exc:  # the streams backend failed: end; the client reconnects
            log.warning("live stream failed: %s", exc)
        finally:
            hub.unsubscribe(client, reason)
        return reason

    def _last_event_id(self) -> str | None:
        header = self.request.headers.get("Last-Event-ID")
        return header or self.get_query_argument("last_event_id", None)

    def _admit(self) -> None:
        app = self.application
        reason = None
        if app.draining:
            reason, error = (
                "draining",
                ApiError(503, "this server is shutting down; reconnect", code="draining"),
            )
        else:
            try:
                app.hub.admit(self.client_ip)
                return
            except HubFull:
                reason, error = (
                    "capacity",
                    ApiError(503, "too many live connections; retry shortly", code="capacity"),
                )
            except TooManyFromAddress:
                reason, error = (
                    "per_ip",
                    ApiError(
                        429,
                        "too many live connections from your address",
                        code="rate_limited",
                        headers={"Retry-After": "10"},
                    ),
                )
        metrics.SSE_REJECTED.labels(reason).inc()
        error.headers.setdefault("Retry-After", "5")
        raise error

    def _start_stream(self) -> None:
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache, no-transform")
        self.set_header("X-Accel-Buffering", "no")  # nginx: do not buffer the stream
        self.write(f"retry: {self.application.config.sse_retry_ms}\n\n")

    def on_connection_close(self) -> None:
        if self.client is not None:
            self.client.close("client_closed")


routes = [
    (r"/api/v1/events/([0-9]+)/stream", EventStreamHandler),
]
