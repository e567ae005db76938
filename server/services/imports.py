"""CSV import and export of an event's teams and games, against the database.

The format and every validation rule live in the pure module ``csv_import``; this one reads
what the rules need (the event's team names, whether it is a knockout bracket), stores a
validated plan in one unit of work, and gathers the rows of an export.

An import holds up to 10,000 rows, and spectators' streams share the event loop with it: rows
go in with Core INSERTs a slice at a time (models/bulk.py), and the work done per row in
Python (the rows to insert, each game's JSON for its live event and for the response) runs in
the blocking runner the caller passes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models import Event, Game, Team, User
from models.bulk import insert_returning, read_rows, table_of
from models.domain.constraints import Booking, Rules, Violation
from models.domain.game_state import OFF_SCHEDULE
from server.blocking import BlockingRunner
from server.policy import Need
from server.schemas.events import TeamSchema
from server.schemas.fields import utc_text
from server.schemas.games import GameSchema
from server.services import audit, conflicts
from server.services.csv_import import (
    ExportGame,
    ExportTeam,
    GamePlan,
    ImportPlan,
    RowError,
    TeamPlan,
    team_key,
)
from server.services.errors import Conflict
from server.services.events import event_teams, load_event
from server.unit_of_work import publish_many, recompute, touch_event

TEAMS = table_of(Team)
GAMES = table_of(Game)
# What the API shows of a team or a game is its schema's fields, all of them columns: the
# stored rows come back with exactly those, in the schema's order (`group` is `group_name`).
TEAM_COLUMNS = tuple(
    TEAMS.c.group_name.label("group") if name == "group" else TEAMS.c[name]
    for name in TeamSchema().fields
)
GAME_COLUMNS = tuple(GAMES.c[name] for name in GameSchema().fields if name in GAMES.c)
by_id = attrgetter("id")


@dataclass(frozen=True)
class ImportContext:
    """What `parse_import` needs to know about the event."""

    team_names: list[str]
    knockout: bool


@dataclass(frozen=True)
class StoredImport:
    """What an import stored, serialised: each game's JSON (its `game` event) and the
    response body, byte for byte what TeamSchema and GameSchema dumps written by
    ``BaseHandler.write_json`` would be."""

    teams: int
    games: int
    game_events: list[str]
    body: str


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


def outdated_rows(plan: ImportPlan, team_ids: dict[str, int]) -> list[RowError]:
    """The plan was checked against the event's teams as they were: the rows that no longer
    fit (a team of a planned name appeared since, or a team a game uses went away)."""
    planned = {team_key(team.name) for team in plan.teams}
    return [
        RowError(team.row, "name", f"the event already has a team named {team.name!r}")
        for team in plan.teams
        if team_key(team.name) in team_ids
    ] + [
        RowError(game.row, column, f"no team named {name!r} in the event any more")
        for game in plan.games
        for column, name in (("home", game.home), ("away", game.away))
        if team_key(name) not in team_ids and team_key(name) not in planned
    ]


def game_rows(
    event_id: int, games: list[GamePlan], team_ids: dict[str, int]
) -> list[dict[str, Any]]:
    """The `games` rows of a plan (blocking runner: 10,000 of them take tens of ms)."""
    return [
        {
            "event_id": event_id,
            "home_team_id": team_ids[team_key(game.home)],
            "away_team_id": team_ids[team_key(game.away)],
            "starts_at": game.starts_at,
            "venue": game.venue,
            "round": game.round,
            "home_score": game.home_score,
            "away_score": game.away_score,
            "status": game.status,
        }
        for game in games
    ]


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def game_payload(row: Row[Any], names: dict[int, str]) -> dict[str, Any]:
    """What the game list gives, from a row of GAME_COLUMNS and the event's team names by id
    (marshmallow takes ~0.1 ms a game)."""
    payload = row._asdict()
    if payload["starts_at"] is not None:
        payload["starts_at"] = utc_text(payload["starts_at"])
    payload["home_team_name"] = names[payload["home_team_id"]]
    payload["away_team_name"] = names[payload["away_team_id"]]
    return payload


def serialise_import(
    teams: list[Row[Any]], games: list[Row[Any]], names: dict[int, str]
) -> StoredImport:
    """Teams and games as stored, in the order they were stored (blocking runner). One
    `json.dumps` per row, not one over the whole list: a single call holds the interpreter,
    and with it the event loop, for its whole length (~150 ms for 10,000 games)."""
    team_json = [_json(row._asdict()) for row in sorted(teams, key=by_id)]
    game_json = [_json(game_payload(row, names)) for row in sorted(games, key=by_id)]
    body = '{"teams":[' + ",".join(team_json) + '],"games":[' + ",".join(game_json) + "]}"
    return StoredImport(len(team_json), len(game_json), game_json, body)


async def _insert_teams(
    session: AsyncSession, event_id: int, teams: list[TeamPlan]
) -> list[Row[Any]]:
    rows = [{"event_id": event_id, "name": team.name, "group_name": team.group} for team in teams]
    try:
        return await insert_returning(session, TEAMS, rows, *TEAM_COLUMNS)
    except IntegrityError as exc:  # a concurrent POST /teams won the race for a name
        raise Conflict(
            "a team with this name was added meanwhile; retry the import", code="team_name_taken"
        ) from exc


async def apply_plan(
    session: AsyncSession, event: Event, plan: ImportPlan, blocking: BlockingRunner
) -> StoredImport:
    """Store every team, then every game, of a validated plan (the caller's unit of work
    commits them together); PlanOutdated if the event's teams changed since the check."""
    known = await event_teams(session, event.id)
    team_ids = {team_key(team.name): team.id for team in known}
    names = {team.id: team.name for team in known}
    problems = outdated_rows(plan, team_ids)
    if problems:
        raise PlanOutdated(problems)
    teams = await _insert_teams(session, event.id, plan.teams)
    team_ids.update((team_key(row.name), row.id) for row in teams)
    names.update((row.id, row.name) for row in teams)
    rows = await blocking.run(game_rows, event.id, plan.games, team_ids)
    existing = await conflicts.timed_games(session, event.id)
    found = await blocking.run(_check, conflicts.event_rules(event), existing, rows)
    if found:
        raise _conflict(found, plan.games)
    games = await insert_returning(session, GAMES, rows, *GAME_COLUMNS)
    return await blocking.run(serialise_import, teams, games, names)


def _check(rules: Rules, existing: list[Booking], rows: list[dict[str, Any]]) -> list[Violation]:
    """What the file's games break, among themselves or with the event's (blocking runner).
    Key -1 - i is the plan's game i."""
    new = [
        Booking(-1 - i, None, r["home_team_id"], r["away_team_id"], r["starts_at"], r["venue"])
        for i, r in enumerate(rows)
        if r["status"] not in OFF_SCHEDULE
    ]
    return conflicts.check(rules, existing, new)


def _conflict(found: list[Violation], games: list[GamePlan]) -> Conflict:
    """The 409, each violation also naming the CSV rows (header = row 1) of the file's games."""
    error = conflicts.conflict(found)
    for violation, shown in zip(found, error.details["violations"], strict=True):
        shown["rows"] = [games[-1 - key].row for key in violation.keys if key < 0]
    return error


async def run_import(
    session: AsyncSession,
    event_id: int,
    user: User,
    plan: ImportPlan,
    size: int,
    blocking: BlockingRunner,
) -> StoredImport:
    """Store a validated plan (audited; each game published as a `game` event; the table
    recomputed when teams or final scores arrive); the response body lists what was created."""
    event = await load_event(session, event_id, user, Need.MANAGE, lock=True)
    stored = await apply_plan(session, event, plan, blocking)
    touch_event(session, event.id)  # teams and games went in as Core INSERTs
    final_games = plan.final_games
    counts = {
        "teams": stored.teams,
        "games": stored.games,
        "final_games": final_games,
        "bytes": size,
    }
    audit.record(session, "import.run", "event", event.id, counts)
    await publish_many(session, event.id, "game", stored.game_events)
    if stored.teams or final_games:
        recompute(session, event.id)  # new teams join the table; final scores count
    return stored


async def export_rows(
    session: AsyncSession, event: Event
) -> tuple[list[ExportTeam], list[ExportGame]]:
    """Teams and games in the order they were created, games naming their teams: plain
    rows read a slice at a time, not ORM objects (10,000 Game objects hold the loop ~0.5 s)."""
    teams = select(Team.name, Team.group).where(Team.event_id == event.id).order_by(Team.id)
    home, away = aliased(Team), aliased(Team)
    games = (
        select(
            home.name,
            away.name,
            Game.starts_at,
            Game.venue,
            Game.round,
            Game.home_score,
            Game.away_score,
            Game.status,
        )
        .join(home, home.id == Game.home_team_id)
        .join(away, away.id == Game.away_team_id)
        .where(Game.event_id == event.id)
        .order_by(Game.id)
    )
    return (
        await read_rows(session, teams, ExportTeam._make),
        await read_rows(session, games, ExportGame._make),
    )
