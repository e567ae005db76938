"""Games: creation, listing, scores."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Executable, bindparam, exists, false, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from models import Event, Game, Scorekeeper, Team, User
from models.base import utcnow
from models.bulk import table_of
from models.domain.constraints import Booking
from models.domain.game_state import ScoreUpdate, TransitionError, apply_score
from models.domain.periods import from_json
from server.policy import Need, authorize
from server.schemas.games import GameSchema
from server.services import audit, conflicts
from server.services.errors import Conflict, InvalidInput, NotFound
from server.services.events import load_event
from server.services.periods import updated_periods, with_periods
from server.unit_of_work import publish, touch_event

GAME = GameSchema()


async def load_game(
    session: AsyncSession, game_id: int, user: User | None, need: Need, *, lock: bool = False
) -> tuple[Game, Event]:
    # One statement: the game, its two teams (the reply and the published event name them,
    # game_payload), its event and whether the user keeps its score (to authorise). Each
    # was a round trip of its own, and a score is the hottest write. Only the game's row is
    # locked, as when the event was read on its own.
    params = {"game_id": game_id} if user is None else {"game_id": game_id, "user_id": user.id}
    row = (await session.execute(_game_query(user is not None, lock), params)).first()
    if row is None:
        raise NotFound("no such game")
    game, event = row[0], row[3]
    remember_teams(session, row[1], row[2])
    try:
        authorize(need, event, user, is_scorekeeper=bool(row[4]))
    except NotFound as exc:
        raise NotFound("no such game") from exc
    return game, event


@functools.cache
def _game_query(signed_in: bool, lock: bool) -> Executable:
    """load_game's statement, built once per variant with bound parameters: building it per
    call (aliases, joins, comparisons) was ~6% of a score write's CPU."""
    home, away = aliased(Team), aliased(Team)
    keeper = (
        exists().where(
            Scorekeeper.event_id == Game.event_id, Scorekeeper.user_id == bindparam("user_id")
        )
        if signed_in
        else false()
    )
    query = (
        select(Game, home, away, Event, keeper.label("is_scorekeeper"))
        .join(home, home.id == Game.home_team_id)
        .join(away, away.id == Game.away_team_id)
        .join(Event, Event.id == Game.event_id)
        .where(Game.id == bindparam("game_id"))
    )
    if lock:
        query = query.with_for_update(of=Game).execution_options(populate_existing=True)
    return query


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


def change_score(
    game: Game, update: ScoreUpdate, sport: str | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The score (and its periods, checked against the event's `sport`) as the audit's
    old/new values and the columns to store (`store_score`); None when nothing changes.
    The game itself is left as it is."""
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
    return change, {**new, "periods": periods}


async def store_score(session: AsyncSession, game: Game, values: dict[str, Any]) -> None:
    """One Core UPDATE of the game's row, with the version check and increment the ORM's
    flush would make (`Game.version`), at a fraction of the flush's CPU on the hottest write;
    the game object then holds the stored values, unmodified in the session."""
    table = table_of(Game)
    stored = {**values, "version": game.version + 1, "updated_at": utcnow()}
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(table)
            .where(table.c.id == game.id, table.c.version == game.version)
            .values(stored)
        ),
    )
    if result.rowcount != 1:  # as the ORM's flush would: the row changed under us
        raise StaleDataError(f"games row {game.id} is no longer at version {game.version}")
    for key, value in stored.items():
        set_committed_value(game, key, value)
    touch_event(session, game.event_id)  # a Core statement: the flush does not note it


async def event_games(session: AsyncSession, event_id: int) -> list[Game]:
    rows = await session.scalars(select(Game).where(Game.event_id == event_id).order_by(Game.id))
    return list(rows)
