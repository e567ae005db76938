"""Admin endpoints: corrections, recomputes, the audit trail, roles."""

from __future__ import annotations

from server.base import BaseHandler
from server.errors import ApiError
from server.openapi import AuditPageSchema, Op
from server.policy import is_admin
from server.schemas.admin import (
    AuditEntrySchema,
    AuditQuerySchema,
    CorrectionSchema,
    RoleSchema,
    TaskSchema,
)
from server.schemas.auth import UserSchema
from server.schemas.games import GameSchema
from server.services import admin as admin_service
from server.services import scores


class AdminHandler(BaseHandler):
    """Every method of an admin handler needs an admin: 401 anonymous, 403 anyone else."""

    async def prepare(self) -> None:
        await super().prepare()
        if not is_admin(self.current_user):
            raise ApiError(403, "administrators only")


class CorrectionHandler(AdminHandler):
    openapi = {
        "post": Op(
            operation_id="correctScore",
            summary="Correct a final score (admin)",
            tag="admin",
            responses={200: GameSchema},
            body=CorrectionSchema,
            errors=(403, 409),
            description="Writes a `game.correct` audit entry (old and new values, reason), "
            "publishes `correction`, then the recompute publishes `standings`. 409 `not_final` "
            "for a game that is not final. The same score again is 200 and changes nothing. "
            "Optional `periods` as for `PUT /games/{id}/score` (checked as for a final game); "
            "omitted, the recorded ones stay while the score does and are dropped when it "
            "changes; 422 `details.periods` when they do not fit.",
        )
    }

    async def post(self, game_id: str) -> None:
        body = self.load_body(CorrectionSchema())
        async with self.db() as session:
            payload = await scores.correct_score(
                session,
                self.path_id(game_id),
                self.require_user(),
                body["home_score"],
                body["away_score"],
                body["reason"],
                body["periods"],
            )
        self.set_header("ETag", f'"{payload["version"]}"')
        self.write_json(payload)


class RecomputeHandler(AdminHandler):
    openapi = {
        "post": Op(
            operation_id="recomputeStandings",
            summary="Recompute an event's standings (admin)",
            tag="admin",
            responses={202: TaskSchema},
            errors=(403,),
            description="Queued; the new table is published as a `standings` event.",
        )
    }

    async def post(self, event_id: str) -> None:
        event_pk = self.path_id(event_id)
        async with self.db() as session:  # 503 queue_unavailable if the task is not queued
            await admin_service.request_recompute(session, event_pk, self.require_user())
        task_id = admin_service.queued_task_id(session, event_pk)
        self.write_json({"task_id": task_id}, 202)


class AuditHandler(AdminHandler):
    openapi = {
        "get": Op(
            operation_id="listAudit",
            summary="The audit trail, newest first (admin)",
            tag="admin",
            responses={200: AuditPageSchema},
            query=AuditQuerySchema,
            errors=(403,),
        )
    }

    async def get(self) -> None:
        query = self.load_query(AuditQuerySchema)
        async with self.db() as session:
            entries, total = await admin_service.audit_entries(
                session, query, query["page"], query["per_page"]
            )
            items = AuditEntrySchema().dump(entries, many=True)
        self.write_json(self.page_envelope(items, total, query))


class RoleHandler(AdminHandler):
    openapi = {
        "post": Op(
            operation_id="setRole",
            summary="Promote or demote (admin)",
            tag="admin",
            responses={200: UserSchema},
            body=RoleSchema,
            errors=(403, 409),
            description="409 `last_admin` when demoting the only admin.",
        )
    }

    async def post(self, user_id: str) -> None:
        body = self.load_body(RoleSchema())
        async with self.db() as session:
            user = await admin_service.change_role(session, self.path_id(user_id), body["role"])
            payload = UserSchema().dump(user)
        self.write_json(payload)


routes = [
    (r"/api/v1/admin/games/([0-9]+)/corrections", CorrectionHandler),
    (r"/api/v1/admin/events/([0-9]+)/recompute", RecomputeHandler),
    (r"/api/v1/admin/audit", AuditHandler),
    (r"/api/v1/admin/users/([0-9]+)/role", RoleHandler),
]
