"""Engines and sessions for both run modes: async for the server, sync for task functions."""

from __future__ import annotations

from typing import Any

import sqlalchemy
import sqlalchemy.ext.asyncio
from sqlalchemy import Engine, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from config.settings import Settings
from models.pg_pool import PoolHolder, conninfo
from models.query_metrics import QueryMetrics

# The engine factories are looked up when an engine is built, not bound at import: tracing
# (config/telemetry.py) wraps them in their modules, and only then traces the engines made.


def _create_engine(url: str, **options: Any) -> Engine:
    return sqlalchemy.create_engine(url, **options)


def _create_async_engine(url: str, **options: Any) -> AsyncEngine:
    return sqlalchemy.ext.asyncio.create_async_engine(url, **options)


def sync_url(async_url: str) -> str:
    """The same database through its blocking driver (psycopg serves both; sqlite3 for SQLite)."""
    return async_url.replace("sqlite+aiosqlite://", "sqlite://", 1)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers and one writer overlap.
    # The driver's own deferred BEGIN is switched off: see _sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two read-then-write transactions
    # queue on busy_timeout instead of failing with SQLITE_BUSY when the second one writes.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _pg_pool(settings: Settings, role: str, asynchronous: bool, url: str) -> PoolHolder:
    """The psycopg pool an engine takes its connections from (models/pg_pool.py)."""
    parsed = make_url(url)
    # Keep any libpq `options` from the URL (e.g. a search_path) and add the timeout to them.
    url_options = parsed.query.get("options", "")
    if isinstance(url_options, tuple):
        url_options = " ".join(url_options)
    timeout = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    kwargs: dict[str, Any] = {"options": f"{url_options} {timeout}".strip()}
    if settings.database_pgbouncer:
        # Transaction pooling hands each transaction to any server connection: a statement
        # psycopg prepared on one is unknown on the next ("prepared statement _pg3_0 does not
        # exist"), so psycopg never prepares; and PgBouncer refuses the `options` startup
        # parameter, so the timeout is PgBouncer's connect_query (deploy/pgbouncer).
        kwargs = {"prepare_threshold": None}
    return PoolHolder(
        role,
        asynchronous,
        conninfo=conninfo(parsed),
        kwargs=kwargs,
        min_size=min(settings.db_pool_min_size, settings.db_pool_size),
        max_size=settings.db_pool_size + settings.db_max_overflow,
        timeout=settings.db_pool_timeout_seconds,
    )


def _measured(settings: Settings, engine: Engine) -> None:
    QueryMetrics(settings.slow_query_ms).attach(engine)


def _ensure_sqlite_dir(url: str) -> None:
    from pathlib import Path

    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_async_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url
    if settings.embedded:
        _ensure_sqlite_dir(url)
        engine = _create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    else:
        engine = _pooled_async_engine(settings, "async", url)
    _measured(settings, engine.sync_engine)
    return engine


def make_sync_engine(settings: Settings) -> Engine:
    url = sync_url(settings.database_url)
    if settings.embedded:
        _ensure_sqlite_dir(url)
        engine = _create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = _pooled_sync_engine(settings, "sync", url)
    _measured(settings, engine)
    return engine


def _pooled_async_engine(settings: Settings, role: str, url: str) -> AsyncEngine:
    pool = _pg_pool(settings, role, True, url)
    engine = _create_async_engine(url, poolclass=NullPool, async_creator=pool.aconnect)
    pool.attach(engine.sync_engine)
    return engine


def _pooled_sync_engine(settings: Settings, role: str, url: str) -> Engine:
    pool = _pg_pool(settings, role, False, url)
    engine = _create_engine(url, poolclass=NullPool, creator=pool.connect)
    pool.attach(engine)
    return engine


def make_async_replica_engine(settings: Settings) -> AsyncEngine | None:
    """The server's engine for lag-tolerant reads (anonymous public lists) when
    DATABASE_REPLICA_URL is set; None: they read the primary."""
    url = settings.database_replica_url
    if not url:
        return None
    if url.startswith("sqlite"):
        engine = _create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_deferred)
    else:
        engine = _pooled_async_engine(settings, "replica", url)
    _measured(settings, engine.sync_engine)
    return engine


def _sqlite_begin_deferred(connection: Any) -> None:
    # Readers take no write lock: a deferred BEGIN still gives one consistent snapshot.
    connection.exec_driver_sql("BEGIN")


def make_read_engine(settings: Settings) -> Engine:
    """The engine analytics queries read through: the replica when DATABASE_REPLICA_URL is
    set, else the primary. Read-only-ness is enforced per transaction (workers.analytics)."""
    url = sync_url(settings.database_replica_url or settings.database_url)
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = _create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_deferred)
    else:
        engine = _pooled_sync_engine(settings, "read", url)
    _measured(settings, engine)
    return engine


def async_session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def sync_session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)
