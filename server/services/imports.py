"""CSV import and export of an event's teams and games, against the database.

The format and every validation rule live in the pure module ``csv_import``; this one reads
what the rules need (the event's team names, whether it is a knockout bracket), stores a
validated plan in one unit of work, and gathers the rows of an export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, Game, Team, User
from server.policy import Need
from server.schemas.events import TeamSchema
from server.schemas.games import GameSchema
from server.services import audit
from server.services.csv_import import (
    ExportGame,
    ExportTeam,
    ImportPlan,
    RowError,
    team_key,
)
from server.services.errors import Conflict
from server.services.events import event_teams, load_event
from server.services.games import event_games
from server.unit_of_work import publish, recompute

TEAM = TeamSchema()
GAME = GameSchema()


@dataclass(frozen=True)
class ImportContext:
    """What `parse_import` needs to know about the event."""

    team_names: list[str]
    knockout: bool


@dataclass(frozen=True)
class ImportResult:
    teams: list[Team]
    games: list[Game]


class PlanOutdated(Exception):
    """The event changed between validation and storing; `errors` say where."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("the event changed while the file was checked")
        self.errors = errors


def is_knockout(event: Event) -> bool:
    return (event.schedule or {}).get("format") == "single_elimination"


async def import_context(session: AsyncSession, event: Event) -> ImportContext:
    teams = await event_teams(session, event.id)
    return ImportContext([team.name for team in teams], is_knockout(event))


async def apply_plan(session: AsyncSession, event: Event, plan: ImportPlan) -> ImportResult:
    """Store every team, then every game, of a validated plan (the caller's unit of work
    commits them together). The plan was checked against the event's teams as they were:
    if a team of a planned name appeared since, PlanOutdated names the rows."""
    existing = {team_key(team.name): team for team in await event_teams(session, event.id)}
    planned = {team_key(team.name) for team in plan.teams}
    problems = [
        RowError(team.row, "name", f"the event already has a team named {team.name!r}")
        for team in plan.teams
        if team_key(team.name) in existing
    ] + [
        RowError(game.row, column, f"no team named {name!r} in the event any more")
        for game in plan.games
        for column, name in (("home", game.home), ("away", game.away))
        if team_key(name) not in existing and team_key(name) not in planned
    ]
    if problems:
        raise PlanOutdated(problems)
    teams = [Team(event_id=event.id, name=team.name, group=team.group) for team in plan.teams]
    session.add_all(teams)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent POST /teams won the race for a name
        raise Conflict(
            "a team with this name was added meanwhile; retry the import", code="team_name_taken"
        ) from exc
    by_key = {**existing, **{team_key(team.name): team for team in teams}}
    games = [
        Game(
            event_id=event.id,
            home_team_id=by_key[team_key(game.home)].id,
            away_team_id=by_key[team_key(game.away)].id,
            starts_at=game.starts_at,
            venue=game.venue,
            round=game.round,
            home_score=game.home_score,
            away_score=game.away_score,
            status=game.status,
        )
        for game in plan.games
    ]
    session.add_all(games)
    await session.flush()
    return ImportResult(teams, games)


async def run_import(
    session: AsyncSession, event_id: int, user: User, plan: ImportPlan, size: int
) -> dict[str, Any]:
    """Store a validated plan (audited; each game published as a `game` event; the table
    recomputed when teams or final scores arrive); returns the teams and games created."""
    event = await load_event(session, event_id, user, Need.MANAGE, lock=True)
    result = await apply_plan(session, event, plan)
    payload: dict[str, Any] = {
        "teams": TEAM.dump(result.teams, many=True),
        "games": GAME.dump(result.games, many=True),
    }
    counts = {
        "teams": len(result.teams),
        "games": len(result.games),
        "final_games": plan.final_games,
        "bytes": size,
    }
    audit.record(session, "import.run", "event", event.id, counts)
    for game in payload["games"]:
        publish(session, event.id, "game", game)
    if result.teams or plan.final_games:
        recompute(session, event.id)  # new teams join the table; final scores count
    return payload


async def export_rows(
    session: AsyncSession, event: Event
) -> tuple[list[ExportTeam], list[ExportGame]]:
    """Teams and games in the order they were created, games naming their teams."""
    teams = await event_teams(session, event.id)
    names = {team.id: team.name for team in teams}
    games = [
        ExportGame(
            home=names[game.home_team_id],
            away=names[game.away_team_id],
            starts_at=game.starts_at,
            venue=game.venue,
            round=game.round,
            home_score=game.home_score,
            away_score=game.away_score,
            status=game.status,
        )
        for game in await event_games(session, event.id)
    ]
    return [ExportTeam(team.name, team.group) for team in teams], games
