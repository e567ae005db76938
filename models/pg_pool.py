"""psycopg_pool under SQLAlchemy (PostgreSQL only): the engine runs with NullPool and takes
its connections from a psycopg pool, as SQLAlchemy's psycopg dialect documents
(`creator`/`async_creator` + `close_returns=True`: SQLAlchemy "closing" a connection gives it
back to the pool).

Why psycopg's pool rather than SQLAlchemy's own (docs/decisions.md): its `check` finds the
connections a PostgreSQL restart killed before lending them (as `pool_pre_ping` did), it
retires connections after `max_lifetime` and idle ones above `min_size` after `max_idle`,
refills in the background, and `get_stats()` says how many callers wait, which feeds the pool
gauges of models/metrics.py.

Each pool opens on its first use (an async pool on the loop that serves), and a disposed
engine closes it; the next use after a dispose opens a fresh one.
"""

from __future__ import annotations

import asyncio
import contextvars
import select
import threading
import time
from typing import Any

from psycopg import AsyncConnection, Connection, OperationalError
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout
from sqlalchemy import Engine, event
from sqlalchemy.dialects.postgresql import psycopg as sqlalchemy_psycopg
from sqlalchemy.engine import URL
from sqlalchemy.util import await_

from models import metrics


def conninfo(url: URL) -> str:
    """The libpq URI of a SQLAlchemy URL (without its driver name and `options`)."""
    plain = url.set(drivername="postgresql").difference_update_query(["options"])
    return plain.render_as_string(hide_password=False)


class _Gauges:
    """Publishes a pool's get_stats() to the gauges of its `role`."""

    def __init__(self, role: str, max_size: int) -> None:
        self.role = role
        self._lost_seen = 0
        # Counted here, not derived from the stats: pool_size also counts connections
        # still being opened, which nobody uses yet.
        self.lent = 0
        self._lock = threading.Lock()  # the sync pool lends from many threads
        metrics.DB_POOL_MAX.labels(role).set(max_size)

    def publish(self, stats: dict[str, int]) -> None:
        size = stats.get("pool_size", 0)
        metrics.DB_POOL_SIZE.labels(self.role).set(size)
        metrics.DB_POOL_IN_USE.labels(self.role).set(self.lent)
        metrics.DB_POOL_WAITING.labels(self.role).set(stats.get("requests_waiting", 0))
        lost = stats.get("connections_lost", 0)
        if lost > self._lost_seen:
            metrics.DB_POOL_CONNECTIONS_LOST.labels(self.role).inc(lost - self._lost_seen)
        self._lost_seen = lost

    def returned(self) -> None:
        with self._lock:
            self.lent -= 1

    def waited(self, started: float) -> None:
        with self._lock:
            self.lent += 1
        metrics.DB_POOL_WAIT.labels(self.role).observe(time.perf_counter() - started)

    def closed(self) -> None:
        for gauge in (metrics.DB_POOL_SIZE, metrics.DB_POOL_IN_USE, metrics.DB_POOL_WAITING):
            gauge.labels(self.role).set(0)


# SQLAlchemy's psycopg dialect adds this notice handler each time it meets a connection "for
# the first time", which under NullPool is every checkout: taken off again as the connection
# goes back, or each physical connection would collect one per transaction.
SQLALCHEMY_NOTICE_HANDLER = getattr(sqlalchemy_psycopg, "_log_notices", None)


def _forget_notice_handlers(conn: AsyncConnection[Any] | Connection[Any]) -> None:
    if SQLALCHEMY_NOTICE_HANDLER is None:
        return
    while True:
        try:
            conn.remove_notice_handler(SQLALCHEMY_NOTICE_HANDLER)
        except ValueError:  # none left
            return


WAIT_SLICE_SECONDS = 0.25
# While the last connection attempt failed (the database is away), a caller waits at most
# this long for the pool's next attempt to succeed: a quick 503 rather than the whole
# DB_POOL_TIMEOUT_SECONDS, and still a connection as soon as the database is back.
DOWN_WAIT_SECONDS = 5.0


class DatabaseUnreachable(OperationalError):
    """The pool could not open a connection while this caller waited: PostgreSQL is down or
    unreachable. Raised at once rather than after the whole pool timeout (a 503 now)."""


def _errors(stats: dict[str, int]) -> int:
    return stats.get("connections_errors", 0)


class _Waits:
    """How long a caller waits for a connection: in slices, so that a failed connection
    attempt meanwhile ends the wait at once (the database is away: a 503 now, not after the
    pool timeout); at most DOWN_WAIT_SECONDS while the last attempt had failed."""

    def __init__(self, pool: Any, role: str) -> None:
        self.pool, self.role = pool, role
        self.errors_when_connected = 0

    def connected(self, stats: dict[str, int]) -> None:
        self.errors_when_connected = _errors(stats)

    def start(self, timeout: float, stats: dict[str, int]) -> _Wait:
        if _errors(stats) > self.errors_when_connected:
            timeout = min(timeout, DOWN_WAIT_SECONDS)
        return _Wait(self, time.monotonic() + timeout, _errors(stats))


class _Wait:
    def __init__(self, waits: _Waits, deadline: float, errors: int) -> None:
        self.waits, self.deadline, self.errors = waits, deadline, errors

    def slice(self) -> float:
        return max(0.001, min(WAIT_SLICE_SECONDS, self.deadline - time.monotonic()))

    def timed_out(self, stats: dict[str, int]) -> None:
        """After a slice timed out: raise, or return to wait on."""
        if _errors(stats) > self.errors:
            name = self.waits.pool.name
            raise DatabaseUnreachable(f"cannot connect to the database (pool {name!r})")
        if time.monotonic() >= self.deadline:
            metrics.DB_POOL_TIMEOUTS.labels(self.waits.role).inc()
            raise PoolTimeout(f"no connection free in pool {self.waits.pool.name!r}")


def has_something_to_read(conn: AsyncConnection[Any] | Connection[Any]) -> bool:
    """Whether the server sent anything on an idle connection. A server that ended it (a
    restart, a kill, `pg_terminate_backend`) leaves its FATAL message or the end of the stream
    there; a healthy idle connection has nothing (a rare notice also counts). One poll()
    system call, where asking the server is a round trip."""
    try:
        fd = conn.pgconn.socket
    except OperationalError:  # no socket at all: certainly not usable
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


async def check_idle_connection(conn: AsyncConnection[Any]) -> None:
    """The async pool's check before it lends a connection: psycopg's own (a round trip
    with an empty query; raises if the connection is gone, and the pool takes another) only
    when the socket says something happened. Checking every checkout cost a round trip per
    unit of work, ~6% of a score write's CPU. A server that vanished without closing its
    sockets (a network partition) is found by neither check at once, but by the query's
    own error, as before."""
    if conn.closed or conn.broken or has_something_to_read(conn):
        await AsyncConnectionPool.check_connection(conn)


class MeasuredAsyncPool(AsyncConnectionPool[AsyncConnection[Any]]):
    def __init__(self, role: str, **options: Any) -> None:
        self.waits = _Waits(self, role)
        super().__init__(
            open=False,
            close_returns=True,
            check=check_idle_connection,
            configure=self._connected,
            **options,
        )
        self.gauges = _Gauges(role, self.max_size)

    async def _connected(self, _conn: AsyncConnection[Any]) -> None:
        self.waits.connected(self.get_stats())

    async def getconn(self, timeout: float | None = None) -> AsyncConnection[Any]:  # noqa: ASYNC109 (psycopg_pool's signature)
        if not self._opened:
            # Opened in an empty context: the pool's worker tasks must not inherit the
            # request that happened to come first (its request id, its query timings).
            await asyncio.create_task(self.open(), context=contextvars.Context())
        started = time.perf_counter()
        wait = self.waits.start(self.timeout if timeout is None else timeout, self.get_stats())
        try:
            while True:
                try:
                    connection = await super().getconn(wait.slice())
                    self.gauges.waited(started)
                    break
                except PoolTimeout:
                    wait.timed_out(self.get_stats())
        finally:
            self.gauges.publish(self.get_stats())
        return connection

    async def putconn(self, conn: AsyncConnection[Any]) -> None:
        _forget_notice_handlers(conn)
        await super().putconn(conn)
        self.gauges.returned()
        self.gauges.publish(self.get_stats())

    async def close(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (psycopg_pool's signature)
        await super().close(timeout)
        self.gauges.closed()


class MeasuredPool(ConnectionPool[Connection[Any]]):
    def __init__(self, role: str, **options: Any) -> None:
        self.waits = _Waits(self, role)
        super().__init__(
            open=False,
            close_returns=True,
            check=ConnectionPool.check_connection,
            configure=self._connected,
            **options,
        )
        self.gauges = _Gauges(role, self.max_size)

    def _connected(self, _conn: Connection[Any]) -> None:
        self.waits.connected(self.get_stats())

    def getconn(self, timeout: float | None = None) -> Connection[Any]:
        if not self._opened:
            self.open()
        started = time.perf_counter()
        wait = self.waits.start(self.timeout if timeout is None else timeout, self.get_stats())
        try:
            while True:  # as MeasuredAsyncPool.getconn
                try:
                    connection = super().getconn(wait.slice())
                    self.gauges.waited(started)
                    break
                except PoolTimeout:
                    wait.timed_out(self.get_stats())
        finally:
            self.gauges.publish(self.get_stats())
        return connection

    def putconn(self, conn: Connection[Any]) -> None:
        _forget_notice_handlers(conn)
        super().putconn(conn)
        self.gauges.returned()
        self.gauges.publish(self.get_stats())

    def close(self, timeout: float = 5.0) -> None:
        super().close(timeout)
        self.gauges.closed()


class PoolHolder:
    """The engine's connection source: the current pool, replaced after a dispose."""

    def __init__(self, role: str, asynchronous: bool, **options: Any) -> None:
        self.role, self.asynchronous, self.options = role, asynchronous, options
        self._pool: MeasuredPool | MeasuredAsyncPool | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> MeasuredPool | MeasuredAsyncPool:
        with self._lock:
            if self._pool is None:
                kind = MeasuredAsyncPool if self.asynchronous else MeasuredPool
                self._pool = kind(self.role, name=f"matchday-{self.role}", **self.options)
            return self._pool

    async def aconnect(self) -> AsyncConnection[Any]:
        pool = self.pool
        assert isinstance(pool, MeasuredAsyncPool)
        return await pool.getconn()

    def connect(self) -> Connection[Any]:
        pool = self.pool
        assert isinstance(pool, MeasuredPool)
        return pool.getconn()

    def dispose(self, _engine: Engine) -> None:
        """SQLAlchemy's `engine_disposed`: close the pool (the async one from inside the
        greenlet AsyncEngine.dispose() runs this in)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if isinstance(pool, MeasuredAsyncPool):
            await_(pool.close())
        elif pool is not None:
            pool.close()

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "engine_disposed", self.dispose)
