"""Request bodies at the edges: over the limit (413 before the body is read, then a clean
close), and JSON nested too deeply. Raw sockets where the framing matters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from server.app import MatchdayApp, make_app
from tests.support import Api, settings_for, sqlite_copy

EVENTS = "/api/v1/events"
IMPORT = "/api/v1/events/1/import"
GIB = 1024**3
QUICK = 2.0  # seconds: "at once", with room for a loaded test machine


@dataclass
class Served:
    app: MatchdayApp
    port: int

    @property
    def api(self) -> Api:
        return Api(f"http://127.0.0.1:{self.port}")


@pytest.fixture
async def served(sqlite_template_file: Path, tmp_path: Path) -> AsyncIterator[Served]:
    """The app behind an HTTPServer built as `matchday serve` builds it (server/cli.py)."""
    app = await make_app(settings_for(sqlite_copy(sqlite_template_file, tmp_path), tmp_path))
    sock, port = bind_unused_port()
    server = HTTPServer(app, max_body_size=app.config.max_json_body_bytes * 2, xheaders=False)
    server.add_sockets([sock])
    yield Served(app, port)
    server.stop()
    await server.close_all_connections()
    await app.close()


async def test_json_nested_too_deeply_is_a_plain_400(served: Served) -> None:
    api = served.api
    token = await api.user("deep@example.com")
    for opening, closing in ((b"[", b"]"), (b'{"a":', b"}")):
        body = b'{"name": ' + opening * 100_000 + b"1" + closing * 100_000 + b"}"
        reply = await api.post(EVENTS, raw=body, token=token)
        assert reply.status == 400, reply.body
        error = reply.json["error"]
        assert error["code"] == "malformed_json"
        assert error["message"] == "malformed JSON body: JSON nested too deeply"
