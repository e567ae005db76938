"""Webhooks through Celery: `matchday serve` and a `matchday worker` (real processes, real
PostgreSQL and Redis) deliver to a receiver this test runs on 127.0.0.1. The worker makes
every attempt; its retries are Celery retries with a countdown."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import serving, wait_ready
from tests.e2e.test_workers import League, Stack
from tests.integration.test_webhooks import doc_verifier
from tests.support import Api, create_pg_schema, delete_redis_keys, drop_pg_schema, eventually
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

HOOKS = {
    "WEBHOOK_URLS": "any",
    "WEBHOOK_MAX_ATTEMPTS": "3",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "WEBHOOK_RETRY_MAX_SECONDS": "0.5",
    "WEBHOOK_TIMEOUT_SECONDS": "1",
}


@pytest.fixture
def hook_stack(tmp_path: Path) -> Iterator[Stack]:
    schema = create_pg_schema()
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    try:
        with serving(tmp_path) as serve_start:
            stack = Stack(tmp_path, schema, prefix, serve_start)
            try:
                yield stack
            finally:
                stack.close()
    finally:
        asyncio.run(delete_redis_keys(prefix))
        drop_pg_schema(schema)


async def log_of(api: Api, token: str, hook: dict[str, Any]) -> list[dict[str, Any]]:
    reply = await api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", token=token)
    assert reply.status == 200, reply.body
    items: list[dict[str, Any]] = reply.json["items"]
    return items


async def reaches(
    api: Api, token: str, hook: dict[str, Any], status: str, *, one: bool = True
) -> dict[str, Any]:
    """The hook's newest delivery, once every one has `status` (`one`: and there is one)."""
    found: list[dict[str, Any]] = []

    async def check() -> bool:
        found[:] = await log_of(api, token, hook)
        if one and len(found) != 1:
            return False
        return bool(found) and all(each["status"] == status for each in found)

    try:
        await eventually(check, timeout=30)
    except AssertionError:
        raise AssertionError(f"never {status}: {found}") from None
    return found[0]


async def test_the_worker_delivers_retries_dead_letters_and_redelivers(
    hook_stack: Stack,
) -> None:
    with Receiver().running() as receiver:
        receiver.plan("/flaky", 500)
        receiver.plan("/slow", ("sleep", 1.6))
        receiver.plan("/down", 500, 500, 500)
        api = hook_stack.serve(**HOOKS)
        worker = hook_stack.worker("hooks", queues="standings,audit,webhooks", **HOOKS)
        # A busy machine (shared by several suites) can take a while to start a worker.
        await asyncio.gather(wait_ready(api, timeout=90), worker.ready(timeout=90))
        league = await League.create(api, teams=2)
        token, path = league.token, f"/api/v1/events/{league.id}/webhooks"
        hooks = {}
        for name, types in [
            ("ok", ["final"]),
            ("flaky", ["final"]),
            ("slow", ["final"]),
            ("down", ["final"]),
            ("tables", ["standings"]),
        ]:
            body = {"url": receiver.url(f"/{name}"), "event_types": types}
            reply = await api.post(path, body, token=token)
            assert reply.status == 201, reply.body
            hooks[name] = reply.json

        await league.score(0, 2, 1)  # final: a `score`, then the worker's `standings`

        delivered = await reaches(api, token, hooks["ok"], "delivered")
        [got] = receiver.at("/ok")
        assert doc_verifier()(hooks["ok"]["secret"], got.headers["Matchday-Signature"], got.body)
        assert json.loads(got.body)["data"]["status"] == "final"
        assert got.headers["Matchday-Delivery"] == str(delivered["id"])
        # Standings events are written by the worker (a recompute may run more than once);
        # their deliveries exist all the same.
        await reaches(api, token, hooks["tables"], "delivered", one=False)
        assert json.loads(receiver.at("/tables")[0].body)["event"] == "standings"

        assert (await reaches(api, token, hooks["flaky"], "delivered"))["attempts"] == 2
        assert (await reaches(api, token, hooks["slow"], "delivered"))["attempts"] == 2
        dead = await reaches(api, token, hooks["down"], "dead")
        assert (dead["attempts"], dead["last_status_code"]) == (3, 500)

        again = f"/api/v1/webhooks/{hooks['down']['id']}/deliveries/{dead['id']}/redeliver"
        assert (await api.post(again, token=token)).status == 202
        assert (await reaches(api, token, hooks["down"], "delivered"))["attempts"] == 1
        assert len(receiver.at("/down")) == 4
        assert "Task matchday.deliver_webhook" in worker.log()
        assert "retry" in worker.log().lower()
