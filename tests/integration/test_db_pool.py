"""The psycopg pool under SQLAlchemy (models/pg_pool.py) on the real PostgreSQL: its gauges
follow the load, a caller waits when it is exhausted, and the query metrics time each
statement."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from models.db import make_async_engine, make_sync_engine
from models.pg_pool import has_something_to_read
from server.app import make_app
from tests.support import Api, pg_schema_url, settings_for, truncate_pg

pytestmark = pytest.mark.postgres


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_pool_gauges_follow_the_load_and_callers_wait_when_it_is_exhausted(
    pg_schema: str, tmp_path: Path
) -> None:
    settings = settings_for(
        pg_schema_url(pg_schema), tmp_path, DB_POOL_SIZE="2", DB_MAX_OVERFLOW="0"
    )
    engine = make_async_engine(settings)
    waits_before = _value("matchday_db_pool_wait_seconds_count", pool="async")
    sleeps_before = _value("matchday_db_query_duration_seconds_count", operation="select")
    seen = {"in_use": 0.0, "waiting": 0.0}

    async def hold() -> None:
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT pg_sleep(0.3)"))

    async def watch() -> None:
        while True:
            seen["in_use"] = max(
                seen["in_use"], _value("matchday_db_pool_connections_in_use", pool="async")
            )
            seen["waiting"] = max(
                seen["waiting"], _value("matchday_db_pool_requests_waiting", pool="async")
            )
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.gather(*(hold() for _ in range(5)))
    finally:
        watcher.cancel()
    assert _value("matchday_db_pool_max_connections", pool="async") == 2
    assert seen["in_use"] == 2  # never more than the pool's size
    assert seen["waiting"] >= 1  # five callers, two connections
    assert _value("matchday_db_pool_connections_in_use", pool="async") == 0
    assert _value("matchday_db_pool_wait_seconds_count", pool="async") == waits_before + 5
    # The statements are timed (5 sleeps of 0.3 s, plus the pool's checks)
    assert _value("matchday_db_query_duration_seconds_count", operation="select") >= (
        sleeps_before + 5
    )
    await engine.dispose()
    assert _value("matchday_db_pool_connections", pool="async") == 0


def test_the_sync_pool_lends_and_takes_back(pg_schema: str, tmp_path: Path) -> None:
    settings = settings_for(pg_schema_url(pg_schema), tmp_path)
    engine = make_sync_engine(settings)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1
            assert _value("matchday_db_pool_connections_in_use", pool="sync") == 1
            # The statement timeout reaches the pooled connections.
            timeout = connection.execute(sa.text("SHOW statement_timeout")).scalar()
            assert timeout == "5s"  # DB_STATEMENT_TIMEOUT_MS=5000
            # And so does the schema of the URL's options.
            assert connection.execute(sa.text("SHOW search_path")).scalar() == pg_schema
        assert _value("matchday_db_pool_connections_in_use", pool="sync") == 0
        # SQLAlchemy meets each checkout as a new connection and adds its notice handler: it
        # must not pile up on the physical connection, checkout after checkout.
        for _ in range(20):
            with engine.connect() as connection:
                raw = connection.connection.driver_connection
                assert raw is not None
                assert len(raw._notice_handlers) == 1
    finally:
        engine.dispose()


def test_query_errors_are_counted_by_operation(pg_schema: str, tmp_path: Path) -> None:
    engine = make_sync_engine(settings_for(pg_schema_url(pg_schema), tmp_path))
    before = _value("matchday_db_query_errors_total", operation="select", error="ProgrammingError")
    try:
        with pytest.raises(sa.exc.ProgrammingError), engine.connect() as connection:
            connection.execute(sa.text("SELECT * FROM no_such_table"))
    finally:
        engine.dispose()
    after = _value("matchday_db_query_errors_total", operation="select", error="ProgrammingError")
    assert after == before + 1


async def test_a_request_that_finds_the_pool_full_gets_a_quick_503_with_retry_after(
    pg_app_url: str, pg_schema: str, tmp_path: Path
) -> None:
    """A saturated process sheds load: the caller hears 503 + Retry-After after
    DB_POOL_TIMEOUT_SECONDS, not a 500 and not a half-minute wait; the next one is served."""
    truncate_pg(pg_schema)
    settings = settings_for(
        pg_app_url,
        tmp_path,
        DB_POOL_SIZE="1",
        DB_MAX_OVERFLOW="0",
        DB_POOL_TIMEOUT_SECONDS="0.5",
        READ_CACHE_EVENTS="0",  # every read goes to the database
    )
    app = await make_app(settings)
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    api = Api(f"http://127.0.0.1:{port}")
    try:
        async with app.sessions() as holder:  # the pool's one connection, held
            await holder.execute(sa.text("SELECT 1"))
            started = time.monotonic()
            reply = await api.get("/api/v1/events")
            waited = time.monotonic() - started
        assert reply.status == 503
        assert reply.json["error"]["code"] == "database_unavailable"
        assert reply.headers["Retry-After"] == "2"
        assert waited < 5.0  # the pool's 0.5 s, not the old default 30 s
        assert (await api.get("/api/v1/events")).status == 200  # the connection came back
    finally:
        server.stop()
        await server.close_all_connections()
        await app.close()


async def test_a_connection_the_server_ended_is_not_lent_and_a_healthy_one_is_not_pinged(
    pg_schema: str, tmp_path: Path
) -> None:
    """The async pool asks the server about a connection only when its socket says the
    server sent something: a terminated backend is replaced before anyone uses it."""
    settings = settings_for(
        pg_schema_url(pg_schema), tmp_path, DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0"
    )
    engine = make_async_engine(settings)
    admin = make_sync_engine(settings)
    try:
        async with engine.connect() as connection:
            first = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        assert not has_something_to_read(raw), "an idle healthy connection: nothing to read"
        async with engine.connect() as connection:  # the same connection, lent unpinged
            again = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        assert again == first

        with admin.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        deadline = time.monotonic() + 5
        while not has_something_to_read(raw):  # the backend's FATAL message arrives
            assert time.monotonic() < deadline, "the ended connection never became readable"
            await asyncio.sleep(0.05)

        async with engine.connect() as connection:  # checked, found dead, replaced
            replaced = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        assert replaced != first
    finally:
        await engine.dispose()
        admin.dispose()
