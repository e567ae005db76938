"""Fixtures shared by the integration tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from server.app import MatchdayApp, make_app
from tests.support import (
    REDIS_URL,
    Api,
    delete_redis_keys,
    pg_schema_url,
    settings_for,
    truncate_pg,
)


async def serve_app(app: MatchdayApp) -> tuple[HTTPServer, Api]:
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    return server, Api(f"http://127.0.0.1:{port}")


@pytest.fixture
async def two_processes(
    pg_schema: str, tmp_path: Path
) -> AsyncIterator[tuple[MatchdayApp, Api, Api]]:
    """Two applications over one PostgreSQL schema and one Redis prefix, each with its own
    caches: what `matchday serve --processes 2` runs."""
    truncate_pg(pg_schema)
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    settings = settings_for(
        pg_schema_url(pg_schema),
        tmp_path,
        REDIS_URL=REDIS_URL,
        REDIS_KEY_PREFIX=prefix,
        TASK_RUNNER="local",
        # Long enough that only the announcement of an access change can explain a token
        # refused by the other process at once (tests/integration/test_auth_cache.py).
        AUTH_CACHE_SECONDS="120",
    )
    apps = [await make_app(settings), await make_app(settings)]
    served = [await serve_app(app) for app in apps]
    yield apps[0], served[0][1], served[1][1]
    for server, _api in served:
        server.stop()
        await server.close_all_connections()
    for app in apps:
        await app.close()
    await delete_redis_keys(prefix)
