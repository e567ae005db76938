"""deploy/postgres on a PostgreSQL of the test's own (initdb; the shared one is never
reconfigured): pg_stat_statements and `matchday db top-queries`, and point-in-time recovery —
WAL archived by archive-wal.sh, a base backup by base-backup.sh, more writes, a bad write,
then restore-pitr.sh back to the moment before the bad write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from models.migrate import upgrade
from tests.e2e.own_postgres import OwnPostgres, _bin_dir, own_postgres
from tests.e2e.processes import MATCHDAY, matchday_env
from tests.support import TEST_SECRET

pytestmark = [pytest.mark.e2e]
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "postgres"


def _as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    full = list(command)
    if os.geteuid() == 0:
        full = ["runuser", "-u", "postgres", "--", *full]
    env = {**os.environ, "PATH": f"{_bin_dir()}:{os.environ['PATH']}"}
    return subprocess.run(full, check=True, capture_output=True, text=True, env=env)


def _configure(server: OwnPostgres, archive: Path) -> None:
    """deploy/postgres/postgresql.conf, with the archive command pointed at this test's dirs."""
    conf = server.data / "postgresql.conf"
    with conf.open("a") as handle:
        handle.write(f"\ninclude '{DEPLOY / 'postgresql.conf'}'\n")
        handle.write(
            f"archive_command = '{DEPLOY / 'archive-wal.sh'} %p %f {archive}'\n"
            "log_min_duration_statement = -1\n"
        )
    server.stop()
    server.start()


@pytest.fixture
def configured() -> Iterator[tuple[OwnPostgres, Path]]:
    with own_postgres() as server:
        archive = server.root / "wal-archive"
        _configure(server, archive)
        _as_postgres(
            "psql", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
            "-v", "ON_ERROR_STOP=1", "-f", str(DEPLOY / "init.sql"),
        )  # fmt: skip
        yield server, archive


def _execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def _scalar(url: str, statement: str) -> object:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(statement)).scalar()
    finally:
        engine.dispose()


def _users(url: str, prefix: str, count: int) -> None:
    _execute(
        url,
        "INSERT INTO users (email, display_name, password_hash, role, created_at) "
        f"SELECT '{prefix}' || g || '@example.org', 'u', 'x', 'user', now() "
        f"FROM generate_series(1, {count}) g",
    )


def test_top_queries_come_from_pg_stat_statements(
    configured: tuple[OwnPostgres, Path], tmp_path: Path
) -> None:
    server, _archive = configured
    upgrade(server.url)
    _users(server.url, "fan", 50)
    for _ in range(20):
        _scalar(server.url, "SELECT count(*) FROM users WHERE email LIKE 'fan%'")
    done = subprocess.run(
        [MATCHDAY, "db", "top-queries", "--json", "--limit", "50"],
        env=matchday_env(tmp_path, DATABASE_URL=server.url, JWT_SECRET=TEST_SECRET),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    counted = [row for row in rows if "FROM users WHERE email LIKE" in row["query"]]
    assert counted and counted[0]["calls"] >= 20  # normalised: one entry, every call
    totals = [row["total_ms"] for row in rows]
    assert totals == sorted(totals, reverse=True)  # costliest first


def test_top_queries_say_what_is_missing_without_the_extension(tmp_path: Path) -> None:
    with own_postgres() as plain:  # initdb defaults: no pg_stat_statements
        done = subprocess.run(
            [MATCHDAY, "db", "top-queries"],
            env=matchday_env(tmp_path, DATABASE_URL=plain.url, JWT_SECRET=TEST_SECRET),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert "CREATE EXTENSION pg_stat_statements" in done.stderr
    assert "Traceback" not in done.stderr


def _archived(url: str) -> None:
    """Close the current WAL segment and wait until the archiver has copied it."""
    segment = _scalar(url, "SELECT pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + 30
    while str(_scalar(url, "SELECT last_archived_wal FROM pg_stat_archiver") or "") < str(segment):
        assert time.monotonic() < deadline, "WAL was not archived"
        time.sleep(0.1)


def test_point_in_time_recovery_to_before_a_bad_write(
    configured: tuple[OwnPostgres, Path],
) -> None:
    server, archive = configured
    upgrade(server.url)
    _users(server.url, "before-backup", 10)
    backups = server.root / "backups"
    base = Path(
        _as_postgres(
            str(DEPLOY / "base-backup.sh"),
            f"postgresql://postgres@127.0.0.1:{server.port}/postgres",
            str(backups),
            str(archive),
            "2",
        ).stdout.strip()
    )
    assert (base / "base.tar.gz").exists()
    _users(server.url, "after-backup", 5)  # only in the WAL archive
    time.sleep(1.1)
    target = datetime.now(UTC)
    time.sleep(1.1)
    _execute(server.url, "DELETE FROM users")  # the bad write, after the target time
    _archived(server.url)
    assert _scalar(server.url, "SELECT count(*) FROM users") == 0

    restored_root = Path(tempfile.mkdtemp(prefix="matchday-pitr-"))
    bin_dir = _bin_dir()
    assert bin_dir is not None
    try:
        if os.geteuid() == 0:
            shutil.chown(restored_root, "postgres")
        restored = OwnPostgres(bin_dir, restored_root)
        _as_postgres(
            str(DEPLOY / "restore-pitr.sh"),
            str(base),
            str(archive),
            str(restored.data),
            target.isoformat(sep=" "),
        )
        restored.start()
        try:
            deadline = time.monotonic() + 30
            while _scalar(restored.url, "SELECT pg_is_in_recovery()"):
                assert time.monotonic() < deadline, "the restored server did not promote"
                time.sleep(0.1)
            emails = _scalar(
                restored.url,
                "SELECT string_agg(DISTINCT split_part(email, '1', 1), ',' ORDER BY "
                "split_part(email, '1', 1)) FROM users WHERE email LIKE '%1@%'",
            )
            assert emails == "after-backup,before-backup"
            assert _scalar(restored.url, "SELECT count(*) FROM users") == 15
            # Promoted: it takes writes again.
            _users(restored.url, "after-restore", 1)
        finally:
            restored.stop()
    finally:
        shutil.rmtree(restored_root, ignore_errors=True)
