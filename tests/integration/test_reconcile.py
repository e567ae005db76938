"""The reconcile task's notion of a stale table (workers/maintenance.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from models import Event, Game, StandingsSnapshot, Team, User
from models.base import utcnow
from tests.support import sqlite_copy
from workers.maintenance import stale_events


def test_a_table_stored_after_a_final_it_did_not_read_is_stale(
    sqlite_template_file: Path, tmp_path: Path
) -> None:
    url = sqlite_copy(sqlite_template_file, tmp_path).replace("+aiosqlite", "")
    engine = sa.create_engine(url)
    sessions = sessionmaker(engine)
    now = utcnow()
    with sessions.begin() as session:
        owner = User(email="o@example.com", display_name="O", password_hash="x")
        session.add(owner)
        session.flush()
        scoring = {"win": 3, "draw": 1, "loss": 0}
        fresh, raced = (
            Event(owner_id=owner.id, name=name, scoring=scoring, tiebreakers=[])
            for name in ("Fresh", "Raced")
        )
        session.add_all([fresh, raced])
        session.flush()
        for event in (fresh, raced):
            home, away = Team(event_id=event.id, name="A"), Team(event_id=event.id, name="B")
            session.add_all([home, away])
            session.flush()
            session.add(
                Game(
                    event_id=event.id,
                    home_team_id=home.id,
                    away_team_id=away.id,
                    status="final",
                    home_score=1,
                    away_score=0,
                    updated_at=now,
                )
            )
        # Fresh read the final. Raced read the games just before the final committed, and
        # was stored after it: stored later than the game, computed from older data.
        session.add_all(
            [
                StandingsSnapshot(
                    event_id=fresh.id, version=1, rows=[], computed_from=now, updated_at=now
                ),
                StandingsSnapshot(
                    event_id=raced.id,
                    version=1,
                    rows=[],
                    computed_from=now - timedelta(seconds=1),
                    updated_at=now + timedelta(seconds=1),
                ),
            ]
        )
        fresh_id, raced_id = fresh.id, raced.id
    try:
        assert stale_events(sessions) == [raced_id]
        assert fresh_id not in stale_events(sessions)
    finally:
        engine.dispose()
