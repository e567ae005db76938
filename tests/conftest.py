"""Shared fixtures: a real Matchday served on an unused port, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from server.app import MatchdayApp, make_app
from tests.pgbouncer import own_pgbouncer, through_pgbouncer
from tests.support import (
    REDIS_URL,
    Api,
    create_pg_schema,
    delete_redis_keys,
    drop_pg_schema,
    pg_schema_url,
    settings_for,
    sqlite_copy,
    sqlite_template,
    truncate_pg,
)

# `make test` (and CI) replays the same examples every run: a red build means a change broke
# something, not that the search got lucky. HYPOTHESIS_PROFILE=explore searches afresh.
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# `make test` runs the suite on pytest-xdist workers with `--dist loadgroup`. Each worker is a
# process of its own: its own `pg_schema`, SQLite copies under its own tmp_path, a fresh Redis
# key prefix per test, ports from the kernel. Tests that share something costly stay together:
# - the end-to-end, fault and rehearsal tests, one at a time: each starts several `matchday`
#   processes (under coverage), and some assert deadlines that two such tests side by side on
#   two cores miss;
# - the modules below, whose module-scoped fixture would otherwise be built on each worker.
# The longest single tests are handed out first, so that no worker is still busy with one after
# the others have finished.
SERIAL_PATHS = ("tests/e2e/", "tests/faults/", "tests/rehearsal/")
SHARED_MODULE_FIXTURE = ("tests/analytics/test_question_sets.py", "tests/browser/")
RUN_FIRST = ("tests/security/test_sql_injection.py", "tests/security/test_fuzz.py")


def xdist_group_of(nodeid: str) -> str | None:
    """The group a test runs in (one worker, one test at a time), or None: anywhere."""
    if nodeid.startswith(SERIAL_PATHS):
        return "e2e"
    return next((shared for shared in SHARED_MODULE_FIXTURE if nodeid.startswith(shared)), None)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup`, grouped by xdist_group_of(). pytest 9 keeps a node's id in `_id`, and
    pytest-xdist 3.8 still appends a test's xdist_group to `_nodeid`, which pytest no longer
    reads: every xdist_group mark is ignored and end-to-end tests ran two at a time. The
    scheduler sees node ids only, so the group is decided from the id."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class Grouped(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid) or str(super()._split_scope(nodeid))

    return Grouped(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(RUN_FIRST))  # stable otherwise
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            # Property tests run hundreds of examples through pure code, where line tracing
            # costs 2-3x: they run untraced. What they reach, the example tests mostly reach
            # too (the total drops by about 0.4 points; the floor is 85%).
            item.add_marker(pytest.mark.no_cover)


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    schema = create_pg_schema()
    yield schema
    drop_pg_schema(schema)


@pytest.fixture(scope="session")
def pg_app_url(pg_schema: str) -> Iterator[str]:
    """The URL the app fixtures reach `pg_schema` by: directly, or with
    MATCHDAY_TEST_PGBOUNCER=1 through a PgBouncer in transaction mode that this session starts
    (settings_for then sets DATABASE_PGBOUNCER)."""
    if not through_pgbouncer():
        yield pg_schema_url(pg_schema)
        return
    with own_pgbouncer(pg_schema) as bouncer:
        yield bouncer.url


@pytest.fixture(scope="session")
def sqlite_template_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        yield sqlite_copy(request.getfixturevalue("sqlite_template_file"), tmp_path)
        return
    schema = request.getfixturevalue("pg_schema")
    truncate_pg(schema)
    yield request.getfixturevalue("pg_app_url")


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[MatchdayApp]:
    application = await make_app(settings_for(database_url, tmp_path))
    yield application
    await application.close()


@pytest.fixture
async def api(app: MatchdayApp) -> AsyncIterator[Api]:
    sock, port = bind_unused_port()
    server = HTTPServer(app, max_body_size=app.config.max_json_body_bytes * 2)
    server.add_sockets([sock])
    yield Api(f"http://127.0.0.1:{port}")
    server.stop()
    await server.close_all_connections()


@pytest.fixture(params=["embedded", pytest.param("production", marks=pytest.mark.postgres)])
async def live_app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MatchdayApp]:
    """The two run modes: SQLite + in-process streams, and PostgreSQL + real Redis Streams
    (each test under its own Redis key prefix, removed afterwards). Tasks run in-process
    here; the Celery path has its own tests with real worker processes (tests/e2e)."""
    if request.param == "embedded":
        url = sqlite_copy(request.getfixturevalue("sqlite_template_file"), tmp_path)
        settings = settings_for(url, tmp_path)
    else:
        schema = request.getfixturevalue("pg_schema")
        truncate_pg(schema)
        prefix = f"test:{uuid.uuid4().hex[:10]}:"
        settings = settings_for(
            request.getfixturevalue("pg_app_url"),
            tmp_path,
            REDIS_URL=REDIS_URL,
            REDIS_KEY_PREFIX=prefix,
            TASK_RUNNER="local",
        )
    application = await make_app(settings)
    yield application
    await application.close()
    if request.param == "production":
        await delete_redis_keys(settings.redis_key_prefix)


@pytest.fixture
async def live_api(live_app: MatchdayApp) -> AsyncIterator[Api]:
    sock, port = bind_unused_port()
    server = HTTPServer(live_app, max_body_size=live_app.config.max_json_body_bytes * 2)
    server.add_sockets([sock])
    yield Api(f"http://127.0.0.1:{port}")
    server.stop()
    await server.close_all_connections()
