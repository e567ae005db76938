"""The two ends of one real loopback TCP connection, for testing `SseClient` and `StreamHub`
without an HTTP server: the server end is a Tornado IOStream (what `SseClient` writes to), the
other end a plain socket read like a browser would."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from tornado.iostream import IOStream


@dataclass
class Connection:
    """What `SseClient` needs of Tornado's HTTP1Connection: its stream."""

    stream: IOStream


class Peer:
    """The spectator's end: collects the bytes the server wrote."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.received = b""
        self.eof = False

    async def _read_more(self, timeout: float) -> None:
        chunk = await asyncio.wait_for(
            asyncio.get_running_loop().sock_recv(self.sock, 65536), timeout
        )
        if not chunk:
            self.eof = True
        self.received += chunk

    async def read_until(self, wanted: bytes, timeout: float = 5.0) -> bytes:
        """Everything up to and including `wanted`, consumed."""
        deadline = asyncio.get_running_loop().time() + timeout
        while wanted not in self.received:
            assert not self.eof, f"closed before {wanted!r}; got {self.received!r}"
            await self._read_more(max(0.01, deadline - asyncio.get_running_loop().time()))
        head, _, self.received = self.received.partition(wanted)
        return head + wanted

    async def frames(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """The next `count` SSE frames (each ends with a blank line), consumed."""
        return [await self.read_until(b"\n\n", timeout) for _ in range(count)]

    async def closed(self, timeout: float = 5.0) -> bytes:
        """Read to the end of the connection; everything that was still on its way."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.eof:
            await self._read_more(max(0.01, deadline - asyncio.get_running_loop().time()))
        data, self.received = self.received, b""
        return data

    def close(self) -> None:
        self.sock.close()


async def connected(send_buffer: int | None = None) -> tuple[Connection, Peer]:
    """A fresh loopback connection; `send_buffer` shrinks the server end's kernel buffer."""
    loop = asyncio.get_running_loop()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        client = socket.socket()
        client.setblocking(False)
        if send_buffer is not None:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, send_buffer)
        await loop.sock_connect(client, listener.getsockname())
        server, _ = await loop.sock_accept(listener)
    if send_buffer is not None:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    return Connection(IOStream(server)), Peer(client)
