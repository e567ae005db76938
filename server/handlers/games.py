"""Games, schedules, scores and standings."""

from __future__ import annotations

import logging
import re

from models.domain.game_state import ScoreUpdate
from server.base import BaseHandler
from server.errors import ApiError
from server.live.standings_cache import CachedStandings, uncached
from server.openapi import (
    IDEMPOTENT_REPLAYED,
    NOT_MODIFIED,
    GamePageSchema,
    Op,
    cached_read,
    json_reply,
    with_etag,
)
from server.policy import Need
from server.schemas.games import (
    DryRunQuerySchema,
    GameCreateSchema,
    GameListQuerySchema,
    GameSchema,
    GamesEnvelopeSchema,
    GameUpdateSchema,
    ScheduleSchema,
    ScoreSchema,
    StandingsSchema,
)
from server.services import events as event_service
from server.services import game_changes, idempotency, scheduling, scores
from server.services import games as game_service
from server.services.errors import NotFound
from server.services.standings import standings_for

log = logging.getLogger("matchday.standings")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
ETAG_VERSION = re.compile(r'^(?:W/)?"?([0-9]{1,10})"?$')
SCHEDULE_CONFLICT = json_reply(
    "`schedule_conflict`: the change breaks the event's schedule rules; "
    "`details.violations` lists each one (`rule`, `game_ids`, `team_ids`, `venue`, "
    "`starts_at`). Also `version_conflict` (a stale `If-Match`) and `invalid_transition`.",
    "ScheduleConflict",
)


def expected_version(handler: BaseHandler) -> int | None:
    """The game version named by `If-Match` (None: no check)."""
    raw = handler.request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    match = ETAG_VERSION.match(raw.strip())
    if not match:
        raise ApiError(400, 'If-Match must be a game version, e.g. "3"', code="bad_if_match")
    return int(match.group(1))


class EventGamesHandler(BaseHandler):
    public_methods = frozenset({"GET"})
    openapi = {
        "get": Op(
            operation_id="listGames",
            summary="List an event's games",
            tag="games",
            responses=cached_read("A page of the event's games", GamePageSchema),
            query=GameListQuerySchema,
            headers=("If-None-Match",),
            description="Filter by `status`, `team_id` (home or away) and `round`.",
        ),
        "post": Op(
            operation_id="createGame",
            summary="Add a game (owner, admin)",
            tag="games",
            responses={201: GameSchema},
            body=GameCreateSchema,
            errors=(403,),
        ),
    }

    async def get(self, event_id: str) -> None:
        query = self.load_query(GameListQuerySchema)
        body = await self.application.reads.games(self.path_id(event_id), self.current_user, query)
        self.write_body(body)

    async def post(self, event_id: str) -> None:
        body = self.load_body(GameCreateSchema())
        async with self.db() as session:
            payload = await game_service.create_game(
                session, self.path_id(event_id), self.require_user(), body
            )
        self.write_json(payload, 201)


class ScheduleHandler(BaseHandler):
    openapi = {
        "post": Op(
            operation_id="generateSchedule",
            summary="Generate the schedule (owner, admin)",
            tag="games",
            responses={
                201: GamesEnvelopeSchema,
                200: json_reply(
                    "`dry_run=true`: the games that would be created and the rules they would "
                    "break; nothing stored",
                    "SchedulePreview",
                ),
                409: SCHEDULE_CONFLICT,
            },
            body=ScheduleSchema,
            query=DryRunQuerySchema,
            errors=(403,),
            description="Kick-offs keep the event's `schedule_rules`: `interval_minutes` is "
            "the least time between kick-offs; a slot waits for the venues' last games to end "
            "(`game_minutes`) and a new round for the teams' rest (`min_rest_minutes`); "
            "kick-offs roll into the `playing_hours` (to the next day when a game would end "
            "after the close) and past `blackout_dates`. 409 `already_scheduled` when the "
            "event has games; 422 with fewer than two teams. Each game is published as a "
            "`game` event.",
        )
    }

    async def post(self, event_id: str) -> None:
        query = self.load_query(DryRunQuerySchema)
        body = self.load_body(ScheduleSchema())
        async with self.db() as session:
            result = await scheduling.schedule_event(
                session,
                self.path_id(event_id),
                self.require_user(),
                body,
                self.application.blocking,
                dry_run=query["dry_run"],
            )
        self.set_status(200 if query["dry_run"] else 201)
        self.finish(result.body)  # up to 10,000 games, serialised off the loop


class GameHandler(BaseHandler):
    public_methods = frozenset({"GET"})
    openapi = {
        "get": Op(
            operation_id="getGame",
            summary="Get a game",
            tag="games",
            responses={200: with_etag("The game", GameSchema)},
        ),
        "patch": Op(
            operation_id="updateGame",
            summary="Move, postpone, cancel or restore a game (owner, admin)",
            tag="games",
            responses={
                200: with_etag(
                    "The game as changed; with `dry_run=true`, `{game, changes, violations}` "
                    "(GameChangePreview) and nothing stored",
                    {"anyOf": ["Game", "GameChangePreview"]},
                ),
                409: SCHEDULE_CONFLICT,
            },
            body=GameUpdateSchema,
            query=DryRunQuerySchema,
            headers=("If-Match",),
            errors=(403,),
            description="Any of `starts_at`, `venue`, `round`, `status`. `postponed` clears "
            "the time (a new `starts_at` later puts the game back); `cancelled` takes it off "
            "the schedule; `scheduled` restores a cancelled or postponed game to the state it "
            "left (a final result counts again). Cancelled and postponed games never count in "
            "the standings; when a final result leaves or returns, the table is recomputed. "
            "Checked against the event's `schedule_rules`; audited as `game.update`; "
            "published as a `game` event. The dry run's body is `GameChangePreview`.",
        ),
    }

    async def get(self, game_id: str) -> None:
        async with self.db() as session:
            game, _event = await game_service.load_game(
                session, self.path_id(game_id), self.current_user, Need.VIEW
            )
            payload = await game_service.game_payload(session, game)
        self.set_header("ETag", f'"{game.version}"')
        self.write_json(payload)

    async def patch(self, game_id: str) -> None:
        query = self.load_query(DryRunQuerySchema)
        body = self.load_body(GameUpdateSchema())
        version = expected_version(self)
        async with self.db() as session:
            change = await game_changes.change_game(
                session,
                self.path_id(game_id),
                self.require_user(),
                body,
                expected_version=version,
                dry_run=query["dry_run"],
            )
        self.set_header("ETag", f'"{change.version}"')
        if query["dry_run"]:
            preview = {"game": change.game, "changes": change.changes}
            self.write_json({**preview, "violations": change.violations, "dry_run": True})
        else:
            self.write_json(change.game)


class ScoreHandler(BaseHandler):
    openapi = {
        "put": Op(
            operation_id="putScore",
            summary="Record a score (owner, scorekeeper, admin)",
            tag="games",
            responses={
                200: with_etag("The game with its new score", GameSchema, **IDEMPOTENT_REPLAYED)
            },
            body=ScoreSchema,
            headers=("Idempotency-Key", "If-Match"),
            errors=(403, 409),
            description="A final game's score changes only through a correction (409); "
            "re-sending the identical final score is 200 and changes nothing. 409 "
            "`version_conflict` when `If-Match` names an older version. Optional `periods`: "
            "the score period by period, named and limited by the event's sport; they add up "
            "to the score (set sports: the score counts sets won; a shootout gives its winner "
            "one), else 422 with `details.periods` (docs/scores.md). Published with the game "
            "in the `score` event.",
        )
    }

    async def put(self, game_id: str) -> None:
        body = self.load_body(ScoreSchema())
        periods = None if body["periods"] is None else tuple(body["periods"])
        update = ScoreUpdate(body["home_score"], body["away_score"], body["status"], periods)
        version = expected_version(self)
        idempotent = self._idempotent_request()
        async with self.db() as session:
            reply = await scores.post_score(
                session,
                self.path_id(game_id),
                self.require_user(),
                update,
                expected_version=version,
                idempotent=idempotent,
            )
        if reply.replayed:
            self.set_header("Idempotent-Replayed", "true")
        else:
            self.set_header("ETag", f'"{reply.version}"')
        self.set_status(reply.status)
        self.finish(reply.body)

    def _idempotent_request(self) -> scores.IdempotentRequest | None:
        key = self._idempotency_key()
        if key is None:
            return None
        return scores.IdempotentRequest(
            key,
            idempotency.fingerprint("PUT", self.request.path, self.request.body),
            self.application.config.idempotency_ttl_seconds,
        )

    def _idempotency_key(self) -> str | None:
        key = self.request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY.match(key):
            raise ApiError(400, "Idempotency-Key must be 1-200 visible ASCII characters")
        return key


class StandingsHandler(BaseHandler):
    """Public tables come from the process's cache (kept fresh by the live stream) without
    touching the database; private ones are authorised against the database first."""

    public_methods = frozenset({"GET"})
    openapi = {
        "get": Op(
            operation_id="getStandings",
            summary="The event's standings",
            tag="games",
            responses={
                200: with_etag("The table, rows ordered by group then rank", StandingsSchema),
                304: NOT_MODIFIED,
            },
            headers=("If-None-Match",),
            description="`last_event_id` is the stream id the table is current to: open the "
            "event's stream with it as `Last-Event-ID` to miss nothing in between.",
        )
    }

    async def get(self, event_id: str) -> None:
        cached = self.application.standings_cache.get_public(self.path_id(event_id))
        table = cached or await self._load_table(self.path_id(event_id))
        self.write_body(table.encoded, public=table.public)

    async def _load_table(self, event_id: int) -> CachedStandings:
        async with self.db() as session:
            try:
                event = await event_service.load_event(
                    session, event_id, self.current_user, Need.VIEW
                )
            except NotFound:
                # Gone, or private now (changed through another process): not served on.
                self.application.standings_cache.forget(event_id)
                raise
            following = await self._follow(event_id)  # before the read: no update can slip by
            payload = await standings_for(session, event)
        if not following:
            return uncached(payload)
        return self.application.standings_cache.store(payload, event.visibility == "public")

    async def _follow(self, event_id: int) -> bool:
        try:
            await self.application.hub.follow(event_id)
        except Exception as exc:  # streams backend down: serve from the database meanwhile
            log.warning("cannot follow standings of event %s: %s", event_id, exc)
            return False
        return True


routes = [
    (r"/api/v1/events/([0-9]+)/games", EventGamesHandler),
    (r"/api/v1/events/([0-9]+)/schedule", ScheduleHandler),
    (r"/api/v1/events/([0-9]+)/standings", StandingsHandler),
    (r"/api/v1/games/([0-9]+)", GameHandler),
    (r"/api/v1/games/([0-9]+)/score", ScoreHandler),
]
