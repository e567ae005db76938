"""The OpenAPI document lists every error status each operation can return: a walk over the
document that provokes, on a real server, what any client can provoke without data of its own
(too many requests, a bad or missing token, a body of the wrong type, too large or invalid),
and checks each error status that comes back is declared, with the headers actually sent."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from server.admin_cli import create_admin
from server.app import MatchdayApp, make_app
from server.openapi import build_openapi
from tests.support import STRONG_PASSWORD, Api, Reply, settings_for, sqlite_copy

BODY_LIMIT = 4096
BODY_METHODS = ("post", "put", "patch")
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy")
ADMIN = "admin@example.com"


@dataclass
class Walk:
    api: Api
    addresses: Iterator[str] = field(default_factory=lambda: _addresses())

    async def send(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
        address: str | None = None,
    ) -> Reply:
        """One request from a client address of its own (each address has one request a
        minute: the third request of an address in a probe is always refused)."""
        headers = {
            "X-Forwarded-For": address or next(self.addresses),
            "Content-Type": content_type,
        }
        return await self.api.request(method.upper(), path, token=token, headers=headers, raw=body)

    async def admin_token(self) -> str:
        reply = await self.send(
            "post",
            "/api/v1/auth/login",
            body=json.dumps({"email": ADMIN, "password": STRONG_PASSWORD}).encode(),
        )
        assert reply.status == 200, reply.body
        return str(reply.json["access_token"])


def _addresses() -> Iterator[str]:
    for n in itertools.count(1):
        yield f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


@pytest.fixture
async def walk(tmp_path: Path, sqlite_template_file: Path) -> AsyncIterator[Walk]:
    settings = settings_for(
        sqlite_copy(sqlite_template_file, tmp_path),
        tmp_path,
        TRUSTED_PROXIES="127.0.0.1",
        RATE_LIMITS="ip:2/60",  # every other limit keeps its (larger) default
        MAX_JSON_BODY_BYTES=str(BODY_LIMIT),
        MAX_UPLOAD_BYTES=str(BODY_LIMIT),
    )
    app: MatchdayApp = await make_app(settings)
    sock, port = bind_unused_port()
    server = HTTPServer(app, max_body_size=BODY_LIMIT * 4)
    server.add_sockets([sock])
    api = Api(f"http://127.0.0.1:{port}")
    walker = Walk(api)
    reply = await walker.send(
        "post",
        "/api/v1/auth/register",
        body=json.dumps(
            {"email": ADMIN, "password": STRONG_PASSWORD, "display_name": "Admin"}
        ).encode(),
    )
    assert reply.status == 201, reply.body
    await asyncio.to_thread(create_admin, app.config, ADMIN, STRONG_PASSWORD, "Admin")
    yield walker
    server.stop()
    await server.close_all_connections()
    await app.close()


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in build_openapi()["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def media_type(operation: dict[str, Any]) -> str:
    content = operation.get("requestBody", {}).get("content", {"application/json": {}})
    return str(next(iter(content)))


async def probe(walk: Walk, path: str, method: str, operation: dict[str, Any]) -> dict[str, Reply]:
    """What a client can provoke on one operation, by probe name."""
    url = concrete(path)
    replies = {
        "anonymous": await walk.send(method, url),
        "bad token": await walk.send(method, url, token="not-a-token"),
    }
    address = next(walk.addresses)
    for _ in range(2):
        await walk.send(method, url, address=address)
    replies["third request"] = await walk.send(method, url, address=address)
    token = await walk.admin_token()
    replies["admin"] = await walk.send(method, url, token=token)
    if method in BODY_METHODS:
        kind = media_type(operation)
        junk = b"name,x\n" if kind == "text/csv" else b'{"not_a_field": 1}'
        replies["wrong type"] = await walk.send(
            method, url, token=token, body=b"x", content_type="text/plain"
        )
        replies["too large"] = await walk.send(
            method, url, token=token, body=b" " * (BODY_LIMIT + 1), content_type=kind
        )
        replies["invalid"] = await walk.send(
            method, url, token=await walk.admin_token(), body=junk, content_type=kind
        )
    return replies


async def test_every_error_an_operation_returns_is_in_the_document(walk: Walk) -> None:
    undeclared: list[str] = []
    rate_limited: list[str] = []
    for path, method, operation in operations():
        declared = operation["responses"]
        name = f"{method.upper()} {path}"
        replies = await probe(walk, path, method, operation)
        for probe_name, reply in replies.items():
            if reply.status >= 400 and str(reply.status) not in declared:
                undeclared.append(f"{name}: {reply.status} ({probe_name}) {reply.body[:120]!r}")
        third = replies["third request"]
        if third.status == 429:
            rate_limited.append(name)
            headers = declared.get("429", {}).get("headers", {})
            sent = [h for h in (*RATE_HEADERS, "Retry-After") if third.headers.get(h)]
            assert sent == [*RATE_HEADERS, "Retry-After"], (name, dict(third.headers))
            if not set(sent) <= set(headers):
                undeclared.append(f"{name}: 429 sends {sent}, declares {sorted(headers)}")
        elif "429" in declared:
            undeclared.append(f"{name}: declares 429, yet is not rate limited")
    assert not undeclared, "statuses returned but not in the OpenAPI document:\n" + "\n".join(
        undeclared
    )
    assert len(rate_limited) >= 25


def test_the_shape_of_each_operations_errors() -> None:
    """From the document alone: each authenticated operation declares 401 (and 403 where a
    role is needed), each with a body 400/413/415/422, each rate-limited one 429 with the
    RateLimit-* and Retry-After headers, each with a path id 404."""
    for path, method, operation in operations():
        name = f"{method.upper()} {path}"
        statuses = set(operation["responses"])
        if {"bearerAuth": []} in operation.get("security", []):
            assert "401" in statuses, name
        if "(owner" in operation["summary"] or "(admin)" in operation["summary"]:
            assert "403" in statuses, name
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= statuses, name
        if "{" in path:
            assert "404" in statuses, name
        if "429" in statuses:
            headers = operation["responses"]["429"]["headers"]
            assert set(headers) == {*RATE_HEADERS, "Retry-After"}, name
            for header in headers.values():
                assert header["description"] and header["schema"], name
