"""Engines and sessions for both run modes: async for the server, sync for task functions."""

from __future__ import annotations

from typing import Any

import sqlalchemy
import sqlalchemy.ext.asyncio
from sqlalchemy import Engine, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import sessionmaker

from config.settings import Settings

# The engine factories are looked up when an engine is built, not bound at import: tracing
# (config/telemetry.py) wraps them in their modules, and only then traces the engines made.


def _create_engine(url: str, **options: Any) -> Engine:
    return sqlalchemy.create_engine(url, **options)


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


def _engine_options(settings: Settings, url: str | None = None) -> dict[str, Any]:
    if settings.embedded:
        return {}
    # Keep any libpq `options` from the URL (e.g. a search_path) and add the timeout to them.
    url_options = make_url(url or settings.database_url).query.get("options", "")
    if isinstance(url_options, tuple):
        url_options = " ".join(url_options)
    timeout = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_pre_ping": True,
        "connect_args": {"options": f"{url_options} {timeout}".strip()},
    }


def _ensure_sqlite_dir(url: str) -> None:
    from pathlib import Path

    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_async_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url
    if settings.embedded:
        _ensure_sqlite_dir(url)
    engine = sqlalchemy.ext.asyncio.create_async_engine(url, **_engine_options(settings))
    if settings.embedded:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def make_sync_engine(settings: Settings) -> Engine:
    url = sync_url(settings.database_url)
    if settings.embedded:
        _ensure_sqlite_dir(url)
    engine = _create_engine(url, **_engine_options(settings))
    if settings.embedded:
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
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
        return engine
    return _create_engine(url, **_engine_options(settings, url))


def async_session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def sync_session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)
