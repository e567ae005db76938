"""`matchday demo`: a believable league — named teams, a full round robin, results, a live game."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from models import Event, Game, Team, User
from models.db import make_sync_engine, sync_session_factory
from models.domain.schedule import Fixture, assign_times, round_robin
from server.auth.passwords import hash_password
from server.dispatch import recompute_now

DEMO_EMAIL = "organizer@demo.matchday.local"
DEMO_PASSWORD = "summer-cup-organizer-2026"  # noqa: S105 — a documented demo account
DEMO_EVENT = "Summer Cup"
TEAMS = ["Lions", "Tigers", "Bears", "Wolves", "Eagles", "Sharks", "Falcons", "Hornets"]
VENUES = ["North Field", "South Field"]
PLAYED_ROUNDS = 4


def load_demo(settings: Settings) -> str:
    """Create the demo league unless it exists; returns a line saying what happened."""
    engine = make_sync_engine(settings)
    sessions = sync_session_factory(engine)
    try:
        with sessions.begin() as session:
            if session.scalar(select(Event.id).where(Event.name == DEMO_EVENT)) is not None:
                return f"demo league '{DEMO_EVENT}' already loaded"
            event_id = _build(session, settings)
        recompute_now(sessions, event_id)
    finally:
        engine.dispose()
    return (
        f"demo league '{DEMO_EVENT}' loaded (event {event_id}); "
        f"organizer login: {DEMO_EMAIL} / {DEMO_PASSWORD}"
    )


def _owner(session: Session, settings: Settings) -> User:
    owner = session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if owner is None:
        password_hash = hash_password(DEMO_PASSWORD, settings.bcrypt_rounds)
        owner = User(email=DEMO_EMAIL, display_name="Demo Organizer", password_hash=password_hash)
        session.add(owner)
        session.flush()
    return owner


def _build(session: Session, settings: Settings) -> int:
    event = Event(
        name=DEMO_EVENT,
        sport="football",
        owner_id=_owner(session, settings).id,
        visibility="public",
        scoring={"win": 3, "draw": 1, "loss": 0},
        tiebreakers=["score_diff", "score_for", "head_to_head"],
    )
    session.add(event)
    session.flush()
    teams = [Team(event_id=event.id, name=name) for name in TEAMS]
    session.add_all(teams)
    session.flush()
    start = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0) - timedelta(
        days=7
    )
    fixtures = assign_times(round_robin([t.id for t in teams]), start, 24 * 60, VENUES)
    session.add_all(_games(event.id, fixtures))
    return event.id


def _games(event_id: int, fixtures: list[Fixture]) -> list[Game]:
    rng = random.Random(2026)  # noqa: S311 — repeatable demo scores, not security
    games = []
    for index, fixture in enumerate(fixtures):
        game = Game(
            event_id=event_id,
            home_team_id=fixture.home_team_id,
            away_team_id=fixture.away_team_id,
            round=fixture.round,
            starts_at=fixture.starts_at,
            venue=fixture.venue,
            status="scheduled",
        )
        if fixture.round <= PLAYED_ROUNDS:
            game.status, game.home_score, game.away_score = (
                "final",
                rng.randint(0, 4),
                rng.randint(0, 3),
            )
        elif fixture.round == PLAYED_ROUNDS + 1 and index % 4 == 0:
            game.status, game.home_score, game.away_score = "live", 1, 0
        games.append(game)
    return games
