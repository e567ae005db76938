"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 (a port from the kernel),
in a thread of the test process, that records every request and answers as told."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """`plan(path, 500, 500)`: the next two requests to `path` get 500 (then 204 again);
    `plan(path, ("sleep", 2.0))`: the next one is answered after 2 s."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._plans: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def plan(self, path: str, *answers: Any) -> None:
        with self._lock:
            self._plans.setdefault(path, []).extend(answers)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [each for each in self.received if each.path == path]

    def _next(self, path: str) -> Any:
        with self._lock:
            planned = self._plans.get(path)
            return planned.pop(0) if planned else 204

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = receiver._next(self.path)
                if isinstance(answer, tuple) and answer[0] == "sleep":
                    time.sleep(answer[1])  # longer than the sender waits: a timeout there
                    answer = 204
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler

    @contextlib.contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)
