"""Calendar feeds (text/calendar) of an event's and a team's games, and the caller's feed
token, which lets calendar apps (they cannot send `Authorization`) read private events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, User
from server.base import BaseHandler
from server.calendar import feed as ics
from server.openapi import ETAG_HEADER, NOT_MODIFIED, Op, query_parameter, text_reply
from server.schemas.calendar import CalendarTokenSchema, IssuedCalendarTokenSchema
from server.services import calendar, calendar_tokens

CONTENT_TYPE = "text/calendar; charset=utf-8"
FEED_REPLY = {
    **text_reply(
        "text/calendar",
        "An iCalendar (RFC 5545) feed: one VEVENT per timed game (UID `game-<id>@<domain>`, "
        "SUMMARY with the score once final, STATUS `CANCELLED` for cancelled games, SEQUENCE "
        "raised by every move). Games without a time (postponed) are left out.",
    ),
    "headers": {"ETag": ETAG_HEADER},
}
TOKEN_PARAMETER = query_parameter(
    "token",
    "A calendar feed token (POST /api/v1/me/calendar-token), for calendar apps, which cannot "
    "send `Authorization`; needed for private events. 401 `invalid_feed_token` when revoked "
    "or replaced.",
)
FEED_DESCRIPTION = (
    "For subscribing from a calendar app (docs/calendar.md). Public events need nothing; a "
    "private event's feed needs `?token=` of a user who may see it (or a bearer token), and "
    "is 404 otherwise, as the event is. 401 `invalid_feed_token` for a revoked, replaced or "
    "unknown feed token, whatever the event. Answers `If-None-Match` with 304."
)

Loader = Callable[[AsyncSession], Awaitable[tuple[ics.Feed, Event]]]


class FeedHandler(BaseHandler):
    """A feed read: authenticated by `?token=` (a feed token) or a bearer token, or not at
    all (public events). The query string never reaches the access log (its `path` only)."""

    public_methods = frozenset({"GET"})

    async def _authenticate(self) -> User | None:
        token = self.get_query_argument("token", None)
        if token is None:
            return await super()._authenticate()
        async with self.db() as session:
            return await calendar_tokens.user_for_feed_token(session, token)

    async def serve_feed(self, load: Loader) -> None:
        async with self.db() as session:
            feed, event = await load(session)
        run = self.application.blocking.run  # a season's feed is thousands of entries
        tag = await run(ics.etag, feed)
        self.set_header("ETag", tag)
        private = event.visibility != "public"
        self.set_header("Cache-Control", "private, no-cache" if private else "no-cache")
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        body = await self.application.calendar_feeds.body(tag, lambda: run(ics.render, feed))
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(body)


def _feed_op(operation_id: str, summary: str, tag: str, description: str) -> Op:
    """A feed's GET: the feed or 304, the token parameter, the feeds' description."""
    return Op(
        operation_id=operation_id,
        summary=summary,
        tag=tag,
        responses={200: FEED_REPLY, 304: NOT_MODIFIED},
        headers=("If-None-Match",),
        extra={"parameters": [TOKEN_PARAMETER]},
        description=description,
    )


class EventCalendarHandler(FeedHandler):
    openapi = {
        "get": _feed_op(
            "getEventCalendar",
            "The event's games as a calendar feed (iCalendar)",
            "games",
            FEED_DESCRIPTION,
        )
    }

    async def get(self, event_id: str) -> None:
        wanted = self.path_id(event_id)
        config, user = self.application.config, self.current_user
        await self.serve_feed(lambda session: calendar.event_feed(session, config, wanted, user))


class TeamCalendarHandler(FeedHandler):
    openapi = {
        "get": _feed_op(
            "getTeamCalendar",
            "One team's games as a calendar feed (iCalendar)",
            "teams",
            FEED_DESCRIPTION + " Only the games the team plays in.",
        )
    }

    async def get(self, team_id: str) -> None:
        wanted = self.path_id(team_id)
        config, user = self.application.config, self.current_user
        await self.serve_feed(lambda session: calendar.team_feed(session, config, wanted, user))


class CalendarTokenHandler(BaseHandler):
    openapi = {
        "get": Op(
            operation_id="getCalendarToken",
            summary="When the caller's calendar feed token was issued",
            tag="auth",
            responses={200: CalendarTokenSchema},
            errors=(404,),
            description="The token itself is not kept, so it cannot be shown again. 404 "
            "`no_calendar_token` when the caller has none.",
        ),
        "post": Op(
            operation_id="issueCalendarToken",
            summary="Issue a calendar feed token (replacing the caller's last one)",
            tag="auth",
            responses={201: IssuedCalendarTokenSchema},
            description="The token is shown once. It reads the feeds of every event the "
            "caller may see, and nothing else. Issuing a new one revokes the old one.",
        ),
        "delete": Op(
            operation_id="revokeCalendarToken",
            summary="Revoke the caller's calendar feed token",
            tag="auth",
            responses={204: None},
            description="Feed URLs with it answer 401 from now on. 204 also when there was none.",
        ),
    }

    async def get(self) -> None:
        async with self.db() as session:
            created_at = await calendar_tokens.issued_at(session, self.require_user())
        self.write_json(CalendarTokenSchema().dump({"created_at": created_at}))

    async def post(self) -> None:
        async with self.db() as session:
            issued = await calendar_tokens.issue(session, self.require_user())
        self.set_header("Cache-Control", "no-store")  # a credential
        self.write_json(IssuedCalendarTokenSchema().dump(issued), 201)

    async def delete(self) -> None:
        async with self.db() as session:
            await calendar_tokens.revoke(session, self.require_user())
        self.set_status(204)
        self.clear_header("Content-Type")
        self.finish()


routes = [
    (r"/api/v1/events/([0-9]+)/calendar\.ics", EventCalendarHandler),
    (r"/api/v1/teams/([0-9]+)/calendar\.ics", TeamCalendarHandler),
    (r"/api/v1/me/calendar-token", CalendarTokenHandler),
]
