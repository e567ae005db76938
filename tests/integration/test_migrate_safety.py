"""`matchday migrate` for real deployments, on PostgreSQL: one migration at a time (two pods
starting together), a database ahead of the code refused, and `--rollback-to` keeping data."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from models.migrate import LOCK_KEY_SQL, code_head, current_revision, upgrade
from tests.e2e.processes import MATCHDAY, matchday_env
from tests.support import PG_ADMIN_URL, TEST_SECRET, drop_pg_schema, pg_schema_url

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]  # `matchday migrate` processes


@pytest.fixture
def empty_schema() -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    yield schema
    drop_pg_schema(schema)


def _migrate(tmp_path: Path, schema: str, *args: str) -> subprocess.Popen[str]:
    env = matchday_env(tmp_path, DATABASE_URL=pg_schema_url(schema), JWT_SECRET=TEST_SECRET)
    return subprocess.Popen(
        [MATCHDAY, "migrate", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _waiting_for_lock(schema: str) -> int:
    """How many sessions wait for this schema's migration lock."""
    engine = sa.create_engine(pg_schema_url(schema))
    try:
        with engine.connect() as conn:
            key = conn.execute(sa.text(f"SELECT {LOCK_KEY_SQL}")).scalar_one()
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND NOT granted AND objid = (:key)::oid"
                    ),
                    {"key": key & 0xFFFFFFFF},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _rows(schema: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(pg_schema_url(schema))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def test_two_concurrent_migrations_one_waits_and_the_schema_is_migrated_once(
    tmp_path: Path, empty_schema: str
) -> None:
    # Hold the lock as a migration in progress would, so both processes are sure to meet it.
    holder = sa.create_engine(pg_schema_url(empty_schema))
    processes: list[subprocess.Popen[str]] = []
    try:
        with holder.connect() as conn:
            conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({LOCK_KEY_SQL})"))
            processes += [_migrate(tmp_path, empty_schema), _migrate(tmp_path, empty_schema)]
            # Generous: two Python processes starting on a loaded 2-core machine.
            deadline = time.monotonic() + 90
            while _waiting_for_lock(empty_schema) < 2:
                assert all(proc.poll() is None for proc in processes), "a migration did not wait"
                assert time.monotonic() < deadline, "the migrations never asked for the lock"
                time.sleep(0.05)
            conn.rollback()  # the "other migration" ends: the two go one after the other
        outputs = [proc.communicate(timeout=90) for proc in processes]
    finally:
        holder.dispose()
        for proc in processes:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    assert [proc.returncode for proc in processes] == [0, 0], outputs
    logs = [err for _out, err in outputs]
    assert all("waiting for it to finish" in err for err in logs), logs
    # Exactly one of them applied the migrations; the other found the schema at head.
    assert sum("database migrated: 0001" in err for err in logs) == 1, logs
    assert all(f"newest migration ({code_head()})" in out for out, _err in outputs)
    assert _rows(empty_schema, "SELECT version_num FROM alembic_version") == [(code_head(),)]


def test_a_database_ahead_of_the_code_is_refused(tmp_path: Path, empty_schema: str) -> None:
    upgrade(pg_schema_url(empty_schema))
    engine = sa.create_engine(pg_schema_url(empty_schema))
    with engine.begin() as conn:  # as a newer release would leave it
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    engine.dispose()
    proc = _migrate(tmp_path, empty_schema)
    _out, err = proc.communicate(timeout=90)
    assert proc.returncode == 3
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err  # one clear line, no traceback
    assert "migration refused" in lines[0] and "0099_from_the_future" in lines[0]
    assert "does not know" in lines[0]
    assert current_revision(pg_schema_url(empty_schema)) == "0099_from_the_future"  # untouched


def test_rollback_to_0004_and_upgrade_again_keeps_the_data(
    tmp_path: Path, empty_schema: str
) -> None:
    upgrade(pg_schema_url(empty_schema))
    engine = sa.create_engine(pg_schema_url(empty_schema))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (email, password_hash, display_name, role, created_at) "
                "VALUES ('keeper@example.org', 'x', 'Keeper', 'user', now())"
            )
        )
    engine.dispose()

    proc = _migrate(tmp_path, empty_schema, "--rollback-to", "0004")
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert "rolled back to migration 0004" in out
    assert current_revision(pg_schema_url(empty_schema)) == "0004"
    tables = _rows(
        empty_schema,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    assert ("pending_recomputes",) not in tables  # 0005 is undone
    assert _rows(empty_schema, "SELECT email FROM users") == [("keeper@example.org",)]

    applied = [step.split()[0] for step in upgrade(pg_schema_url(empty_schema))]
    assert applied[0] == "0005" and applied[-1] == code_head()  # 0005 and all after it
    assert current_revision(pg_schema_url(empty_schema)) == code_head()
    assert _rows(empty_schema, "SELECT email FROM users") == [("keeper@example.org",)]


def test_rollback_to_an_unknown_revision_is_refused(tmp_path: Path, empty_schema: str) -> None:
    upgrade(pg_schema_url(empty_schema))
    proc = _migrate(tmp_path, empty_schema, "--rollback-to", "0042")
    _out, err = proc.communicate(timeout=90)
    assert proc.returncode == 3
    assert "no migration '0042'" in err
    assert current_revision(pg_schema_url(empty_schema)) == code_head()
