"""Request bodies at the edges: over the limit (413 before the body is read, then a clean
close), and JSON nested too deeply. Raw sockets where the framing matters."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from server.app import MatchdayApp, make_app
from server.security_headers import SECURITY_HEADERS
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


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


def head(method: str, path: str, **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_answer(reader: asyncio.StreamReader, timeout: float = 10) -> Answer:
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    status_line, *lines = raw.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), timeout)
    return Answer(int(status_line.split()[1]), headers, body)


def assert_contract_413(answer: Answer, setting: str) -> None:
    assert answer.status == 413, answer
    error = answer.json["error"]
    assert error["code"] == "payload_too_large"
    assert setting in error["message"]
    assert error["details"] == {}
    assert error["request_id"] == answer.headers["x-request-id"]
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["connection"] == "close"
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name.lower()) == value, name


async def closed_by_server(reader: asyncio.StreamReader, timeout: float = QUICK) -> bool:
    """True when the server ends the connection cleanly (EOF, not a reset) in time."""
    while chunk := await asyncio.wait_for(reader.read(65536), timeout):
        assert not chunk, f"unexpected bytes after the answer: {chunk[:80]!r}"
    return True


@pytest.mark.parametrize(
    ("path", "content_type", "setting"),
    [
        (EVENTS, "application/json", "MAX_JSON_BODY_BYTES"),
        (IMPORT, "text/csv", "MAX_UPLOAD_BYTES"),
    ],
)
async def test_a_declared_length_over_the_limit_is_413_before_the_body_is_sent(
    served: Served, path: str, content_type: str, setting: str
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    started = time.monotonic()
    writer.write(head("POST", path, Content_Type=content_type, Content_Length=str(GIB)))
    writer.write(b"{")  # a tiny part of the gibibyte announced; the rest never comes
    answer = await read_answer(reader)
    assert time.monotonic() - started < QUICK
    assert_contract_413(answer, setting)
    writer.close()


async def test_a_refused_body_sent_whole_is_drained_then_the_connection_closes(
    served: Served,
) -> None:
    """A client that sends its whole body before reading (http.client, requests) gets the
    413, then an orderly close, not a reset."""
    body = b"x" * (5 * 1024 * 1024)
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(
        head("POST", EVENTS, Content_Type="application/json", Content_Length=str(len(body)))
    )
    writer.write(body)
    await writer.drain()
    assert_contract_413(await read_answer(reader), "MAX_JSON_BODY_BYTES")
    assert await closed_by_server(reader)
    writer.close()


async def test_five_mebibytes_through_an_http_client_get_the_contract_413(served: Served) -> None:
    reply = await served.api.post(EVENTS, raw=b"x" * (5 * 1024 * 1024))
    assert reply.status == 413
    assert reply.json["error"]["code"] == "payload_too_large"
    assert reply.json["error"]["request_id"] == reply.headers["X-Request-ID"]
    assert reply.headers["X-Frame-Options"] == "DENY"


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(served: Served) -> None:
    limit = served.app.config.max_json_body_bytes
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(head("POST", EVENTS, Content_Type="application/json", Transfer_Encoding="chunked"))
    chunk = b"x" * 65536
    for _ in range(limit // len(chunk) + 2):  # past the limit, and the body is not ended
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    await writer.drain()
    assert_contract_413(await read_answer(reader), "MAX_JSON_BODY_BYTES")
    writer.write(b"0\r\n\r\n")  # the end of the body: the server has nothing more to wait for
    assert await closed_by_server(reader)
    writer.close()


async def test_a_chunked_upload_is_refused_as_soon_as_it_passes_its_own_limit(
    served: Served,
) -> None:
    limit = served.app.config.max_upload_bytes
    token = await served.api.user("owner@example.com")  # else the import's answer is a 401
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    headers = {"Content_Type": "text/csv", "Authorization": f"Bearer {token}"}
    writer.write(head("POST", IMPORT, Transfer_Encoding="chunked", **headers))
    chunk = b"team,x,,,,,,,,,\r\n" * 4096
    for _ in range(limit // len(chunk) + 2):
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    await writer.drain()
    assert_contract_413(await read_answer(reader), "MAX_UPLOAD_BYTES")
    writer.close()


async def test_no_100_continue_for_a_body_that_is_refused(served: Served) -> None:
    """curl sends `Expect: 100-continue` before large bodies: it gets the 413 instead."""
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(
        head(
            "POST",
            EVENTS,
            Content_Type="application/json",
            Content_Length=str(5 * 1024 * 1024),
            Expect="100-continue",
        )
    )
    assert_contract_413(await read_answer(reader), "MAX_JSON_BODY_BYTES")
    writer.close()


async def test_bodies_within_the_limit_reach_the_handler(served: Served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    body = json.dumps({"name": "x" * 1000}).encode()
    writer.write(head("POST", EVENTS, Content_Type="application/json", Transfer_Encoding="chunked"))
    writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    answer = await read_answer(reader)
    assert answer.status == 401  # read whole, then authentication: no token
    writer.write(head("GET", "/healthz"))  # and the connection is kept for the next request
    assert (await read_answer(reader)).status == 200
    writer.close()


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
