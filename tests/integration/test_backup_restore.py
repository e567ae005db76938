"""`matchday backup` and `matchday restore`: a database with a league in it is dumped, restored
into a fresh database, and every table compared (row count and a checksum of its rows);
old dumps beyond `--keep` are removed."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from models import Base
from models.backup import BackupError, backup, restore
from models.migrate import upgrade
from server.app import make_app
from tests.e2e.processes import MATCHDAY, matchday_env
from tests.support import (
    PG_ADMIN_URL,
    TEST_SECRET,
    Api,
    create_pg_schema,
    drop_pg_schema,
    pg_schema_url,
    settings_for,
)

SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.fixture
def schema() -> Iterator[str]:
    name = create_pg_schema()
    yield name
    drop_pg_schema(name)


@pytest.fixture
def fresh_database() -> Iterator[str]:
    name = f"restore_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def _a_league(database_url: str, tmp_path: Path) -> None:
    """Users, an event, teams, games, final scores, standings and audit entries."""
    app = await make_app(settings_for(database_url, tmp_path))
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    api = Api(f"http://127.0.0.1:{port}")
    try:
        token = await api.user("org@example.org")
        event_id = (await api.post("/api/v1/events", {"name": "Backup Cup"}, token=token)).json[
            "id"
        ]
        for team in ("Lions", "Tigers", "Bears", "Wolves"):
            await api.post(f"/api/v1/events/{event_id}/teams", {"name": team}, token=token)
        schedule = await api.post(
            f"/api/v1/events/{event_id}/schedule",
            {"format": "round_robin", "starts_at": "2026-06-01T15:00:00Z", "interval_minutes": 90},
            token=token,
        )
        for number, game in enumerate(schedule.json["games"]):
            reply = await api.put(
                f"/api/v1/games/{game['id']}/score",
                {"home_score": number % 3, "away_score": 1, "status": "final"},
                token=token,
            )
            assert reply.status == 200, reply.body
        await app.settled()
    finally:
        server.stop()
        await server.close_all_connections()
        await app.close()


def _contents(url: str, schema: str) -> dict[str, tuple[int, str]]:
    """Per table: (row count, md5 of its rows in a fixed order)."""
    engine = sa.create_engine(url)
    found = {}
    try:
        with engine.connect() as conn:
            for table in [*Base.metadata.sorted_tables, sa.table("alembic_version")]:
                row = conn.execute(
                    sa.text(
                        "SELECT count(*), "
                        "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                        f'FROM "{schema}"."{table.name}" t'
                    )
                ).one()
                found[table.name] = (int(row[0]), str(row[1]))
    finally:
        engine.dispose()
    return found


def _matchday(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = matchday_env(tmp_path, DATABASE_URL=database_url, JWT_SECRET=TEST_SECRET)
    return subprocess.run(
        [MATCHDAY, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.postgres
@pytest.mark.e2e  # `matchday backup` and `matchday restore` processes
async def test_backup_restores_into_a_fresh_database_with_identical_contents(
    tmp_path: Path, schema: str, fresh_database: str
) -> None:
    await _a_league(pg_schema_url(schema), tmp_path)
    original = _contents(PG_ADMIN_URL, schema)
    assert original["games"][0] == 6 and original["standings_snapshots"][0] > 0
    assert original["audit_entries"][0] > 0

    done = _matchday(tmp_path, pg_schema_url(schema), "backup", "--dir", str(tmp_path / "dumps"))
    assert done.returncode == 0, done.stderr
    dump = Path(done.stdout.strip())
    assert dump.parent == tmp_path / "dumps" and dump.suffix == ".dump"

    restored_url = f"{SERVER_URL}/{fresh_database}"
    done = _matchday(tmp_path, restored_url, "restore", str(dump))
    assert done.returncode == 0, done.stderr
    assert _contents(restored_url, schema) == original

    # Restoring again on top is refused as a whole: the restored data stays as it was.
    with pytest.raises(BackupError, match="pg_restore failed"):
        restore(dump, restored_url)
    assert _contents(restored_url, schema) == original


@pytest.mark.postgres
def test_backup_keeps_the_newest_dumps(tmp_path: Path, schema: str) -> None:
    dumps = tmp_path / "dumps"
    written = [backup(pg_schema_url(schema), dumps, keep=2) for _ in range(3)]
    assert sorted(dumps.iterdir()) == written[1:]  # the oldest is gone, no partial file left


@pytest.mark.postgres
def test_backup_of_an_unreachable_database_fails_with_a_message(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="cannot reach the database"):
        backup("postgresql+psycopg://postgres@127.0.0.1:1/test", tmp_path)
    assert list(tmp_path.glob("matchday-*")) == []


def test_the_embedded_default_is_backed_up_and_restored(tmp_path: Path) -> None:
    source = tmp_path / "matchday.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{source}")
    engine = sa.create_engine(f"sqlite:///{source}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (email, display_name, password_hash, role, created_at) "
                "VALUES ('fan@example.org', 'Fan', 'x', 'user', '2026-12-03 08:00:00')"
            )
        )
    engine.dispose()
    dump = backup(f"sqlite+aiosqlite:///{source}", tmp_path / "dumps")
    assert dump.suffix == ".sqlite3"
    target = tmp_path / "restored.sqlite3"
    restore(dump, f"sqlite+aiosqlite:///{target}")
    restored = sa.create_engine(f"sqlite:///{target}")
    with restored.connect() as conn:
        assert conn.execute(sa.text("SELECT email FROM users")).all() == [("fan@example.org",)]
    restored.dispose()
    with pytest.raises(BackupError, match="restore into a new file"):
        restore(dump, f"sqlite+aiosqlite:///{target}")
