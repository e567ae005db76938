"""Events, scorekeepers and teams."""

from __future__ import annotations

from server.base import BaseHandler
from server.openapi import EventPageSchema, Op, TeamPageSchema, cached_read
from server.schemas.common import PageQuerySchema
from server.schemas.events import (
    EventCreateSchema,
    EventSchema,
    EventUpdateSchema,
    ScorekeeperCreateSchema,
    ScorekeeperSchema,
    TeamCreateSchema,
    TeamListQuerySchema,
    TeamSchema,
)
from server.services import events as event_service

EVENT = EventSchema()
TEAM = TeamSchema()


class EventsHandler(BaseHandler):
    public_methods = frozenset({"GET"})
    openapi = {
        "get": Op(
            operation_id="listEvents",
            summary="List events",
            tag="events",
            responses=cached_read("A page of events", EventPageSchema),
            query=PageQuerySchema,
            headers=("If-None-Match",),
            description="Public events, plus the caller's own private ones.",
        ),
        "post": Op(
            operation_id="createEvent",
            summary="Create an event",
            tag="events",
            responses={201: EventSchema},
            body=EventCreateSchema,
            description="The caller owns the new event.",
        ),
    }

    async def get(self) -> None:
        query = self.load_query(PageQuerySchema)
        reads = self.application.reads
        self.write_body(await reads.events(self.current_user, query["page"], query["per_page"]))

    async def post(self) -> None:
        body = self.load_body(EventCreateSchema())
        async with self.db() as session:
            event = await event_service.create_event(session, self.require_user(), body)
            payload = EVENT.dump(event)
        self.write_json(payload, 201)


class EventHandler(BaseHandler):
    public_methods = frozenset({"GET"})
    openapi = {
        "get": Op(
            operation_id="getEvent",
            summary="Get an event",
            tag="events",
            responses=cached_read("The event", EventSchema),
            headers=("If-None-Match",),
            description="A private event is 404 to everyone but its owner, scorekeepers and "
            "admins.",
        ),
        "patch": Op(
            operation_id="updateEvent",
            summary="Change an event (owner, admin)",
            tag="events",
            responses={200: EventSchema},
            body=EventUpdateSchema(partial=True),
            errors=(403,),
            description="Send only the fields to change. Changing `scoring` or `tiebreakers` "
            "recomputes the standings. The tiebreakers freeze once a result is recorded (a "
            "game is or was final): changing them then is 403 `tiebreakers_frozen` for anyone "
            "but an admin, and 422 (`details.reason`) for an admin who sends no `reason`; "
            "the change is audited (`event.update`) with the reason.",
        ),
    }

    async def get(self, event_id: str) -> None:
        reads = self.application.reads
        self.write_body(await reads.event(self.path_id(event_id), self.current_user))

    async def patch(self, event_id: str) -> None:
        changes = self.load_body(EventUpdateSchema(), partial=True)
        async with self.db() as session:
            event = await event_service.change_event(
                session, self.path_id(event_id), self.current_user, changes
            )
            payload = EVENT.dump(event)
        self.write_json(payload)


class ScorekeepersHandler(BaseHandler):
    openapi = {
        "post": Op(
            operation_id="addScorekeeper",
            summary="Name a scorekeeper (owner, admin)",
            tag="events",
            responses={201: ScorekeeperSchema},
            body=ScorekeeperCreateSchema,
            errors=(403, 409),
            description="409 `already_scorekeeper`; 422 when the user does not exist.",
        )
    }

    async def post(self, event_id: str) -> None:
        body = self.load_body(ScorekeeperCreateSchema())
        async with self.db() as session:
            keeper = await event_service.name_scorekeeper(
                session, self.path_id(event_id), self.current_user, body["user_id"]
            )
            payload = ScorekeeperSchema().dump(keeper)
        self.write_json(payload, 201)


class TeamsHandler(BaseHandler):
    public_methods = frozenset({"GET"})
    openapi = {
        "get": Op(
            operation_id="listTeams",
            summary="List an event's teams",
            tag="teams",
            responses=cached_read("A page of the event's teams", TeamPageSchema),
            query=TeamListQuerySchema,
            headers=("If-None-Match",),
        ),
        "post": Op(
            operation_id="createTeam",
            summary="Add a team (owner, admin)",
            tag="teams",
            responses={201: TeamSchema},
            body=TeamCreateSchema,
            errors=(403, 409),
            description="409 `team_name_taken` when the event already has a team of that name.",
        ),
    }

    async def get(self, event_id: str) -> None:
        query = self.load_query(PageQuerySchema)
        body = await self.application.reads.teams(
            self.path_id(event_id), self.current_user, query["page"], query["per_page"]
        )
        self.write_body(body)

    async def post(self, event_id: str) -> None:
        body = self.load_body(TeamCreateSchema())
        async with self.db() as session:
            team = await event_service.create_team(
                session, self.path_id(event_id), self.current_user, body["name"], body["group"]
            )
            payload = TEAM.dump(team)
        self.write_json(payload, 201)


routes = [
    (r"/api/v1/events", EventsHandler),
    (r"/api/v1/events/([0-9]+)", EventHandler),
    (r"/api/v1/events/([0-9]+)/scorekeepers", ScorekeepersHandler),
    (r"/api/v1/events/([0-9]+)/teams", TeamsHandler),
]
