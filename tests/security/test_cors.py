"""CORS: only the origins in CORS_ORIGINS get CORS headers; off by default."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from config.settings import ConfigError, load_settings, parse_origins
from server.app import make_app
from tests.support import Api, settings_for, sqlite_copy

ALLOWED = "https://app.example.org"
EVENTS = "/api/v1/events"
LOGIN = "/api/v1/auth/login"


async def _serve(tmp_path: Path, template: Path, **extra: str) -> AsyncIterator[Api]:
    app = await make_app(settings_for(sqlite_copy(template, tmp_path), tmp_path, **extra))
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    yield Api(f"http://127.0.0.1:{port}")
    server.stop()
    await server.close_all_connections()
    await app.close()


@pytest.fixture
async def cors_api(tmp_path: Path, sqlite_template_file: Path) -> AsyncIterator[Api]:
    async for api in _serve(
        tmp_path, sqlite_template_file, CORS_ORIGINS=f"{ALLOWED}, http://localhost:3000"
    ):
        yield api


@pytest.fixture
async def plain_api(tmp_path: Path, sqlite_template_file: Path) -> AsyncIterator[Api]:
    async for api in _serve(tmp_path, sqlite_template_file):
        yield api


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_allowed_origin_gets_cors_headers(cors_api: Api) -> None:
    reply = await cors_api.get(EVENTS, headers={"Origin": ALLOWED})
    assert reply.status == 200
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in reply.headers.get_list("Vary")
    exposed = reply.headers["Access-Control-Expose-Headers"]
    for name in ("ETag", "X-Request-ID", "Retry-After", "RateLimit-Remaining"):
        assert name in exposed
    assert "Access-Control-Allow-Credentials" not in reply.headers


async def test_errors_carry_cors_headers_so_the_browser_can_read_them(cors_api: Api) -> None:
    reply = await cors_api.post(
        LOGIN, {"email": "x@example.com", "password": "wrong"}, headers={"Origin": ALLOWED}
    )
    assert reply.status in {401, 422}
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED


async def test_preflight_from_allowed_origin(cors_api: Api) -> None:
    reply = await cors_api.request("OPTIONS", EVENTS, headers=preflight(ALLOWED))
    assert reply.status == 204 and reply.body == b""
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert reply.headers["Access-Control-Allow-Methods"] == "GET, POST, PUT, PATCH, DELETE"
    allowed_headers = reply.headers["Access-Control-Allow-Headers"]
    for name in ("Authorization", "Content-Type", "Idempotency-Key", "If-Match", "Last-Event-ID"):
        assert name in allowed_headers
    assert int(reply.headers["Access-Control-Max-Age"]) > 0
    # an authenticated-only endpoint: the preflight needs no token
    admin = await cors_api.request(
        "OPTIONS", "/api/v1/me/password", headers=preflight("http://localhost:3000")
    )
    assert admin.status == 204
    assert admin.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.org",
        "https://app.example.org.evil.com",
        "http://app.example.org",  # scheme matters
        "https://app.example.org:8443",  # port matters
        "null",
    ],
)
async def test_unknown_origin_gets_no_cors_headers(cors_api: Api, origin: str) -> None:
    reply = await cors_api.get(EVENTS, headers={"Origin": origin})
    assert reply.status == 200
    assert "Access-Control-Allow-Origin" not in reply.headers
    refused = await cors_api.request("OPTIONS", EVENTS, headers=preflight(origin))
    assert refused.status == 403
    assert not any(name.startswith("Access-Control-") for name in refused.headers)


async def test_cors_is_off_by_default(plain_api: Api) -> None:
    reply = await plain_api.get(EVENTS, headers={"Origin": ALLOWED})
    assert reply.status == 200
    assert not any(name.startswith("Access-Control-") for name in reply.headers)
    refused = await plain_api.request("OPTIONS", EVENTS, headers=preflight(ALLOWED))
    assert refused.status == 403
    assert not any(name.startswith("Access-Control-") for name in refused.headers)


def test_origins_setting_is_strict(tmp_path: Path) -> None:
    assert parse_origins(" https://A.example.org ,http://localhost:3000,") == (
        "https://a.example.org",
        "http://localhost:3000",
    )
    for bad in ("*", "https://a.example.org/", "app.example.org", "https://*.example.org"):
        with pytest.raises(ConfigError, match="CORS_ORIGINS"):
            load_settings({"DATA_DIR": str(tmp_path), "CORS_ORIGINS": bad})
