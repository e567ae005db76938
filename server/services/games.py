"""Games: creation, listing, scores."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models import Event, Game, Team, User
from models.domain.constraints import Booking
from models.domain.game_state import ScoreUpdate, TransitionError, apply_score
from models.domain.periods import from_json
from server.policy import Need
from server.schemas.games import GameSchema
from server.services import audit, conflicts
from server.services.errors import Conflict, InvalidInput, NotFound
from server.services.events import load_event
from server.services.periods import updated_periods, with_periods
from server.unit_of_work import publish

GAME = GameSchema()


async def load_game(
    session: AsyncSession, game_id: int, user: User | None, need: Need, *, lock: bool = False
) -> tuple[Game, Event]:
    # The two teams come in the same statement: the reply and the published event name them
    # (game_payload) without another round trip. Only the game's row is locked.
    home, away = aliased(Team), aliased(Team)
    query = (
        select(Game, home, away)
        .join(home, home.id == Game.home_team_id)
        .join(away, away.id == Game.away_team_id)
        .where(Game.id == game_id)
    )
    if lock:
        query = query.with_for_update(of=Game).execution_options(populate_existing=True)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound("no such game")
    game = row[0]
    remember_teams(session, row[1], row[2])
    try:
        event = await load_event(session, game.event_id, user, need)
    except NotFound as exc:
        raise NotFound("no such game") from exc
    return game, event


def _known_names(session: AsyncSession) -> dict[int, str]:
    """Team names this unit of work has read already, by id (the identity map holds objects
    weakly: a team read and dropped is gone from it, its name is kept here)."""
    known: dict[int, str] = session.info.setdefault("team_names", {})
    return known


def remember_teams(session: AsyncSession, *teams: Team) -> None:
    _known_names(session).update({team.id: team.name for team in teams})


async def team_names(session: AsyncSession, games: Iterable[Game]) -> dict[int, str]:
    """The names of these games' teams by id: those already read, the rest in one query."""
    known = _known_names(session)
    ids = {team_id for game in games for team_id in (game.home_team_id, game.away_team_id)}
    missing = ids - known.keys()
    if missing:
        rows = await session.execute(select(Team.id, Team.name).where(Team.id.in_(missing)))
        known.update({team_id: name for team_id, name in rows})
    return {team_id: known[team_id] for team_id in ids}


def named_payload(game: Game, names: dict[int, str]) -> dict[str, Any]:
    """The game as every reply and live event gives it: with its two teams' names."""
    return {
        **GAME.dump(game),
        "home_team_name": names[game.home_team_id],
        "away_team_name": names[game.away_team_id],
    }


async def game_payload(session: AsyncSession, game: Game) -> dict[str, Any]:
    return named_payload(game, await team_names(session, [game]))


async def _require_event_team(
    session: AsyncSession, event: Event, team_id: int, field: str
) -> None:
    team = await session.get(Team, team_id)
    if team is None or team.event_id != event.id:
        raise InvalidInput(
            "the team is not in this event", details={field: ["not a team of this event"]}
        )
    remember_teams(session, team)


async def create_game(
    session: AsyncSession, event_id: int, user: User, fields: dict[str, Any]
) -> dict[str, Any]:
    """Add one game to an event (audited, published as a `game` event); returns its payload.
    A timed game must keep the event's schedule rules (409 `schedule_conflict`)."""
    # The event row lock serialises schedule changes of one event (PostgreSQL): two games
    # checked at once could otherwise each miss the other.
    event = await load_event(session, event_id, user, Need.MANAGE, lock=True)
    await _require_event_team(session, event, fields["home_team_id"], "home_team_id")
    await _require_event_team(session, event, fields["away_team_id"], "away_team_id")
    if fields.get("starts_at") is not None:
        new = Booking(
            -1,
            None,
            fields["home_team_id"],
            fields["away_team_id"],
            fields["starts_at"],
            fields.get("venue"),
        )
        existing = await conflicts.timed_games(session, event.id)
        conflicts.require_none(conflicts.check(conflicts.event_rules(event), existing, [new]))
    game = Game(event_id=event.id, status="scheduled", **fields)
    session.add(game)
    await session.flush()
    payload = await game_payload(session, game)  # both teams were just read: no query
    audit.record(session, "game.create", "game", game.id, {"new": payload})
    publish(session, event.id, "game", payload)
    return payload


async def list_games(
    session: AsyncSession, event_id: int, filters: dict[str, Any], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of an event's games as payloads, each with its two teams' names."""
    home, away = aliased(Team), aliased(Team)
    query = select(Game).where(Game.event_id == event_id)
    if "status" in filters:
        query = query.where(Game.status == filters["status"])
    if "round" in filters:
        query = query.where(Game.round == filters["round"])
    if "team_id" in filters:
        team_id = filters["team_id"]
        query = query.where(or_(Game.home_team_id == team_id, Game.away_team_id == team_id))
    query = query.order_by(Game.round.is_(None), Game.round, Game.starts_at, Game.id)
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    named = (
        query.add_columns(home.name, away.name)
        .join(home, home.id == Game.home_team_id)
        .join(away, away.id == Game.away_team_id)
    )
    rows = await session.execute(named.limit(per_page).offset((page - 1) * per_page))
    items = [
        {**GAME.dump(game), "home_team_name": home_name, "away_team_name": away_name}
        for game, home_name, away_name in rows
    ]
    return items, int(total or 0)


def check_version(game: Game, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != game.version:
        raise Conflict(
            f"the game is at version {game.version}, not {expected_version}",
            code="version_conflict",
            details={"current_version": game.version},
        )


def change_score(game: Game, update: ScoreUpdate, sport: str | None) -> dict[str, Any] | None:
    """Apply a score (and its periods, checked against the event's `sport`); returns the
    old/new values, or None when nothing changed."""
    try:
        changed = apply_score(
            game.status, game.home_score, game.away_score, update, from_json(game.periods)
        )
    except TransitionError as exc:
        raise Conflict(str(exc), code=exc.code) from exc
    if not changed:
        return None
    score = (update.home_score, update.away_score)
    periods = updated_periods(game, sport, update.periods, score, final=update.status == "final")
    old = {"home_score": game.home_score, "away_score": game.away_score, "status": game.status}
    new = {
        "home_score": update.home_score,
        "away_score": update.away_score,
        "status": update.status,
    }
    change = with_periods({"old": old, "new": new}, game.periods or [], periods)
    game.home_score, game.away_score, game.status = (*score, update.status)
    game.periods = periods
    return change


async def event_games(session: AsyncSession, event_id: int) -> list[Game]:
    rows = await session.scalars(select(Game).where(Game.event_id == event_id).order_by(Game.id))
    return list(rows)
