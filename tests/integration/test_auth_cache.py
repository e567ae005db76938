"""Remembered bearer tokens (server/auth/cache.py) never outlive a change of access: a
sign-out or a role change counts at once in the process that made it and, announced over
Redis, in the other one (AUTH_CACHE_SECONDS is 120 s here: only the announcement can explain
it)."""

from __future__ import annotations

import asyncio
import time

import pytest

from server.admin_cli import create_admin
from server.app import MatchdayApp
from tests.support import STRONG_PASSWORD, Api

pytestmark = pytest.mark.postgres
ANNOUNCED_WITHIN_SECONDS = 3.0  # a pub/sub message; far below the 120 s TTL


async def _status_becomes(api: Api, path: str, token: str, status: int) -> float:
    """Seconds until `path` answers `status` to `token` (fails after the bound)."""
    started = time.monotonic()
    while True:
        reply = await api.get(path, token=token)
        if reply.status == status:
            return time.monotonic() - started
        assert time.monotonic() - started < ANNOUNCED_WITHIN_SECONDS, (path, reply.status)
        await asyncio.sleep(0.05)


async def test_a_sign_out_counts_at_once_in_both_processes(
    two_processes: tuple[MatchdayApp, Api, Api],
) -> None:
    app_a, api_a, api_b = two_processes
    token = await api_a.user("fan@example.com")
    for api in (api_a, api_b):  # each process now remembers the token
        for _ in range(2):
            assert (await api.get("/api/v1/me", token=token)).status == 200
    assert len(app_a.auth_cache) == 1

    assert (await api_a.post("/api/v1/auth/logout", token=token)).status == 204
    assert (await api_a.get("/api/v1/me", token=token)).status == 401  # no wait at all
    await _status_becomes(api_b, "/api/v1/me", token, 401)


async def test_a_demoted_admin_loses_admin_access_in_both_processes(
    two_processes: tuple[MatchdayApp, Api, Api],
) -> None:
    app_a, api_a, api_b = two_processes
    for email in ("first@example.com", "second@example.com"):
        await api_a.register(email)
        await asyncio.to_thread(create_admin, app_a.config, email, STRONG_PASSWORD, "Admin")
    first = await api_a.login("first@example.com")
    second = await api_a.login("second@example.com")
    me = await api_a.get("/api/v1/me", token=second)
    for api in (api_a, api_b):
        assert (await api.get("/api/v1/admin/audit", token=second)).status == 200

    demoted = await api_a.post(
        f"/api/v1/admin/users/{me.json['id']}/role", {"role": "user"}, token=first
    )
    assert demoted.status == 200, demoted.body
    assert (await api_a.get("/api/v1/admin/audit", token=second)).status == 403
    await _status_becomes(api_b, "/api/v1/admin/audit", second, 403)
    # Still signed in, as a user.
    assert (await api_b.get("/api/v1/me", token=second)).json["role"] == "user"
