"""The psycopg pool across a PostgreSQL restart (a server of the test's own): the dead
connections are found and replaced, a caller meanwhile gets an error quickly (the server
answers 503) rather than after the whole pool timeout, and the loss is counted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from models.db import make_async_engine
from tests.e2e.own_postgres import own_postgres
from tests.support import eventually, settings_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_dead_connections_are_replaced_after_a_postgresql_restart(tmp_path: Path) -> None:
    with own_postgres() as postgres:
        settings = settings_for(postgres.url, tmp_path, DB_POOL_MIN_SIZE="2")
        engine = make_async_engine(settings)
        try:

            async def select_one() -> int:
                async with engine.connect() as connection:
                    return int((await connection.execute(sa.text("SELECT 1"))).scalar_one())

            assert await select_one() == 1
            lost_before = _value("matchday_db_pool_connections_lost_total", pool="async")
            postgres.stop()
            started = time.monotonic()
            with pytest.raises(sa.exc.OperationalError):
                await select_one()
            # Not the 30 s pool timeout: a connection attempt failed, so the database is away.
            assert time.monotonic() - started < 5
            postgres.start()

            async def answers() -> bool:
                try:
                    return await select_one() == 1
                except sa.exc.OperationalError:
                    return False

            await eventually(answers, timeout=20)
            # The idle connections the restart killed were found by the pool's check.
            assert _value("matchday_db_pool_connections_lost_total", pool="async") > lost_before
        finally:
            await engine.dispose()
