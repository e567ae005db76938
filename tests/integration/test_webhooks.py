"""Webhooks on both run modes (SQLite + in-process tasks; PostgreSQL + Redis with the tasks
in-process): subscriptions, signed deliveries to a real receiver started here, retries of a
receiver that fails or times out and recovers, the dead letter, redelivery, the SSRF rule.
(The Celery path, with a real worker process: tests/e2e/test_webhooks_worker.py.)"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from models import OutboxEntry
from models.base import utcnow
from models.webhooks import WebhookDelivery
from server.admin_cli import create_admin
from server.app import MatchdayApp, make_app
from server.live.outbox import OutboxRelay
from server.live.webhook_fanout import WebhookFanout
from tests.support import (
    REDIS_URL,
    STRONG_PASSWORD,
    Api,
    Reply,
    delete_redis_keys,
    eventually,
    settings_for,
    sqlite_copy,
    truncate_pg,
)
from tests.webhook_receiver import Receiver

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
FAST = {
    "WEBHOOK_URLS": "any",
    "WEBHOOK_MAX_ATTEMPTS": "3",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.05",
    "WEBHOOK_RETRY_MAX_SECONDS": "0.2",
    "WEBHOOK_TIMEOUT_SECONDS": "1",
}


def doc_verifier() -> Callable[..., bool]:
    """The verification function of docs/webhooks.md, as a reader would paste it."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"<!-- verify-snippet.*?```python\n(.*?)```", text, re.S)
    assert block, "docs/webhooks.md lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), str(DOCS), "exec"), namespace)  # our own docs, run as pasted
    verify: Callable[..., bool] = namespace["verify_signature"]
    return verify


async def start_app(request: pytest.FixtureRequest, tmp_path: Path, **extra: str) -> MatchdayApp:
    if request.param == "embedded":
        url = sqlite_copy(request.getfixturevalue("sqlite_template_file"), tmp_path)
        return await make_app(settings_for(url, tmp_path, **{**FAST, **extra}))
    truncate_pg(request.getfixturevalue("pg_schema"))
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    settings = settings_for(
        request.getfixturevalue("pg_app_url"),
        tmp_path,
        REDIS_URL=REDIS_URL,
        REDIS_KEY_PREFIX=prefix,
        TASK_RUNNER="local",
        **{**FAST, **extra},
    )
    return await make_app(settings)


@pytest.fixture(params=["embedded", pytest.param("production", marks=pytest.mark.postgres)])
async def hook_app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MatchdayApp]:
    application = await start_app(request, tmp_path)
    yield application
    await application.close()
    if request.param == "production":
        await delete_redis_keys(application.config.redis_key_prefix)


@pytest.fixture
async def hook_api(hook_app: MatchdayApp) -> AsyncIterator[Api]:
    sock, port = bind_unused_port()
    server = HTTPServer(hook_app)
    server.add_sockets([sock])
    yield Api(f"http://127.0.0.1:{port}")
    server.stop()
    await server.close_all_connections()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body[:2000])
    return reply.json


async def league(api: Api, token: str) -> tuple[int, int]:
    """An event with two teams and one game; (event id, game id)."""
    event_id = ok(await api.post("/api/v1/events", {"name": "Hook Cup"}, token=token), 201)["id"]
    teams = [
        ok(await api.post(f"/api/v1/events/{event_id}/teams", {"name": n}, token=token), 201)["id"]
        for n in ("Ajax", "Benfica")
    ]
    body = {"home_team_id": teams[0], "away_team_id": teams[1]}
    game = ok(await api.post(f"/api/v1/events/{event_id}/games", body, token=token), 201)
    return event_id, game["id"]


async def subscribe(api: Api, token: str, event_id: int, url: str, *types: str) -> Any:
    body = {"url": url, "event_types": list(types or ("score",))}
    return ok(await api.post(f"/api/v1/events/{event_id}/webhooks", body, token=token), 201)


async def score(api: Api, token: str, game_id: int, home: int, status: str = "live") -> None:
    body = {"home_score": home, "away_score": 0, "status": status}
    ok(await api.put(f"/api/v1/games/{game_id}/score", body, token=token))


async def deliveries(api: Api, token: str, webhook_id: int) -> list[dict[str, Any]]:
    reply = ok(await api.get(f"/api/v1/webhooks/{webhook_id}/deliveries", token=token))
    items: list[dict[str, Any]] = reply["items"]
    return items


async def settles(api: Api, token: str, webhook_id: int, status: str, count: int = 1) -> list:
    """Waits until `count` deliveries have `status`; returns the log."""
    found: list[dict[str, Any]] = []

    async def check() -> bool:
        found[:] = await deliveries(api, token, webhook_id)
        return sum(d["status"] == status for d in found) >= count

    await eventually(check, timeout=15)
    return found


# --- deliveries -------------------------------------------------------------------------


async def test_a_score_arrives_signed_as_the_docs_say(hook_api: Api, receiver: Receiver) -> None:
    token = await hook_api.user("owner@example.com")
    event_id, game_id = await league(hook_api, token)
    hook = await subscribe(hook_api, token, event_id, receiver.url("/in"), "score")
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) > 30
    await score(hook_api, token, game_id, 1)

    async def arrived() -> bool:
        return bool(receiver.at("/in"))

    await eventually(arrived)
    [got] = receiver.at("/in")
    verify = doc_verifier()
    assert verify(hook["secret"], got.headers["Matchday-Signature"], got.body)
    assert not verify("another-secret-of-some-length", got.headers["Matchday-Signature"], got.body)
    assert not verify(hook["secret"], got.headers["Matchday-Signature"], got.body + b" ")
    body = json.loads(got.body)
    assert got.headers["Matchday-Event"] == "score" == body["event"]
    assert got.headers["Matchday-Delivery"] == str(body["id"])
    assert body["event_id"] == event_id and body["stream_id"]
    assert body["data"]["id"] == game_id and body["data"]["home_score"] == 1
    [logged] = await settles(hook_api, token, hook["id"], "delivered")
    assert logged["id"] == body["id"] and logged["attempts"] == 1
    assert logged["last_status_code"] == 204 and logged["next_attempt_at"] is None


async def test_only_the_chosen_event_types_are_delivered(hook_api: Api, receiver: Receiver) -> None:
    token = await hook_api.user("owner@example.com")
    event_id, game_id = await league(hook_api, token)
    finals = await subscribe(hook_api, token, event_id, receiver.url("/finals"), "final")
    tables = await subscribe(hook_api, token, event_id, receiver.url("/tables"), "standings")
    await score(hook_api, token, game_id, 1)
    await score(hook_api, token, game_id, 2, status="final")

    await settles(hook_api, token, finals["id"], "delivered")
    await settles(hook_api, token, tables["id"], "delivered")
    [final] = receiver.at("/finals")
    assert json.loads(final.body)["data"]["status"] == "final"  # not the live 1-0
    assert {r.headers["Matchday-Event"] for r in receiver.at("/tables")} == {"standings"}


async def test_a_failing_receiver_gets_it_on_retry(hook_api: Api, receiver: Receiver) -> None:
    receiver.plan("/flaky", 500, 503)
    token = await hook_api.user("owner@example.com")
    event_id, game_id = await league(hook_api, token)
    hook = await subscribe(hook_api, token, event_id, receiver.url("/flaky"))
    await score(hook_api, token, game_id, 1)

    [logged] = await settles(hook_api, token, hook["id"], "delivered")
    assert logged["attempts"] == 3 and logged["last_error"] is None
    got = receiver.at("/flaky")
    assert len(got) == 3
    assert len({r.headers["Matchday-Delivery"] for r in got}) == 1  # one delivery, three tries
    assert len({r.body for r in got}) == 1  # the same bytes every time


async def test_a_receiver_that_times_out_then_recovers(hook_api: Api, receiver: Receiver) -> None:
    receiver.plan("/slow", ("sleep", 1.5))  # the sender waits 1 s
    token = await hook_api.user("owner@example.com")
    event_id, game_id = await league(hook_api, token)
    hook = await subscribe(hook_api, token, event_id, receiver.url("/slow"))
    await score(hook_api, token, game_id, 1)

    [logged] = await settles(hook_api, token, hook["id"], "delivered")
    assert logged["attempts"] == 2 and logged["last_status_code"] == 204


async def test_dead_letter_after_the_last_attempt_then_redelivery(
    hook_api: Api, receiver: Receiver
) -> None:
    receiver.plan("/down", 500, 500, 500)  # WEBHOOK_MAX_ATTEMPTS=3
    token = await hook_api.user("owner@example.com")
    event_id, game_id = await league(hook_api, token)
    hook = await subscribe(hook_api, token, event_id, receiver.url("/down"))
    await score(hook_api, token, game_id, 1)

    [dead] = await settles(hook_api, token, hook["id"], "dead")
    assert dead["attempts"] == 3
    assert dead["last_status_code"] == 500 and dead["last_error"] == "HTTP 500"
    await asyncio.sleep(0.5)  # no fourth attempt comes
    assert len(receiver.at("/down")) == 3
    path = f"/api/v1/webhooks/{hook['id']}/deliveries?status=dead"
    assert [d["id"] for d in ok(await hook_api.get(path, token=token))["items"]] == [dead["id"]]

    again = f"/api/v1/webhooks/{hook['id']}/deliveries/{dead['id']}/redeliver"
    assert ok(await hook_api.post(again, token=token), 202)["status"] == "pending"
    [delivered] = await settles(hook_api, token, hook["id"], "delivered")
    assert delivered["id"] == dead["id"] and delivered["attempts"] == 1
    assert len(receiver.at("/down")) == 4


async def test_a_paused_subscription_gets_nothing(hook_api: Api, receiver: Receiver) -> None:
    token = await hook_api.user("owner@example.com")
    event_id, game_id = await league(hook_api, token)
    hook = await subscribe(hook_api, token, event_id, receiver.url("/paused"))
    paused = ok(
        await hook_api.patch(f"/api/v1/webhooks/{hook['id']}", {"active": False}, token=token)
    )
    assert paused["active"] is False and "secret" not in paused
    live = await subscribe(hook_api, token, event_id, receiver.url("/live"))
    await score(hook_api, token, game_id, 1)
    await settles(hook_api, token, live["id"], "delivered")
    assert receiver.at("/paused") == [] and await deliveries(hook_api, token, hook["id"]) == []


# --- subscriptions ------------------------------------------------------------------------


async def test_subscriptions_crud_secret_shown_once_and_audited(
    hook_api: Api, hook_app: MatchdayApp, receiver: Receiver
) -> None:
    await hook_api.register("admin@example.com")
    await asyncio.to_thread(
        create_admin, hook_app.config, "admin@example.com", STRONG_PASSWORD, "A"
    )
    admin = await hook_api.login("admin@example.com")
    token = await hook_api.user("owner@example.com")
    event_id, _game = await league(hook_api, token)
    body = {"url": receiver.url("/a"), "event_types": ["game"], "secret": "my-own-secret-1234"}
    created = ok(await hook_api.post(f"/api/v1/events/{event_id}/webhooks", body, token=token), 201)
    assert created["secret"] == "my-own-secret-1234" and created["event_id"] == event_id
    path = f"/api/v1/webhooks/{created['id']}"
    shown = ok(await hook_api.get(path, token=token))
    assert "secret" not in shown and shown["url"] == receiver.url("/a")
    listed = ok(await hook_api.get(f"/api/v1/events/{event_id}/webhooks", token=admin))
    assert [w["id"] for w in listed["items"]] == [created["id"]] and listed["total"] == 1
    assert all("secret" not in w for w in listed["items"])

    rotated = ok(
        await hook_api.patch(path, {"rotate_secret": True, "event_types": ["score"]}, token=token)
    )
    assert rotated["secret"].startswith("whsec_") and rotated["event_types"] == ["score"]
    assert (await hook_api.request("DELETE", path, token=token)).status == 204
    assert (await hook_api.get(path, token=token)).status == 404

    audit = ok(await hook_api.get("/api/v1/admin/audit?action=webhook.update", token=admin))
    [entry] = audit["items"]
    assert entry["details"]["new"] == {"event_types": ["score"], "secret": "rotated"}
    assert "whsec_" not in json.dumps(audit)
    for action in ("webhook.create", "webhook.delete"):
        found = ok(await hook_api.get(f"/api/v1/admin/audit?action={action}", token=admin))
        assert [e["target_id"] for e in found["items"]] == [created["id"]]


async def test_only_the_owner_and_admins_manage_webhooks(hook_api: Api, receiver: Receiver) -> None:
    owner = await hook_api.user("owner@example.com")
    other = await hook_api.user("other@example.com")
    event_id, _game = await league(hook_api, owner)
    hook = await subscribe(hook_api, owner, event_id, receiver.url("/x"))
    path = f"/api/v1/webhooks/{hook['id']}"
    body = {"url": receiver.url("/y"), "event_types": ["score"]}
    refused = [
        await hook_api.post(f"/api/v1/events/{event_id}/webhooks", body, token=other),
        await hook_api.get(f"/api/v1/events/{event_id}/webhooks", token=other),
        await hook_api.get(path, token=other),
        await hook_api.patch(path, {"active": False}, token=other),
        await hook_api.request("DELETE", path, token=other),
        await hook_api.get(f"{path}/deliveries", token=other),
    ]
    assert [r.status for r in refused] == [403] * 6
    assert (await hook_api.get(path)).status == 401
    assert (await hook_api.get("/api/v1/webhooks/999999", token=owner)).status == 404
    missing = await hook_api.post(f"{path}/deliveries/999999/redeliver", token=owner)
    assert missing.status == 404 and missing.error_code() == "not_found"


async def test_bad_subscriptions_are_refused_field_by_field(
    hook_api: Api, receiver: Receiver
) -> None:
    token = await hook_api.user("owner@example.com")
    event_id, _game = await league(hook_api, token)
    path = f"/api/v1/events/{event_id}/webhooks"
    cases = [
        ({"url": receiver.url("/a"), "event_types": ["goal"]}, "event_types"),
        ({"url": receiver.url("/a"), "event_types": []}, "event_types"),
        ({"url": receiver.url("/a"), "event_types": ["score", "score"]}, "event_types"),
        ({"url": "ftp://example.org/x", "event_types": ["score"]}, "url"),
        ({"url": "https://user:pw@example.org/x", "event_types": ["score"]}, "url"),
        ({"url": receiver.url("/a"), "event_types": ["score"], "secret": "short"}, "secret"),
        ({"event_types": ["score"]}, "url"),
        ({"url": receiver.url("/a"), "event_types": ["score"], "extra": 1}, "extra"),
    ]
    for body, field in cases:
        reply = await hook_api.post(path, body, token=token)
        assert reply.status == 422, (body, reply.body)
        assert field in reply.json["error"]["details"], (body, reply.json)


@pytest.fixture(params=["embedded"])
async def strict_api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    """The production rule (WEBHOOK_URLS=public) on the embedded default."""
    application = await start_app(request, tmp_path, WEBHOOK_URLS="public")
    sock, port = bind_unused_port()
    server = HTTPServer(application)
    server.add_sockets([sock])
    yield Api(f"http://127.0.0.1:{port}")
    server.stop()
    await server.close_all_connections()
    await application.close()


async def test_in_production_only_public_https_urls(strict_api: Api) -> None:
    token = await strict_api.user("owner@example.com")
    event_id, _game = await league(strict_api, token)
    path = f"/api/v1/events/{event_id}/webhooks"
    refused = {
        "http://93.184.215.14/hook": "only https URLs are allowed",
        "https://127.0.0.1/hook": "127.0.0.1 is not a public address",
        "https://localhost:8443/hook": "is not a public address",
        "https://10.1.2.3/hook": "10.1.2.3 is not a public address",
        "https://169.254.169.254/latest/meta-data": "169.254.169.254 is not a public address",
        "https://[::1]/hook": "::1 is not a public address",
        "https://[::ffff:192.168.0.1]/hook": "192.168.0.1 is not a public address",
        "https://no-such-host.invalid/hook": "cannot resolve no-such-host.invalid",
    }
    for url, reason in refused.items():
        reply = await strict_api.post(path, {"url": url, "event_types": ["score"]}, token=token)
        assert reply.status == 422, (url, reply.body)
        assert reason in reply.json["error"]["details"]["url"][0], (url, reply.json)
    public = {"url": "https://93.184.215.14/hook", "event_types": ["score"]}
    hook = ok(await strict_api.post(path, public, token=token), 201)  # a literal public address
    moved = await strict_api.patch(
        f"/api/v1/webhooks/{hook['id']}", {"url": "https://10.0.0.1/hook"}, token=token
    )
    assert moved.status == 422 and "10.0.0.1" in moved.json["error"]["details"]["url"][0]


async def test_a_delivery_whose_task_was_lost_is_sent_by_the_sweep(
    hook_api: Api, hook_app: MatchdayApp, receiver: Receiver
) -> None:
    """A broker that lost the task, or a server restarted while a retry waited: the row
    still says the delivery is due, and the sweep queues it again."""
    token = await hook_api.user("owner@example.com")
    event_id, _game = await league(hook_api, token)
    hook = await subscribe(hook_api, token, event_id, receiver.url("/lost"))
    overdue = utcnow() - timedelta(minutes=5)
    async with hook_app.sessions() as session, session.begin():
        lost = WebhookDelivery(
            subscription_id=hook["id"],
            event_id=event_id,
            kind="score",
            data='{"id":1}',
            status="retrying",
            attempts=1,
            next_attempt_at=overdue,
        )
        session.add(lost)
    swept = await hook_app.sweeper.sweep()
    assert swept.webhooks == 1
    [logged] = await settles(hook_api, token, hook["id"], "delivered")
    assert logged["attempts"] == 2
    [got] = receiver.at("/lost")
    assert json.loads(got.body)["data"] == {"id": 1}
    assert (await hook_app.sweeper.sweep()).webhooks == 0  # nothing overdue any more


def test_the_openapi_document_lists_every_webhook_operation_and_its_errors() -> None:
    from server.openapi import build_openapi

    paths = build_openapi()["paths"]
    expected = {
        ("/api/v1/events/{event_id}/webhooks", "post"): {400, 401, 403, 404, 413, 415, 422},
        ("/api/v1/events/{event_id}/webhooks", "get"): {401, 403, 404, 422},
        ("/api/v1/webhooks/{webhook_id}", "get"): {401, 403, 404},
        ("/api/v1/webhooks/{webhook_id}", "patch"): {400, 401, 403, 404, 413, 415, 422},
        ("/api/v1/webhooks/{webhook_id}", "delete"): {401, 403, 404},
        ("/api/v1/webhooks/{webhook_id}/deliveries", "get"): {401, 403, 404, 422},
        (
            "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
            "post",
        ): {401, 403, 404, 409},
    }
    for (path, method), errors in expected.items():
        responses = {int(code) for code in paths[path][method]["responses"]}
        assert errors | {429, 503} <= responses, (path, method, responses)


async def test_relays_of_several_processes_create_each_delivery_once(
    hook_api: Api, hook_app: MatchdayApp, receiver: Receiver
) -> None:
    """Two more relays over the same outbox (as other server processes would run): the
    entry is published once per dedupe key, and deleted, with its delivery, by one of them."""
    token = await hook_api.user("owner@example.com")
    event_id, _game = await league(hook_api, token)
    await hook_app.relay.caught_up()  # the game's own `game` event went out before: not ours
    hook = await subscribe(hook_api, token, event_id, receiver.url("/once"), "game")
    sent: list[list[int]] = []
    relays = [
        OutboxRelay(
            hook_app.sessions,
            hook_app.streams,
            sweep_seconds=60,
            webhooks=WebhookFanout(sent.append),
        )
        for _ in range(2)
    ]
    for _ in range(5):
        async with hook_app.sessions() as session, session.begin():
            session.add(OutboxEntry(event_id=event_id, kind="game", data='{"id":7}'))
        await asyncio.gather(*(relay.relay_pending() for relay in relays))
    await hook_app.relay.caught_up()
    async with hook_app.sessions() as session:
        rows = list(await session.scalars(select(WebhookDelivery)))
    assert len(rows) == 5 and {r.subscription_id for r in rows} == {hook["id"]}
    assert sorted(i for ids in sent for i in ids) == sorted(
        r.id for r in rows if r.status == "pending"
    )


async def test_no_redelivery_while_an_attempt_is_in_flight(
    hook_api: Api, receiver: Receiver
) -> None:
    receiver.plan("/busy", ("sleep", 1.5))  # the attempt runs for the whole 1 s timeout
    token = await hook_api.user("owner@example.com")
    event_id, game_id = await league(hook_api, token)
    hook = await subscribe(hook_api, token, event_id, receiver.url("/busy"))
    await score(hook_api, token, game_id, 1)
    [running] = await settles(hook_api, token, hook["id"], "delivering")
    path = f"/api/v1/webhooks/{hook['id']}/deliveries/{running['id']}/redeliver"
    refused = await hook_api.post(path, token=token)
    assert refused.status == 409 and refused.error_code() == "delivery_in_flight"
    [done] = await settles(hook_api, token, hook["id"], "delivered")
    assert done["attempts"] == 2  # the timed-out attempt, then its retry
