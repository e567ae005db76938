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

import threading
import time
from typing import Any

from psycopg import AsyncConnection, Connection
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout
from sqlalchemy import Engine, event
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
        metrics.DB_POOL_MAX.labels(role).set(max_size)

    def publish(self, stats: dict[str, int]) -> None:
        size = stats.get("pool_size", 0)
        metrics.DB_POOL_SIZE.labels(self.role).set(size)
        metrics.DB_POOL_IN_USE.labels(self.role).set(max(0, size - stats.get("pool_available", 0)))
        metrics.DB_POOL_WAITING.labels(self.role).set(stats.get("requests_waiting", 0))
        lost = stats.get("connections_lost", 0)
        if lost > self._lost_seen:
            metrics.DB_POOL_CONNECTIONS_LOST.labels(self.role).inc(lost - self._lost_seen)
        self._lost_seen = lost

    def waited(self, started: float) -> None:
        metrics.DB_POOL_WAIT.labels(self.role).observe(time.perf_counter() - started)

    def timed_out(self) -> None:
        metrics.DB_POOL_TIMEOUTS.labels(self.role).inc()

    def closed(self) -> None:
        for gauge in (metrics.DB_POOL_SIZE, metrics.DB_POOL_IN_USE, metrics.DB_POOL_WAITING):
            gauge.labels(self.role).set(0)


class MeasuredAsyncPool(AsyncConnectionPool[AsyncConnection[Any]]):
    def __init__(self, role: str, **options: Any) -> None:
        super().__init__(
            open=False, close_returns=True, check=AsyncConnectionPool.check_connection, **options
        )
        self.gauges = _Gauges(role, self.max_size)

    async def getconn(self, timeout: float | None = None) -> AsyncConnection[Any]:  # noqa: ASYNC109 (psycopg_pool's signature)
        if not self._opened:
            await self.open()  # idempotent; on the loop that uses the pool
        started = time.perf_counter()
        try:
            connection = await super().getconn(timeout)
        except PoolTimeout:
            self.gauges.timed_out()
            raise
        finally:
            self.gauges.publish(self.get_stats())
        self.gauges.waited(started)
        return connection

    async def putconn(self, conn: AsyncConnection[Any]) -> None:
        await super().putconn(conn)
        self.gauges.publish(self.get_stats())

    async def close(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (psycopg_pool's signature)
        await super().close(timeout)
        self.gauges.closed()


class MeasuredPool(ConnectionPool[Connection[Any]]):
    def __init__(self, role: str, **options: Any) -> None:
        super().__init__(
            open=False, close_returns=True, check=ConnectionPool.check_connection, **options
        )
        self.gauges = _Gauges(role, self.max_size)

    def getconn(self, timeout: float | None = None) -> Connection[Any]:
        if not self._opened:
            self.open()
        started = time.perf_counter()
        try:
            connection = super().getconn(timeout)
        except PoolTimeout:
            self.gauges.timed_out()
            raise
        finally:
            self.gauges.publish(self.get_stats())
        self.gauges.waited(started)
        return connection

    def putconn(self, conn: Connection[Any]) -> None:
        super().putconn(conn)
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
