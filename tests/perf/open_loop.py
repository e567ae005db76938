"""An open-loop HTTP load generator: requests leave on a fixed schedule whatever the replies do,
and each latency runs from the request's scheduled time, so a server that stalls is charged for
every request that waited behind the stall (no coordinated omission, as in wrk2).

Keep-alive HTTP/1.1 connections are reused when idle and opened when none is (up to
`max_connections`; past that a request waits for one, and the wait counts in its latency).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

HEAD_LIMIT = 65_536


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)  # every request, errors included
    statuses: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    late_sends: int = 0  # requests that left more than 10 ms after their scheduled time
    connections_opened: int = 0


class Connections:
    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(limit)
        self.opened = 0

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        await self.slots.acquire()
        try:
            if self.idle:
                return self.idle.pop()
            self.opened += 1
            return await asyncio.open_connection(self.host, self.port)
        except BaseException:  # cancelled by the request's timeout, or refused
            self.slots.release()
            raise

    def give_back(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], reusable: bool
    ) -> None:
        if reusable:
            self.idle.append(conn)
        else:
            conn[1].close()
        self.slots.release()

    def close(self) -> None:
        for _reader, writer in self.idle:
            writer.close()


async def exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes) -> int:
    """Send one request, read its whole reply; the status code."""
    reader, writer = conn
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > HEAD_LIMIT:
        raise ValueError("response head too large")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def run(
    host: str,
    port: int,
    rate: float,
    seconds: float,
    make_request: Callable[[int], bytes],
    *,
    timeout: float = 10.0,
    max_connections: int = 512,
) -> Outcome:
    """Offer `rate` requests a second for `seconds`; request i is `make_request(i)`."""
    loop = asyncio.get_running_loop()
    outcome = Outcome()
    pool = Connections(host, port, max_connections)
    total = int(rate * seconds)
    start = loop.time() + 0.05

    async def one(index: int, scheduled: float) -> None:
        status = "timeout"
        conn = None
        reusable = False
        try:
            async with asyncio.timeout(timeout):
                conn = await pool.take()
                status = str(await exchange(conn, make_request(index)))
                reusable = True
        except TimeoutError:
            pass
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            status = type(exc).__name__
        finally:
            if conn is not None:  # a reply cut short leaves the connection unusable
                pool.give_back(conn, reusable)
        outcome.latencies_ms.append((loop.time() - scheduled) * 1000)
        outcome.statuses[status] += 1

    tasks: list[asyncio.Task[None]] = []
    index = 0
    while index < total:
        now = loop.time()
        while index < total and (scheduled := start + index / rate) <= now:
            if now - scheduled > 0.01:
                outcome.late_sends += 1
            tasks.append(asyncio.create_task(one(index, scheduled)))
            index += 1
        if index < total:
            await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
    await asyncio.gather(*tasks)
    outcome.sent = total
    outcome.connections_opened = pool.opened
    pool.close()
    return outcome
