"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from server.base import BaseHandler
from server.openapi import HealthSchema, Op, ReadinessSchema, json_reply

CHECK_TIMEOUT_SECONDS = 2.0


class HealthHandler(BaseHandler):
    public_methods = frozenset({"GET", "HEAD"})
    openapi = {
        "get": Op(
            operation_id="healthz",
            summary="Liveness: 200 while the process runs",
            tag="ops",
            responses={200: HealthSchema},
            token=False,
            api=False,
        )
    }
    rate_limited = False  # probes from load balancers and orchestrators

    async def get(self) -> None:
        self.write_json({"status": "ok"})


class ReadyHandler(BaseHandler):
    public_methods = frozenset({"GET", "HEAD"})
    openapi = {
        "get": Op(
            operation_id="readyz",
            summary="Readiness: the database (and Redis) answer",
            tag="ops",
            responses={
                200: ReadinessSchema,
                503: json_reply(
                    "Not ready; `checks` says which dependency failed", ReadinessSchema
                ),
            },
            token=False,
            api=False,
        )
    }
    rate_limited = False  # probes from load balancers and orchestrators

    async def get(self) -> None:
        checks = {"database": await self._check(self._database())}
        if self.application.config.uses_redis:
            checks["redis"] = await self._check(self.application.streams.ping())
        if self.application.draining:
            checks["process"] = "draining"
        ready = all(value == "ok" for value in checks.values())
        self.write_json(
            {"status": "ready" if ready else "unavailable", "checks": checks}, 200 if ready else 503
        )

    async def _database(self) -> None:
        async with self.application.sessions() as session:
            await session.execute(text("SELECT 1"))

    @staticmethod
    async def _check(probe: object) -> str:
        try:
            await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)  # type: ignore[arg-type]
        except Exception as exc:  # any failure means "not ready"; say which
            return f"failed: {type(exc).__name__}"
        return "ok"


routes = [
    (r"/healthz", HealthHandler),
    (r"/readyz", ReadyHandler),
]
