"""A local stand-in for Sentry's ingestion endpoint: records the events of the envelopes
posted to /api/<project>/envelope/ (the SDK's transport), decoded."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port


class _Envelopes(tornado.web.RequestHandler):
    def initialize(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def post(self, _project: str) -> None:
        body = self.request.body
        if self.request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.events.extend(events_of(body))
        self.write({"id": "0" * 32})


def events_of(envelope: bytes) -> list[dict[str, Any]]:
    """The `event` items of one envelope: a header line, then (item header, payload) pairs;
    a payload is `length` bytes when its header says so, else one line."""
    found: list[dict[str, Any]] = []
    cursor = envelope.index(b"\n") + 1  # past the envelope's header
    while cursor < len(envelope):
        end = envelope.find(b"\n", cursor)
        end = len(envelope) if end < 0 else end
        header = json.loads(envelope[cursor:end] or b"{}")
        cursor = end + 1
        if "length" in header:
            payload = envelope[cursor : cursor + header["length"]]
            cursor += header["length"] + 1
        else:
            end = envelope.find(b"\n", cursor)
            end = len(envelope) if end < 0 else end
            payload, cursor = envelope[cursor:end], end + 1
        if header.get("type") == "event":
            found.append(json.loads(payload))
    return found


@contextmanager
def sentry_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(a DSN pointing here, the events received so far), served on the current loop."""
    events: list[dict[str, Any]] = []
    sock, port = bind_unused_port()
    app = tornado.web.Application([(r"/api/([0-9]+)/envelope/", _Envelopes, {"events": events})])
    server = HTTPServer(app)
    server.add_sockets([sock])
    try:
        yield f"http://publickey@127.0.0.1:{port}/42", events
    finally:
        server.stop()
