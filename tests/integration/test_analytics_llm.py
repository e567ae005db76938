"""The language-model planner against a stub OpenAI-compatible endpoint over real HTTP.

The stub listens on 127.0.0.1 (port 0) in its own thread, records every request and answers
with scripted replies; it is shut down, its handler threads joined, at the end of each test.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from tests.certs import self_signed
from tests.tracing_support import traced
from workers.analytics.language.context import EventContext, TeamRef
from workers.analytics.llm import INSTRUCTIONS, MAX_QUESTION_CHARS, LlmPlanner
from workers.analytics.plan import Plan

EVENT = EventContext(
    id=7,
    name="Summer Cup",
    teams=(TeamRef(11, "Lions", "A"), TeamRef(12, "Tigers", "A"), TeamRef(13, "Bears", "B")),
    year=2024,
)
PATH = "/v1/chat/completions"
KEY = "sk-test-0123456789abcdef"
VALID = {"intent": "leader", "event_id": 7, "metric": "clean_sheets", "order": "desc"}


def completion(content: str) -> bytes:
    message = {"role": "assistant", "content": content}
    return json.dumps({"choices": [{"index": 0, "message": message}]}).encode()


@dataclass
class Reply:
    body: bytes
    status: int = 200
    delay: float = 0.0  # seconds of silence before the response
    trickle: float = 0.0  # seconds between the body's bytes
    declare_length: bool = True


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Stub:
    url: str = ""
    replies: list[Reply] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    # Set at teardown: a handler still waiting or trickling gives up at once.
    stopping: threading.Event = field(default_factory=threading.Event)


class StubServer(ThreadingHTTPServer):
    daemon_threads = False  # so that server_close() joins every handler thread
    block_on_close = True

    def __init__(self, stub: Stub) -> None:
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.stub = stub


class StubHandler(BaseHTTPRequestHandler):
    server: StubServer

    def do_POST(self) -> None:
        stub = self.server.stub
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        stub.requests.append(Recorded(self.path, dict(self.headers.items()), json.loads(raw)))
        reply = stub.replies.pop(0)
        if reply.delay and stub.stopping.wait(reply.delay):
            return
        # The planner hanging up (too slow, too big) is what those tests expect.
        with suppress(BrokenPipeError, ConnectionResetError):
            self._send(reply, stub.stopping)

    def _send(self, reply: Reply, stopping: threading.Event) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        if reply.declare_length:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if not reply.trickle:
            self.wfile.write(reply.body)
            return
        for byte in reply.body:
            if stopping.wait(reply.trickle):
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def running(tls: ssl.SSLContext | None = None) -> Iterator[Stub]:
    stub = Stub()
    server = StubServer(stub)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls else "http"
    stub.url = f"{scheme}://127.0.0.1:{server.server_address[1]}{PATH}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield stub
    finally:
        stub.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert not thread.is_alive()


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running() as stub:
        yield stub


def planner(
    stub: Stub, *, api_key: str | None = KEY, timeout: float = 2.0, **kw: Any
) -> LlmPlanner:
    return LlmPlanner(stub.url, model="stub-model", api_key=api_key, timeout_seconds=timeout, **kw)


def ask(stub: Stub, reply: Reply, **kw: Any) -> Plan | None:
    stub.replies.append(reply)
    return planner(stub, **kw).propose("which side kept the most clean sheets?", EVENT)


def test_a_valid_plan_is_accepted(stub: Stub) -> None:
    assert ask(stub, Reply(completion(json.dumps(VALID)))) == Plan(
        "leader", 7, metric="clean_sheets"
    )


def test_a_fenced_plan_is_accepted(stub: Stub) -> None:
    content = f"```json\n{json.dumps(VALID)}\n```"
    assert ask(stub, Reply(completion(content))) == Plan("leader", 7, metric="clean_sheets")


def test_the_request_carries_the_question_the_schema_and_the_team_list(stub: Stub) -> None:
    ask(stub, Reply(completion(json.dumps(VALID))))
    [request] = stub.requests
    assert request.path == PATH
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Content-Type"] == "application/json"
    body = request.body
    assert body["model"] == "stub-model"
    assert body["temperature"] == 0
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert (system["role"], user["role"]) == ("system", "user")
    assert user["content"] == "which side kept the most clean sheets?"
    data = json.loads(system["content"][len(INSTRUCTIONS) :])
    assert data["event"]["id"] == 7
    assert data["event"]["teams"] == [{"id": t.id, "name": t.name} for t in EVENT.teams]
    assert "clean_sheets" in data["plan_schema"]["intents"]["leader"]["metrics"]


def test_no_authorization_header_without_a_key(stub: Stub) -> None:
    assert ask(stub, Reply(completion(json.dumps(VALID))), api_key=None) is not None
    assert "Authorization" not in stub.requests[0].headers


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            Reply(completion('{"intent": "form", "event_id": 7, "teams": [99]}')),
            "outside the event",
        ),
        (Reply(completion('{"intent": "table", "event_id": 8}')), "not 7"),
        (Reply(completion('{"sql": "DROP TABLE games"}')), "invalid plan"),
        (Reply(completion(json.dumps({**VALID, "sql": "DROP TABLE games"}))), "Unknown field"),
        (Reply(completion("DROP TABLE games")), "not JSON"),
        (Reply(completion("{'intent': 'table',")), "not JSON"),
        (Reply(b"<html>gateway</html>"), "reply is not JSON"),
        (Reply(b'{"error": {"message": "overloaded"}}'), "no choices"),
        (Reply(b'{"error": "boom"}', status=500), "HTTP 500"),
    ],
)
def test_a_bad_reply_gives_none_and_a_warning_with_the_reason(
    stub: Stub, reply: Reply, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "matchday.analytics.llm"):
        assert ask(stub, reply) is None
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert reason in record.getMessage()


def test_the_key_is_never_logged(stub: Stub, caplog: pytest.LogCaptureFixture) -> None:
    echo = json.dumps({"error": f"bad key Bearer {KEY}"}).encode()
    with caplog.at_level(logging.DEBUG, "matchday.analytics.llm"):
        assert ask(stub, Reply(echo, status=401)) is None
        assert ask(stub, Reply(completion(f'{{"intent": "{KEY}", "event_id": 7}}'))) is None
    assert len(caplog.records) == 2
    assert KEY not in caplog.text
    assert all(KEY not in json.dumps(vars(r), default=str) for r in caplog.records)


def test_a_slow_reply_gives_none_within_the_timeout(stub: Stub) -> None:
    started = time.monotonic()
    assert ask(stub, Reply(completion(json.dumps(VALID)), delay=10), timeout=0.5) is None
    assert time.monotonic() - started < 1.5


def test_a_reply_trickled_past_the_timeout_gives_none_within_the_timeout(stub: Stub) -> None:
    # Every byte arrives well within the socket timeout; only the overall deadline stops it.
    body = completion(json.dumps(VALID))
    started = time.monotonic()
    assert ask(stub, Reply(body, trickle=0.05), timeout=0.5) is None
    assert time.monotonic() - started < 1.5


def test_a_reply_slower_than_usual_but_within_the_timeout_is_accepted(stub: Stub) -> None:
    assert ask(stub, Reply(completion(json.dumps(VALID)), delay=0.3), timeout=2) is not None


@pytest.mark.parametrize("declare_length", [True, False])
def test_a_huge_reply_gives_none(stub: Stub, declare_length: bool) -> None:
    padding = " " * (1024 * 1024)  # valid JSON whitespace: only its size is wrong
    body = completion(json.dumps(VALID) + padding)
    assert ask(stub, Reply(body, declare_length=declare_length)) is None


@pytest.mark.parametrize(("padding", "accepted"), [(3_000, True), (5_000, False)])
def test_the_reply_cap_is_the_configured_one(stub: Stub, padding: int, accepted: bool) -> None:
    body = completion(json.dumps(VALID) + " " * padding)
    plan = ask(stub, Reply(body, declare_length=False), max_reply_bytes=4_096)
    assert (plan is not None) == accepted


def test_an_unreachable_endpoint_gives_none(caplog: pytest.LogCaptureFixture) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there now
    unreachable = LlmPlanner(
        f"http://127.0.0.1:{port}{PATH}", model="m", api_key=KEY, timeout_seconds=1
    )
    with caplog.at_level(logging.WARNING, "matchday.analytics.llm"):
        assert unreachable.propose("who is top?", EVENT) is None
    assert "request failed" in caplog.text


@pytest.mark.parametrize("trusted", [True, False])
def test_https_checks_the_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, trusted: bool
) -> None:
    cert, key = self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    if trusted:  # OpenSSL's default verify paths read this variable
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with running(tls) as stub, caplog.at_level(logging.WARNING, "matchday.analytics.llm"):
        plan = ask(stub, Reply(completion(json.dumps(VALID))))
    assert (plan is not None) == trusted
    assert trusted or "CERTIFICATE_VERIFY_FAILED" in caplog.text


def test_an_overlong_question_is_never_sent(stub: Stub) -> None:
    long_question = "who scored the most " * (MAX_QUESTION_CHARS // 10)
    assert planner(stub).propose(long_question, EVENT) is None
    assert stub.requests == []


def test_the_call_is_a_client_span_of_the_trace_and_sends_its_traceparent(stub: Stub) -> None:
    with traced() as exporter:
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("question", kind=SpanKind.SERVER) as parent:
            assert ask(stub, Reply(completion(json.dumps(VALID)))) is not None
            assert ask(stub, Reply(b"{}", status=500)) is None
    calls = [s for s in exporter.get_finished_spans() if s.name == "POST chat completions"]
    assert [s.kind for s in calls] == [SpanKind.CLIENT, SpanKind.CLIENT]
    trace_id = f"{parent.get_span_context().trace_id:032x}"
    for call, request in zip(calls, stub.requests, strict=True):
        assert call.parent is not None and call.parent.span_id == parent.get_span_context().span_id
        assert request.headers["traceparent"].split("-")[1:3] == [
            trace_id,
            f"{call.context.span_id:016x}",
        ]
    assert calls[0].status.status_code == StatusCode.UNSET
    assert calls[1].status.status_code == StatusCode.ERROR  # HTTP 500: the plan was refused
