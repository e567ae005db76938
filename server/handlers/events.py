"""Events, scorekeepers and teams."""

from __future__ import annotations

from server.base import BaseHandler
from server.policy import Need
from server.schemas.common import PageQuerySchema
from server.schemas.events import (
    EventCreateSchema,
    EventSchema,
    EventUpdateSchema,
    ScorekeeperCreateSchema,
    ScorekeeperSchema,
    TeamCreateSchema,
    TeamSchema,
)
from server.services import audit
from server.services import events as event_service

EVENT = EventSchema()
TEAM = TeamSchema()


class EventsHandler(BaseHandler):
    public_methods = frozenset({"GET"})

    async def get(self) -> None:
        query = self.load_query(PageQuerySchema())
        async with self.db() as session:
            events, total = await event_service.list_events(
                session, self.current_user, query["page"], query["per_page"]
            )
            items = EVENT.dump(events, many=True)
        self.write_json(self.page_envelope(items, total, query))

    async def post(self) -> None:
        body = self.load_body(EventCreateSchema())
        async with self.db() as session:
            event = await event_service.create_event(session, self.require_user(), body)
            audit.record(
                session,
                self.audit_context(),
                "event.create",
                "event",
                event.id,
                {"new": {"name": event.name}},
            )
            payload = EVENT.dump(event)
        self.write_json(payload, 201)


class EventHandler(BaseHandler):
    public_methods = frozenset({"GET"})

    async def get(self, event_id: str) -> None:
        async with self.db() as session:
            event = await event_service.load_event(
                session, self.path_id(event_id), self.current_user, Need.VIEW
            )
            payload = EVENT.dump(event)
        self.write_json(payload)

    async def patch(self, event_id: str) -> None:
        changes = self.load_body(EventUpdateSchema(), partial=True)
        async with self.db() as session:
            event = await event_service.load_event(
                session, self.path_id(event_id), self.current_user, Need.MANAGE, lock=True
            )
            diff = event_service.update_event(event, changes)
            if diff:
                await session.flush()
                audit.record(session, self.audit_context(), "event.update", "event", event.id, diff)
            payload = EVENT.dump(event)
        changed = diff.get("new", {}).keys()
        if "visibility" in changed:
            self.application.standings_cache.forget(event.id)
        if {"scoring", "tiebreakers"} & changed:
            self.recompute_later(event.id)
        self.write_json(payload)


class ScorekeepersHandler(BaseHandler):
    async def post(self, event_id: str) -> None:
        body = self.load_body(ScorekeeperCreateSchema())
        async with self.db() as session:
            event = await event_service.load_event(
                session, self.path_id(event_id), self.current_user, Need.MANAGE
            )
            keeper = await event_service.add_scorekeeper(session, event, body["user_id"])
            audit.record(
                session,
                self.audit_context(),
                "event.update",
                "event",
                event.id,
                {"new": {"scorekeeper": keeper.user_id}},
            )
            payload = ScorekeeperSchema().dump(keeper)
        self.write_json(payload, 201)


class TeamsHandler(BaseHandler):
    public_methods = frozenset({"GET"})

    async def get(self, event_id: str) -> None:
        query = self.load_query(PageQuerySchema())
        async with self.db() as session:
            event = await event_service.load_event(
                session, self.path_id(event_id), self.current_user, Need.VIEW
            )
            teams, total = await event_service.list_teams(
                session, event, query["page"], query["per_page"]
            )
            items = TEAM.dump(teams, many=True)
        self.write_json(self.page_envelope(items, total, query))

    async def post(self, event_id: str) -> None:
        body = self.load_body(TeamCreateSchema())
        async with self.db() as session:
            event = await event_service.load_event(
                session, self.path_id(event_id), self.current_user, Need.MANAGE
            )
            team = await event_service.add_team(session, event, body["name"], body["group"])
            audit.record(
                session,
                self.audit_context(),
                "team.create",
                "team",
                team.id,
                {"new": {"name": team.name, "group": team.group, "event_id": event.id}},
            )
            payload = TEAM.dump(team)
        # A new team joins the table at zero.
        self.recompute_later(event.id)
        self.write_json(payload, 201)


routes = [
    (r"/api/v1/events", EventsHandler),
    (r"/api/v1/events/([0-9]+)", EventHandler),
    (r"/api/v1/events/([0-9]+)/scorekeepers", ScorekeepersHandler),
    (r"/api/v1/events/([0-9]+)/teams", TeamsHandler),
]
