"""One SSE connection as the hub sees it: a non-blocking writer with a bounded buffer."""

from __future__ import annotations

import asyncio
import json
import random
import time

from tornado.http1connection import HTTP1Connection
from tornado.iostream import StreamBufferFullError, StreamClosedError

from server.live.streams import StreamMessage, parse_id

PING = b": ping\n\n"
MAX_PENDING = 10_000  # messages held while a client's history is replayed


def frame(message: StreamMessage) -> bytes:
    """The SSE frame of a message, built once and shared by every client."""
    return f"id: {message.id}\nevent: {message.kind}\ndata: {wire_data(message)}\n\n".encode()


def wire_data(message: StreamMessage) -> str:
    # A table is current to the id of the message that carries it; the publisher could not
    # know that id before appending, so it is filled in here, once per message.
    if message.kind != "standings":
        return message.data
    return json.dumps(
        {**json.loads(message.data), "last_event_id": message.id}, separators=(",", ":")
    )


def control_frame(kind: str, data: str = "{}", retry_ms: int | None = None) -> bytes:
    retry = f"retry: {retry_ms}\n" if retry_ms is not None else ""
    return f"{retry}event: {kind}\ndata: {data}\n\n".encode()


class SseClient:
    """Writes go straight to the connection's stream without awaiting; the stream's write
    buffer is the client's bounded buffer, and overflowing it drops the client (it resumes
    with Last-Event-ID)."""

    def __init__(
        self,
        connection: HTTP1Connection,
        event_id: int,
        ip: str,
        buffer_bytes: int,
        *,
        chunked: bool,
    ) -> None:
        self.connection = connection
        self.stream = connection.stream
        self.stream.max_write_buffer_size = buffer_bytes
        self.stream.set_nodelay(True)  # small frames, latency-sensitive: no Nagle delay
        # HTTP/1.1 responses without Content-Length are chunked by Tornado; frames written
        # straight to the socket must carry the same framing.
        self.chunked = chunked
        self.event_id = event_id
        self.ip = ip
        self.last_sent = (0, 0)
        self.pending: list[tuple[StreamMessage, bytes]] | None = []
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.next_ping = 0.0
        self.sent = 0

    def schedule_ping(self, interval: float) -> None:
        # Jitter spreads heartbeats so 10,000 clients do not all wake in the same tick.
        self.next_ping = time.monotonic() + interval * random.uniform(0.8, 1.2)  # noqa: S311

    def deliver(
        self, message: StreamMessage, data: bytes, position: tuple[int, int] | None = None
    ) -> bool:
        """Send one message unless already sent; while replaying, hold it. True if written.
        The hub passes the parsed id once per broadcast instead of once per client."""
        if self.closed.done():
            return False
        if self.pending is not None:
            self._hold(message, data)
            return False
        position = position or parse_id(message.id)
        if position <= self.last_sent:
            return False  # the seam between replayed history and live reading
        self.last_sent = position
        return self.write(data)

    def _hold(self, message: StreamMessage, data: bytes) -> None:
        assert self.pending is not None
        if len(self.pending) >= MAX_PENDING:
            self.close("slow")
            return
        self.pending.append((message, data))

    def replay(self, messages: list[StreamMessage]) -> None:
        """Write history in order, ahead of anything held meanwhile."""
        for message in messages:
            position = parse_id(message.id)
            if position > self.last_sent:
                self.last_sent = position
                self.write(frame(message))

    def go_live(self) -> int:
        """History is written: flush what arrived meanwhile; returns how many were sent."""
        held, self.pending = self.pending or [], None
        return sum(self.deliver(message, data) for message, data in held)

    def write(self, data: bytes) -> bool:
        if self.closed.done():
            return False
        stream = self.stream
        if stream.closed():
            self.close("client_closed")
            return False
        if self.chunked:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        if not stream.writing():
            # Nothing queued: one send() and done — no futures, no buffer copies. This is
            # the hot path of a broadcast to 10,000+ clients.
            try:
                sent = stream.socket.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:  # reset by the peer
                stream.close()
                self.close("client_closed")
                return False
            if sent == len(data):
                self.sent += 1
                return True
            data = data[sent:]
        try:
            stream.write(data)  # the rest waits in the stream's bounded buffer
        except StreamBufferFullError:
            self.close("slow")
            return False
        except StreamClosedError:
            self.close("client_closed")
            return False
        self.sent += 1
        return True

    def close(self, reason: str) -> None:
        """Stop sending; the handler sees `closed` resolve and ends the response."""
        if not self.closed.done():
            self.closed.set_result(reason)
        if reason == "slow":
            self.stream.close()  # its buffer is full: no goodbye can get through
