"""What a calendar feed shows: an event's (or one team's) games, for a caller who may see
the event. Reads only; the rendering is server/calendar/feed.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Row, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from config.settings import Settings
from models import Event, Game, Team, User
from models.bulk import read_rows
from server.calendar.feed import Feed, FeedGame
from server.policy import Need
from server.services.conflicts import event_rules
from server.services.errors import NotFound
from server.services.events import load_event


def _feed_game(row: Row[Any]) -> FeedGame:
    return FeedGame(**row._asdict())


async def _games(session: AsyncSession, event_id: int, team_id: int | None) -> list[FeedGame]:
    """The games in kick-off order, a slice of rows at a time (a season may have 10,000)."""
    home, away = aliased(Team), aliased(Team)
    query = (
        select(
            Game.id,
            home.name.label("home"),
            away.name.label("away"),
            Game.home_score,
            Game.away_score,
            Game.status,
            Game.starts_at,
            Game.venue,
            Game.round,
            Game.sequence,
            Game.updated_at,
        )
        .join(home, home.id == Game.home_team_id)
        .join(away, away.id == Game.away_team_id)
        .where(Game.event_id == event_id)
    )
    if team_id is not None:
        query = query.where(or_(Game.home_team_id == team_id, Game.away_team_id == team_id))
    return await read_rows(session, query.order_by(Game.starts_at, Game.id), _feed_game)


def _feed(config: Settings, event: Event, name: str, games: list[FeedGame]) -> Feed:
    return Feed(
        name=name,
        event_name=event.name,
        games=games,
        uid_domain=config.calendar_uid_domain,
        game_length=event_rules(event).length,
        refresh=timedelta(minutes=config.calendar_refresh_minutes),
    )


async def event_feed(
    session: AsyncSession, config: Settings, event_id: int, user: User | None
) -> tuple[Feed, Event]:
    event = await load_event(session, event_id, user, Need.VIEW)
    return _feed(config, event, event.name, await _games(session, event.id, None)), event


async def team_feed(
    session: AsyncSession, config: Settings, team_id: int, user: User | None
) -> tuple[Feed, Event]:
    """One team's games; a team of an event the caller may not see is 404, like the event."""
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound("no such team")
    try:
        event = await load_event(session, team.event_id, user, Need.VIEW)
    except NotFound as exc:
        raise NotFound("no such team") from exc
    games = await _games(session, event.id, team.id)
    return _feed(config, event, f"{team.name} \u2013 {event.name}", games), event
