"""Rate limits, attacked: every limit reached and reset, in both run modes (in memory on the
embedded default, in Redis in production); the headers; failed-login throttling per account
and per address; X-Forwarded-For only from trusted proxies; and one limit shared by two
`matchday serve` processes through Redis.

Each test starts its own server with tiny limits (RATE_LIMITS). The in-process servers count
against a `Clock` the test moves (tests/support.py): a window passes with `clock.advance`, not
a sleep. In memory that clock is MemoryBackend's; in Redis the Lua script normally reads Redis's
own TIME (so every process agrees on the windows) and takes the test's time as an argument
instead when RedisBackend is given a clock. The two-process test keeps the real clocks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from models import AuditEntry
from server.app import MatchdayApp, make_app
from server.ratelimit import Backend, MemoryBackend, RedisBackend
from tests.e2e.processes import Serve, matchday_env, serving, wait_ready
from tests.sse_client import SseStream
from tests.support import (
    REDIS_URL,
    STRONG_PASSWORD,
    TEST_SECRET,
    Api,
    Clock,
    Reply,
    create_pg_schema,
    delete_redis_keys,
    drop_pg_schema,
    pg_schema_url,
    settings_for,
    sqlite_copy,
    truncate_pg,
)

Start = Callable[..., Awaitable[tuple[MatchdayApp, Api]]]
EVENTS = "/api/v1/events"
LOGIN = "/api/v1/auth/login"
WRONG = "not-the-password-at-all"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["embedded", pytest.param("production", marks=pytest.mark.postgres)])
async def start(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> AsyncIterator[Start]:
    """`await start(**settings)` → (app, api): a server in this mode with these settings
    (production: PostgreSQL and Redis under a fresh key prefix), its limits counted against
    `clock`. One per test."""
    running: list[tuple[MatchdayApp, HTTPServer]] = []
    prefixes: list[str] = []

    async def launch(**extra: str) -> tuple[MatchdayApp, Api]:
        assert not running, "one server per test"
        if request.param == "embedded":
            url = sqlite_copy(request.getfixturevalue("sqlite_template_file"), tmp_path)
            settings = settings_for(url, tmp_path, **extra)
        else:
            schema = request.getfixturevalue("pg_schema")
            truncate_pg(schema)
            prefixes.append(f"test:{uuid.uuid4().hex[:10]}:")
            settings = settings_for(
                pg_schema_url(schema),
                tmp_path,
                REDIS_URL=REDIS_URL,
                REDIS_KEY_PREFIX=prefixes[-1],
                TASK_RUNNER="local",
                **extra,
            )
        app = await make_app(settings)
        await counted_by(app, clock)
        sock, port = bind_unused_port()
        server = HTTPServer(app, max_body_size=settings.max_json_body_bytes * 2)
        server.add_sockets([sock])
        running.append((app, server))
        return app, Api(f"http://127.0.0.1:{port}")

    yield launch
    for app, server in running:
        server.stop()
        await server.close_all_connections()
        await app.close()
    for prefix in prefixes:
        await delete_redis_keys(prefix)


async def counted_by(app: MatchdayApp, clock: Clock) -> None:
    """Swap the app's rate-limit backend for the same kind of backend reading `clock`."""
    backend: Backend | None = app.throttle.backend
    if backend is None:  # RATE_LIMIT_ENABLED=false
        return
    if isinstance(backend, RedisBackend):
        app.throttle.backend = RedisBackend(REDIS_URL, app.config.redis_key_prefix, clock=clock)
    else:
        app.throttle.backend = MemoryBackend(clock)
    await backend.close()


def assert_rate_limited(reply: Reply, limit: str) -> int:
    """The contract's 429; returns Retry-After."""
    assert reply.status == 429, (reply.status, reply.body)
    error = reply.json["error"]
    assert error["code"] == "rate_limited" and error["details"] == {"limit": limit}, error
    assert error["request_id"] == reply.headers["X-Request-ID"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    retry_after = int(reply.headers["Retry-After"])
    assert retry_after >= 1
    assert reply.headers["RateLimit-Remaining"] == "0"
    assert reply.headers["RateLimit-Reset"] == str(retry_after)
    return retry_after


async def login(
    api: Api, email: str, password: str = STRONG_PASSWORD, headers: dict[str, str] | None = None
) -> Reply:
    return await api.post(LOGIN, {"email": email, "password": password}, headers=headers)


# --- each limit reached and reset ------------------------------------------------------------


async def test_ip_limit_reached_and_reset(start: Start, clock: Clock) -> None:
    _app, api = await start(RATE_LIMITS="ip:5/2")
    replies = [await api.get(EVENTS) for _ in range(5)]
    assert [r.status for r in replies] == [200] * 5
    assert {r.headers["RateLimit-Limit"] for r in replies} == {"5"}
    assert {r.headers["RateLimit-Policy"] for r in replies} == {"5;w=2"}
    remaining = [int(r.headers["RateLimit-Remaining"]) for r in replies]
    assert remaining[0] == 4 and remaining[-1] == 0 and remaining == sorted(remaining)[::-1]
    refused = await api.get(EVENTS)
    retry_after = assert_rate_limited(refused, "ip")
    assert retry_after <= 5  # at most two windows, rounded up
    assert_rate_limited(await api.get("/api/v1/events/1"), "ip")  # every path of the address
    assert (await api.get("/healthz")).status == 200  # probes are not limited
    assert (await api.get("/readyz")).status == 200

    clock.advance(retry_after - 1)  # Retry-After is rounded up: a second early is too early
    assert_rate_limited(await api.get(EVENTS), "ip")
    clock.advance(1)
    again = await api.get(EVENTS)
    assert again.status == 200, again.body
    metrics = (await api.get("/metrics")).body.decode()
    assert 'matchday_rate_limited_total{limit="ip"}' in metrics


async def test_unknown_paths_count_against_the_address(start: Start) -> None:
    _app, api = await start(RATE_LIMITS="ip:2/60")
    assert [(await api.get(f"/probe/{n}")).status for n in range(2)] == [404, 404]
    assert_rate_limited(await api.get("/probe/3"), "ip")


async def test_user_limit_counts_each_user_apart(start: Start, clock: Clock) -> None:
    _app, api = await start(RATE_LIMITS="user:3/2")
    ann = await api.user("ann@example.com")
    bob = await api.user("bob@example.com")
    assert [(await api.get("/api/v1/me", token=ann)).status for _ in range(3)] == [200] * 3
    refused = await api.get("/api/v1/me", token=ann)
    retry_after = assert_rate_limited(refused, "user")
    assert refused.headers["RateLimit-Limit"] == "3"
    assert (await api.get("/api/v1/me", token=bob)).status == 200  # another user
    assert (await api.get(EVENTS)).status == 200  # anonymous, same address
    clock.advance(retry_after)
    assert (await api.get("/api/v1/me", token=ann)).status == 200


async def test_auth_endpoints_are_stricter_than_reads(start: Start, clock: Clock) -> None:
    _app, api = await start(RATE_LIMITS="auth:3/2")
    await api.register("ann@example.com")  # 1
    tokens = (await login(api, "ann@example.com")).json  # 2
    refreshed = await api.post("/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert refreshed.status == 200, refreshed.body  # 3
    assert refreshed.headers["RateLimit-Remaining"] == "0"
    retry_after = assert_rate_limited(await login(api, "ann@example.com"), "auth")
    assert_rate_limited(
        await api.post(
            "/api/v1/auth/register",
            {"email": "bob@example.com", "password": STRONG_PASSWORD, "display_name": "Bob"},
        ),
        "auth",
    )
    for _ in range(5):  # reads and the caller's other requests go on
        assert (await api.get(EVENTS)).status == 200
    assert (await api.get("/api/v1/me", token=tokens["access_token"])).status == 200
    clock.advance(retry_after)
    assert (await login(api, "ann@example.com")).status == 200


async def test_writes_are_stricter_than_reads(start: Start, clock: Clock) -> None:
    _app, api = await start(RATE_LIMITS="write:2/2")
    ann = await api.user("ann@example.com")
    bob = await api.user("bob@example.com")
    created = [await api.post(EVENTS, {"name": f"Cup {n}"}, token=ann) for n in range(2)]
    assert [r.status for r in created] == [201, 201]
    retry_after = assert_rate_limited(await api.post(EVENTS, {"name": "Cup"}, token=ann), "write")
    event_id = created[0].json["id"]
    assert_rate_limited(
        await api.patch(f"{EVENTS}/{event_id}", {"name": "Renamed"}, token=ann), "write"
    )
    for _ in range(5):
        assert (await api.get(EVENTS, token=ann)).status == 200
    assert (await api.post(EVENTS, {"name": "Bob's Cup"}, token=bob)).status == 201
    clock.advance(retry_after)
    assert (await api.post(EVENTS, {"name": "Later Cup"}, token=ann)).status == 201


async def test_sse_connects_per_address(start: Start, clock: Clock) -> None:
    _app, api = await start(RATE_LIMITS="sse_connect:2/2")
    token = await api.user("ann@example.com")
    event = await api.post(EVENTS, {"name": "Cup"}, token=token)
    path = f"{EVENTS}/{event.json['id']}/stream"
    for _ in range(2):
        stream = await SseStream.open(api.base_url, path)
        assert stream.status == 200, stream.body
        assert stream.headers["ratelimit-limit"] == "2"
        await stream.close()
    refused = await SseStream.open(api.base_url, path)
    await refused.close()
    assert refused.status == 429, refused.body
    assert refused.headers["content-type"].startswith("application/json")
    retry_after = int(refused.headers["retry-after"])
    assert b'"rate_limited"' in refused.body and b'"sse_connect"' in refused.body
    assert (await api.get(f"{EVENTS}/{event.json['id']}")).status == 200  # reads go on
    clock.advance(retry_after)
    stream = await SseStream.open(api.base_url, path)
    assert stream.status == 200, stream.body
    await stream.close()


# --- headers -------------------------------------------------------------------------------


async def test_headers_on_successful_and_failed_responses(start: Start) -> None:
    _app, api = await start()  # the defaults
    reply = await api.get(EVENTS)
    assert reply.headers["RateLimit-Limit"] == "2400"
    assert reply.headers["RateLimit-Remaining"] == "2399"
    assert 1 <= int(reply.headers["RateLimit-Reset"]) <= 60
    assert reply.headers["RateLimit-Policy"] == "2400;w=60"
    assert "Retry-After" not in reply.headers
    token = await api.user("ann@example.com")
    me = await api.get("/api/v1/me", token=token)  # ip and user count: the tighter is shown
    assert me.headers["RateLimit-Limit"] == "1200"
    missing = await api.get(f"{EVENTS}/999", token=token)  # errors keep them
    assert missing.status == 404 and missing.headers["RateLimit-Limit"] == "1200"
    assert (await login(api, "ann@example.com")).headers["RateLimit-Limit"] == "60"
    assert "RateLimit-Limit" not in (await api.get("/healthz")).headers


async def test_rate_limiting_can_be_turned_off(start: Start) -> None:
    _app, api = await start(RATE_LIMIT_ENABLED="false", RATE_LIMITS="ip:1/60,auth:1/60")
    await api.register("ann@example.com")
    for _ in range(12):
        reply = await login(api, "ann@example.com", WRONG)
        assert reply.status == 401 and "RateLimit-Limit" not in reply.headers
    assert (await login(api, "ann@example.com")).status == 200


# --- failed logins ---------------------------------------------------------------------------


async def test_the_eleventh_attempt_is_refused_even_with_the_right_password(start: Start) -> None:
    _app, api = await start()  # the contract's default: 10 failures in 15 minutes
    await api.register("ann@example.com")
    for _ in range(10):
        reply = await login(api, "ann@example.com", WRONG)
        assert reply.status == 401, reply.body
    refused = await login(api, "ann@example.com")
    retry_after = assert_rate_limited(refused, "failed_login_ip")
    assert 60 < retry_after <= 1800
    assert "access_token" not in refused.body.decode()


async def test_failed_logins_per_account(start: Start) -> None:
    app, api = await start(RATE_LIMITS="failed_login_account:3/900,failed_login_ip:100/900")
    await api.register("ann@example.com")
    await api.register("bob@example.com")
    for _ in range(3):
        assert (await login(api, "ann@example.com", WRONG)).status == 401
    assert_rate_limited(await login(api, "ann@example.com"), "failed_login_account")
    assert_rate_limited(await login(api, "ANN@example.com"), "failed_login_account")
    assert (await login(api, "bob@example.com")).status == 200  # another account goes on

    # an account that does not exist answers exactly alike: nothing to enumerate
    existing, missing = [], []
    for email, seen in (("bob@example.com", existing), ("nobody@example.com", missing)):
        for _ in range(4):
            reply = await login(api, email, WRONG)
            seen.append((reply.status, reply.json["error"]["code"], reply.json["error"]["message"]))
    assert existing == missing
    assert [status for status, _, _ in missing] == [401, 401, 401, 429]

    # a throttled attempt checks no password and writes no audit entry
    async with app.sessions() as session:
        failed = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "user.login_failed")
            )
        ).all()
    assert len(failed) == 9


async def test_a_successful_login_clears_the_account_failures(start: Start) -> None:
    _app, api = await start(RATE_LIMITS="failed_login_account:3/900,failed_login_ip:100/900")
    await api.register("ann@example.com")
    for _ in range(2):
        assert (await login(api, "ann@example.com", WRONG)).status == 401
    assert (await login(api, "ann@example.com")).status == 200
    for _ in range(3):  # three more failures allowed again
        assert (await login(api, "ann@example.com", WRONG)).status == 401
    assert_rate_limited(await login(api, "ann@example.com"), "failed_login_account")


async def test_failed_logins_per_address_and_their_reset(start: Start, clock: Clock) -> None:
    _app, api = await start(RATE_LIMITS="failed_login_ip:3/2,failed_login_account:100/900")
    for name in ("ann", "bob", "cat"):
        await api.register(f"{name}@example.com")
    assert (await login(api, "ann@example.com", WRONG)).status == 401
    assert (await login(api, "nobody@example.com", WRONG)).status == 401
    assert (await login(api, "cat@example.com")).status == 200  # does not clear the address
    assert (await login(api, "bob@example.com", WRONG)).status == 401
    retry_after = assert_rate_limited(await login(api, "cat@example.com"), "failed_login_ip")
    assert_rate_limited(await login(api, "bob@example.com"), "failed_login_ip")
    clock.advance(retry_after)
    assert (await login(api, "cat@example.com")).status == 200


# --- client address behind proxies ----------------------------------------------------------


async def audit_ips(app: MatchdayApp, action: str) -> list[str | None]:
    async with app.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return [row.ip for row in rows]


async def test_forwarded_for_is_ignored_from_an_untrusted_peer(start: Start) -> None:
    app, api = await start(RATE_LIMITS="ip:4/60")
    await api.register("ann@example.com")
    for n in range(3):
        reply = await api.get(EVENTS, headers={"X-Forwarded-For": f"198.51.100.{n}"})
        assert reply.status == 200
    refused = await api.get(EVENTS, headers={"X-Forwarded-For": "198.51.100.99"})
    assert_rate_limited(refused, "ip")
    assert await audit_ips(app, "user.register") == ["127.0.0.1"]


async def test_forwarded_for_is_honoured_from_a_trusted_proxy(start: Start) -> None:
    app, api = await start(TRUSTED_PROXIES="127.0.0.0/8", RATE_LIMITS="ip:3/60")
    one = {"X-Forwarded-For": "198.51.100.1"}
    await api.register("ann@example.com", name="Ann")  # from 127.0.0.1 itself
    assert [(await api.get(EVENTS, headers=one)).status for _ in range(3)] == [200] * 3
    assert_rate_limited(await api.get(EVENTS, headers=one), "ip")
    # a client cannot escape by prepending addresses: the proxy appended its real one last
    forged = {"X-Forwarded-For": "203.0.113.50, 198.51.100.1"}
    assert_rate_limited(await api.get(EVENTS, headers=forged), "ip")
    two = {"X-Forwarded-For": "198.51.100.2"}
    assert (await api.get(EVENTS, headers=two)).status == 200  # another client
    two_via_proxies = {"X-Forwarded-For": "198.51.100.2, 127.0.0.5"}  # two proxies deep
    assert (await api.get(EVENTS, headers=two_via_proxies)).status == 200

    reply = await login(api, "ann@example.com", headers={"X-Forwarded-For": "198.51.100.3"})
    assert reply.status == 200, reply.body
    assert await audit_ips(app, "user.register") == ["127.0.0.1"]
    assert await audit_ips(app, "user.login") == ["198.51.100.3"]


async def test_failed_login_throttle_follows_the_forwarded_client(start: Start) -> None:
    _app, api = await start(
        TRUSTED_PROXIES="127.0.0.1", RATE_LIMITS="failed_login_ip:2/900,failed_login_account:off"
    )
    await api.register("ann@example.com")
    mallory = {"X-Forwarded-For": "203.0.113.66"}
    for _ in range(2):
        assert (await login(api, "ann@example.com", WRONG, headers=mallory)).status == 401
    assert_rate_limited(await login(api, "ann@example.com", headers=mallory), "failed_login_ip")
    ann = {"X-Forwarded-For": "198.51.100.7"}
    assert (await login(api, "ann@example.com", headers=ann)).status == 200


# --- one limit across processes ---------------------------------------------------------------


@pytest.fixture
def shared_env(tmp_path: Path) -> Iterator[Callable[..., dict[str, str]]]:
    """Production mode on a fresh schema and Redis prefix, removed afterwards (request it
    before `serve`, so the servers stop first)."""
    schema = create_pg_schema()
    prefix = f"test-{uuid.uuid4().hex[:12]}:"

    def env(**extra: str) -> dict[str, str]:
        return matchday_env(
            tmp_path,
            DATABASE_URL=pg_schema_url(schema),
            REDIS_URL=REDIS_URL,
            REDIS_KEY_PREFIX=prefix,
            JWT_SECRET=TEST_SECRET,
            TASK_RUNNER="local",
            **extra,
        )

    try:
        yield env
    finally:
        drop_pg_schema(schema)
        asyncio.run(delete_redis_keys(prefix))


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with serving(tmp_path) as start_process:
        yield start_process


@pytest.mark.e2e
@pytest.mark.postgres
async def test_limits_hold_across_two_processes_sharing_redis(
    shared_env: Callable[..., dict[str, str]], serve: Serve
) -> None:
    env = shared_env(RATE_LIMITS="user:6/60,failed_login_account:4/900")
    _, url_a = serve(env)
    _, url_b = serve(env)
    a, b = Api(url_a), Api(url_b)
    await asyncio.gather(wait_ready(a), wait_ready(b))
    token = await a.user("ann@example.com")
    await b.register("bob@example.com")

    statuses = [(await (a if n % 2 else b).get("/api/v1/me", token=token)).status for n in range(6)]
    assert statuses == [200] * 6  # three on each process
    assert_rate_limited(await a.get("/api/v1/me", token=token), "user")
    assert_rate_limited(await b.get("/api/v1/me", token=token), "user")

    for api in (a, b, a, b):
        assert (await login(api, "bob@example.com", WRONG)).status == 401
    assert_rate_limited(await login(a, "bob@example.com"), "failed_login_account")
    assert_rate_limited(await login(b, "bob@example.com"), "failed_login_account")
