"""Admin endpoints: corrections, recomputes, the audit trail, roles."""

from __future__ import annotations

from server.base import BaseHandler
from server.dispatch import DispatchUnavailable
from server.errors import ApiError
from server.live import outbox
from server.policy import Need, is_admin
from server.schemas.admin import (
    AuditEntrySchema,
    AuditQuerySchema,
    CorrectionSchema,
    RoleSchema,
)
from server.schemas.auth import UserSchema
from server.schemas.games import GameSchema
from server.services import admin as admin_service
from server.services import audit
from server.services import events as event_service
from server.services import games as game_service

GAME = GameSchema()


class AdminHandler(BaseHandler):
    """Every method of an admin handler needs an admin: 401 anonymous, 403 anyone else."""

    async def prepare(self) -> None:
        await super().prepare()
        if not is_admin(self.current_user):
            raise ApiError(403, "administrators only")


class CorrectionHandler(AdminHandler):
    async def post(self, game_id: str) -> None:
        body = self.load_body(CorrectionSchema())
        async with self.db() as session:
            game, event = await game_service.load_game(
                session, self.path_id(game_id), self.current_user, Need.MANAGE, lock=True
            )
            change = admin_service.correct_score(game, body["home_score"], body["away_score"])
            if change:
                await session.flush()
                details = {**change, "reason": body["reason"]}
                audit.record(
                    session, self.audit_context(), "game.correct", "game", game.id, details
                )
                outbox.add(
                    session,
                    event.id,
                    "correction",
                    {"game": GAME.dump(game), "reason": body["reason"]},
                )
            payload = GAME.dump(game)
        if change:
            self.application.relay.kick()
            self.recompute_later(event.id)
        self.set_header("ETag", f'"{game.version}"')
        self.write_json(payload)


class RecomputeHandler(AdminHandler):
    async def post(self, event_id: str) -> None:
        async with self.db() as session:
            event = await event_service.load_event(
                session, self.path_id(event_id), self.current_user, Need.MANAGE
            )
            audit.record(session, self.audit_context(), "standings.recompute", "event", event.id)
        try:
            task_id = await self.application.dispatcher.recompute_standings(
                event.id, self.request_id
            )
        except DispatchUnavailable as exc:
            raise ApiError(
                503, "the task queue is unavailable; retry shortly", code="queue_unavailable"
            ) from exc
        self.write_json({"task_id": task_id}, 202)


class AuditHandler(AdminHandler):
    async def get(self) -> None:
        query = self.load_query(AuditQuerySchema())
        async with self.db() as session:
            entries, total = await admin_service.audit_entries(
                session, query, query["page"], query["per_page"]
            )
            items = AuditEntrySchema().dump(entries, many=True)
        self.write_json(self.page_envelope(items, total, query))


class RoleHandler(AdminHandler):
    async def post(self, user_id: str) -> None:
        body = self.load_body(RoleSchema())
        async with self.db() as session:
            user, old = await admin_service.set_role(session, self.path_id(user_id), body["role"])
            if old != user.role:
                details = {"old": {"role": old}, "new": {"role": user.role}}
                audit.record(
                    session, self.audit_context(), "user.role_change", "user", user.id, details
                )
            payload = UserSchema().dump(user)
        self.write_json(payload)


routes = [
    (r"/api/v1/admin/games/([0-9]+)/corrections", CorrectionHandler),
    (r"/api/v1/admin/events/([0-9]+)/recompute", RecomputeHandler),
    (r"/api/v1/admin/audit", AuditHandler),
    (r"/api/v1/admin/users/([0-9]+)/role", RoleHandler),
]
