"""Turning a schedule request into games, and drawing knockout rounds as winners emerge."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, Game, Team, User
from models.bulk import insert_returning
from models.domain import schedule as rules
from models.domain.constraints import Booking, Rules, Violation
from server.blocking import BlockingRunner
from server.policy import Need
from server.schemas.fields import utc_text
from server.schemas.games import GameSchema
from server.services import audit, conflicts
from server.services.errors import Conflict, InvalidInput
from server.services.events import event_teams, load_event
from server.services.imports import GAME_COLUMNS, GAMES, game_payload
from server.unit_of_work import publish_many

# A preview game carries every field of a stored one; those not known yet are null.
GAME_FIELDS = tuple(GameSchema().fields)

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


@dataclass(frozen=True)
class GeneratedSchedule:
    """A schedule as the response carries it: the body (JSON, built off the loop) and, once
    stored, each game's JSON for its `game` event."""

    body: str
    game_events: list[str]


@dataclass(frozen=True)
class Draft:
    options: dict[str, Any]
    fixtures: list[rules.Fixture]
    violations: list[Violation]
    names: dict[int, str]  # the event's team names by id, for the games' payloads


async def schedule_event(
    session: AsyncSession,
    event_id: int,
    user: User,
    request: dict[str, Any],
    blocking: BlockingRunner,
    *,
    dry_run: bool = False,
) -> GeneratedSchedule:
    """Generate an event's games, keeping its schedule rules, and store them (audited, each
    published as a `game` event); a dry run answers the games and the rules they would break,
    and stores nothing. A season of 10,000 games is built, checked and serialised in the
    blocking runner and stored with Core INSERTs, so the event loop stays free."""
    event = await load_event(session, event_id, user, Need.MANAGE, lock=True)
    draft = await draft_schedule(session, event, request, blocking)
    if dry_run:
        return await blocking.run(_preview, event.id, draft)
    conflicts.require_none(draft.violations)
    event.schedule = draft.options
    rows = [_row(event.id, f) for f in draft.fixtures]
    stored = await insert_returning(session, GAMES, rows, *GAME_COLUMNS)
    result = await blocking.run(_serialise, stored, draft.names)
    details = {"schedule": request["format"], "games": len(result.game_events)}
    audit.record(session, "game.create", "event", event.id, details)
    await publish_many(session, event.id, "game", result.game_events)
    return result


async def draft_schedule(
    session: AsyncSession, event: Event, request: dict[str, Any], blocking: BlockingRunner
) -> Draft:
    """The games a request would create, timed within the event's rules, and what they would
    break (nothing, unless the rules leave no room)."""
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
        fixtures = await blocking.run(_round_robin_fixtures, fmt, teams)
    else:
        pairs = rules.elimination_bracket(_seeds(teams, request.get("seeds")))
        options["bracket"] = [list(pair) for pair in pairs]
        fixtures = [rules.Fixture(1, home, away) for home, away in pairs if away is not None]
    event_rules = conflicts.event_rules(event)
    try:
        timed, found = await blocking.run(_timed_and_checked, fixtures, request, event_rules)
    except ValueError as exc:  # e.g. the blackout dates leave no day to play
        raise InvalidInput(str(exc), details={"schedule_rules": [str(exc)]}) from exc
    return Draft(options, timed, found, {team.id: team.name for team in teams})


def _timed_and_checked(
    fixtures: list[rules.Fixture], request: dict[str, Any], event_rules: Rules
) -> tuple[list[rules.Fixture], list[Violation]]:
    timed = rules.assign_times(
        fixtures, request["starts_at"], request["interval_minutes"], request["venues"], event_rules
    )
    bookings = [
        Booking(-1 - i, None, f.home_team_id, f.away_team_id, f.starts_at, f.venue)
        for i, f in enumerate(timed)
    ]
    return timed, conflicts.check(event_rules, [], bookings)


def _row(event_id: int, fixture: rules.Fixture) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "home_team_id": fixture.home_team_id,
        "away_team_id": fixture.away_team_id,
        "round": fixture.round,
        "starts_at": fixture.starts_at,
        "venue": fixture.venue,
        "status": "scheduled",
    }


def _json(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _serialise(stored: list[Row[Any]], names: dict[int, str]) -> GeneratedSchedule:
    """Stored games in id order (blocking runner; one dumps per game keeps each piece short)."""
    games = [_json(game_payload(row, names)) for row in sorted(stored, key=lambda row: row.id)]
    return GeneratedSchedule('{"games":[' + ",".join(games) + "]}", games)


def _preview_game(event_id: int, fixture: rules.Fixture, names: dict[int, str]) -> dict[str, Any]:
    known = {
        **_row(event_id, fixture),
        "starts_at": None if fixture.starts_at is None else utc_text(fixture.starts_at),
        "home_team_name": names[fixture.home_team_id],
        "away_team_name": names[fixture.away_team_id],
        "periods": [],
    }
    return {name: known.get(name) for name in GAME_FIELDS}


def _preview(event_id: int, draft: Draft) -> GeneratedSchedule:
    games = [_json(_preview_game(event_id, f, draft.names)) for f in draft.fixtures]
    violations = _json(conflicts.violation_details(draft.violations))
    body = '{"games":[' + ",".join(games) + '],"violations":' + violations + ',"dry_run":true}'
    return GeneratedSchedule(body, [])


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
    event_rules = conflicts.event_rules(event)
    # The next round waits for the last game of this one to end (and the teams' rest).
    wait = max(timedelta(minutes=interval), event_rules.length + event_rules.rest)
    start: datetime | None = max(times) + wait if times else None
    return rules.assign_times(fixtures, start, interval, options.get("venues", []), event_rules)
