"""Migrations go up, down and up again on the real PostgreSQL (and on SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Base, Event, PendingRecompute, StandingsSnapshot, User
from models.migrate import downgrade, upgrade
from tests.support import PG_ADMIN_URL, create_pg_schema, drop_pg_schema, pg_schema_url


def _tables(sync_url: str, schema: str | None) -> set[str]:
    engine = sa.create_engine(sync_url)
    try:
        return set(sa.inspect(engine).get_table_names(schema=schema)) - {"alembic_version"}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_upgrade_downgrade_upgrade_on_postgresql() -> None:
    schema = create_pg_schema()  # already at head
    try:
        expected = {table.name for table in Base.metadata.sorted_tables}
        assert _tables(PG_ADMIN_URL, schema) == expected
        downgrade(pg_schema_url(schema))
        assert _tables(PG_ADMIN_URL, schema) == set()
        upgrade(pg_schema_url(schema))
        assert _tables(PG_ADMIN_URL, schema) == expected
    finally:
        drop_pg_schema(schema)


def test_upgrade_downgrade_upgrade_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    sync = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url)
    assert _tables(sync, None) == {table.name for table in Base.metadata.sorted_tables}
    downgrade(url)
    assert _tables(sync, None) == set()
    upgrade(url)
    assert "games" in _tables(sync, None)


def _status_check(sync_url: str, schema: str | None) -> str:
    engine = sa.create_engine(sync_url)
    try:
        checks = sa.inspect(engine).get_check_constraints("games", schema=schema)
    finally:
        engine.dispose()
    return next(c["sqltext"] for c in checks if c["name"] == "ck_games_status")


def test_0007_lets_games_be_postponed_and_back_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    sync = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url, "0005")
    assert "postponed" not in _status_check(sync, None)
    upgrade(url)
    assert "postponed" in _status_check(sync, None)
    downgrade(url, "0005")
    assert "postponed" not in _status_check(sync, None)


@pytest.mark.postgres
def test_0007_lets_games_be_postponed_on_postgresql() -> None:
    schema = create_pg_schema()  # already at head
    try:
        assert "postponed" in _status_check(PG_ADMIN_URL, schema)
        downgrade(pg_schema_url(schema), "0005")
        assert "postponed" not in _status_check(PG_ADMIN_URL, schema)
    finally:
        drop_pg_schema(schema)


def _event_with_a_stored_table(sync_url: str) -> int:
    """An event whose snapshot predates `decided_by` (rows without it)."""
    engine = sa.create_engine(sync_url)
    try:
        with Session(engine) as session, session.begin():
            owner = User(email="o@example.com", display_name="O", password_hash="x")
            session.add(owner)
            session.flush()
            event = Event(name="Old", scoring={"win": 3, "draw": 1, "loss": 0}, tiebreakers=[])
            event.owner_id = owner.id
            session.add(event)
            session.flush()
            session.add(StandingsSnapshot(event_id=event.id, version=3, rows=[]))
            return event.id
    finally:
        engine.dispose()


def _owed(sync_url: str) -> list[tuple[int, int]]:
    engine = sa.create_engine(sync_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(PendingRecompute.event_id, PendingRecompute.requested_at))
            return [(event_id, requested_at.year) for event_id, requested_at in rows]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_0009_owes_every_stored_table_a_recompute_on_postgresql() -> None:
    schema = create_pg_schema()
    try:
        downgrade(pg_schema_url(schema), "0008")
        event_id = _event_with_a_stored_table(pg_schema_url(schema))
        upgrade(pg_schema_url(schema))
        # Overdue from the start: the sweeper queues it on its first round.
        assert _owed(pg_schema_url(schema)) == [(event_id, 2000)]
    finally:
        drop_pg_schema(schema)


def test_0009_owes_every_stored_table_a_recompute_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    sync = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url, "0008")
    event_id = _event_with_a_stored_table(sync)
    upgrade(url)
    assert _owed(sync) == [(event_id, 2000)]


def test_0010_gives_existing_games_no_periods_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        upgrade(url, "0009")
        with engine.begin() as conn:  # SQLite enforces no foreign keys here: ids made up
            conn.execute(
                sa.text(
                    "INSERT INTO games (id, event_id, home_team_id, away_team_id, home_score,"
                    " away_score, status, version, created_at, updated_at) VALUES (1, 1, 1, 2,"
                    " 2, 1, 'final', 1, '2026-12-01 12:00:00', '2026-12-01 12:00:00')"
                )
            )
        upgrade(url)
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT periods FROM games WHERE id = 1")).scalar()
        assert json.loads(stored) == []
        downgrade(url, "0009")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("games")}
        assert "periods" not in columns and "home_score" in columns
    finally:
        engine.dispose()
