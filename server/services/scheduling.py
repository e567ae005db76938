"""Turning a schedule request into games, and drawing knockout rounds as winners emerge."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, Game, Team, User
from models.domain import schedule as rules
from server.policy import Need
from server.schemas.games import GameSchema
from server.services import audit
from server.services.errors import Conflict, InvalidInput
from server.services.events import event_teams, load_event
from server.unit_of_work import publish

GAME = GameSchema()

ROUND_ROBINS = {"round_robin": rules.round_robin, "double_round_robin": rules.double_round_robin}


def _by_group(teams: list[Team]) -> list[list[int]]:
    groups: dict[str | None, list[int]] = defaultdict(list)
    for team in teams:
        groups[team.group].append(team.id)
    return list(groups.values())


def _round_robin_fixtures(fmt: str, teams: list[Team]) -> list[rules.Fixture]:
    # Each group plays its own round robin; groups share round numbers (and time slots).
    fixtures = [f for ids in _by_group(teams) for f in ROUND_ROBINS[fmt](ids)]
    return sorted(fixtures, key=lambda f: f.round)


def _seeds(teams: list[Team], seeds: list[int] | None) -> list[int]:
    ids = [team.id for team in teams]
    if seeds is None:
        return ids
    if sorted(seeds) != sorted(ids):
        raise InvalidInput(
            "seeds must list every team of the event exactly once",
            details={"seeds": ["must list every team of the event exactly once"]},
        )
    return seeds


async def schedule_event(
    session: AsyncSession, event_id: int, user: User, request: dict[str, Any]
) -> list[dict[str, Any]]:
    """Generate and store an event's games (audited, each published as a `game` event);
    returns their payloads."""
    event = await load_event(session, event_id, user, Need.MANAGE, lock=True)
    games = await generate_schedule(session, event, request)
    details = {"schedule": request["format"], "games": len(games)}
    audit.record(session, "game.create", "event", event.id, details)
    payloads: list[dict[str, Any]] = GAME.dump(games, many=True)
    for payload in payloads:
        publish(session, event.id, "game", payload)
    return payloads


async def generate_schedule(
    session: AsyncSession, event: Event, request: dict[str, Any]
) -> list[Game]:
    if await session.scalar(select(Game.id).where(Game.event_id == event.id).limit(1)):
        raise Conflict("the event already has games", code="already_scheduled")
    teams = await event_teams(session, event.id)
    if len(teams) < 2:
        raise InvalidInput("add at least two teams first", details={"format": ["needs two teams"]})
    fmt = request["format"]
    options = {
        "format": fmt,
        "interval_minutes": request["interval_minutes"],
        "venues": request["venues"],
    }
    if fmt in ROUND_ROBINS:
        fixtures = _round_robin_fixtures(fmt, teams)
    else:
        pairs = rules.elimination_bracket(_seeds(teams, request.get("seeds")))
        options["bracket"] = [list(pair) for pair in pairs]
        fixtures = [rules.Fixture(1, home, away) for home, away in pairs if away is not None]
    event.schedule = options
    timed = rules.assign_times(
        fixtures, request["starts_at"], request["interval_minutes"], request["venues"]
    )
    return await _store(session, event, timed)


async def _store(session: AsyncSession, event: Event, fixtures: list[rules.Fixture]) -> list[Game]:
    games = [
        Game(
            event_id=event.id,
            home_team_id=f.home_team_id,
            away_team_id=f.away_team_id,
            round=f.round,
            starts_at=f.starts_at,
            venue=f.venue,
            status="scheduled",
        )
        for f in fixtures
    ]
    session.add_all(games)
    await session.flush()
    return games


def knockout_winner(game: Game) -> int:
    assert game.home_score is not None and game.away_score is not None
    return game.home_team_id if game.home_score > game.away_score else game.away_team_id


def require_knockout_winner(event: Event, game: Game, home: int, away: int, status: str) -> None:
    if status == "final" and home == away and _is_knockout(event, game):
        raise InvalidInput(
            "a knockout game needs a winner",
            details={"away_score": ["must differ from home_score"]},
        )


def _is_knockout(event: Event, game: Game) -> bool:
    fmt = (event.schedule or {}).get("format")
    return fmt == "single_elimination" and game.round is not None


async def advance_knockout(session: AsyncSession, event: Event, finished: Game) -> list[Game]:
    """Draw the next round once every game of `finished`'s round is final."""
    if not _is_knockout(event, finished):
        return []
    rnd = finished.round
    assert rnd is not None
    round_games = list(
        await session.scalars(
            select(Game).where(Game.event_id == event.id, Game.round == rnd).order_by(Game.id)
        )
    )
    later = await session.scalar(
        select(Game.id).where(Game.event_id == event.id, Game.round == rnd + 1).limit(1)
    )
    if later is not None or any(g.status != "final" for g in round_games):
        return []
    winners = _winners(event, rnd, round_games)
    if len(winners) < 2:
        return []  # the final is decided
    fixtures = rules.next_elimination_round(rnd + 1, winners)
    return await _store(session, event, _next_times(event, fixtures, round_games))


def _winners(event: Event, rnd: int, round_games: list[Game]) -> list[int]:
    if rnd != 1:
        return [knockout_winner(g) for g in round_games]
    by_pair = {(g.home_team_id, g.away_team_id): knockout_winner(g) for g in round_games}
    bracket = (event.schedule or {}).get("bracket", [])
    return [home if away is None else by_pair[(home, away)] for home, away in bracket]


def _next_times(
    event: Event, fixtures: list[rules.Fixture], previous: list[Game]
) -> list[rules.Fixture]:
    options = event.schedule or {}
    times = [g.starts_at for g in previous if g.starts_at is not None]
    interval = int(options.get("interval_minutes", 120))
    start: datetime | None = max(times) + timedelta(minutes=interval) if times else None
    return rules.assign_times(fixtures, start, interval, options.get("venues", []))
