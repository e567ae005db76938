"""A minimal SSE client for tests: raw HTTP/1.0 over asyncio streams (no chunked framing)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class SseMessage:
    event: str = "message"
    id: str | None = None
    data: str = ""
    retry: int | None = None
    comment: str | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseStream:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    status: int
    headers: dict[str, str]
    body: bytes = b""
    seen: list[SseMessage] = field(default_factory=list)

    @classmethod
    async def open(
        cls, base_url: str, path: str, headers: dict[str, str] | None = None
    ) -> SseStream:
        url = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        lines = [f"GET {path} HTTP/1.0", f"Host: {url.netloc}", "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        parsed: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            parsed[name.strip().lower()] = value.strip()
        stream = cls(reader, writer, status, parsed)
        if status != 200:
            stream.body = await asyncio.wait_for(reader.read(), 5)
        return stream

    async def next(self, timeout: float = 5.0) -> SseMessage | None:
        """The next message or comment; None when the server closed the stream."""
        message = SseMessage()
        got = False
        while True:
            raw = await asyncio.wait_for(self.reader.readline(), timeout)
            if not raw:
                return message if got else None
            line = raw.decode().rstrip("\n")
            if line == "":
                if got:
                    self.seen.append(message)
                    return message
                continue
            got = True
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "":
                message.comment = value
            elif name == "retry":
                message.retry = int(value)
            elif name in {"id", "event", "data"}:
                setattr(message, name, value)

    async def next_event(self, timeout: float = 5.0) -> SseMessage | None:
        """The next message with an event, skipping comments and bare retry lines."""
        while True:
            message = await self.next(timeout)
            if message is None or (message.comment is None and message.data):
                return message

    async def events(self, count: int, timeout: float = 5.0) -> list[SseMessage]:
        found = []
        while len(found) < count:
            message = await self.next_event(timeout)
            assert message is not None, f"stream closed after {len(found)} of {count} events"
            found.append(message)
        return found

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
