"""Tracing with the SDK's in-memory exporter, tasks in-process: one score post is one trace,
from the request through its SQL and Redis calls, the standings recompute it asks for, to the
publication of both live events; and the log lines written meanwhile carry its trace id.
(The Celery path, across processes, is tests/e2e/test_tracing_processes.py.)"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from config.settings import load_settings
from config.telemetry import setup_tracing
from server.app import MatchdayApp, make_app
from tests.support import (
    REDIS_URL,
    TEST_SECRET,
    Api,
    delete_redis_keys,
    eventually,
    pg_schema_url,
    settings_for,
    sqlite_copy,
    sqlite_template,
    truncate_pg,
)
from tests.tracing_support import trace_id, traced


@pytest.fixture(params=["embedded", pytest.param("production", marks=pytest.mark.postgres)])
async def traced_stack(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[MatchdayApp, Api, list[ReadableSpan]]]:
    """A started app whose engines were built with tracing on; the spans it finishes."""
    if request.param == "embedded":
        url = sqlite_copy(request.getfixturevalue("sqlite_template_file"), tmp_path)
        settings = settings_for(url, tmp_path)
    else:
        schema = request.getfixturevalue("pg_schema")
        truncate_pg(schema)
        settings = settings_for(
            pg_schema_url(schema),
            tmp_path,
            REDIS_URL=REDIS_URL,
            REDIS_KEY_PREFIX=f"test:{uuid.uuid4().hex[:10]}:",
            TASK_RUNNER="local",
        )
    with traced() as exporter:
        app = await make_app(settings)
        sock, port = bind_unused_port()
        server = HTTPServer(app)
        server.add_sockets([sock])
        try:
            yield app, Api(f"http://127.0.0.1:{port}"), exporter.get_finished_spans  # type: ignore[misc]
        finally:
            server.stop()
            await server.close_all_connections()
            await app.close()
    if settings.uses_redis:
        await delete_redis_keys(settings.redis_key_prefix)


def _put(url: str, body: dict, token: str, request_id: str) -> int:
    """The scorekeeper's client: not the test process's instrumented Tornado client (its own
    client span, unsampled as a root, would tell the server not to sample either)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "X-Request-ID": request_id,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


async def test_one_score_post_is_one_trace_to_the_recompute_and_both_publications(
    traced_stack: tuple[MatchdayApp, Api, object], caplog: pytest.LogCaptureFixture
) -> None:
    app, api, finished = traced_stack
    token = await api.user("keeper@example.com")
    event = (await api.post("/api/v1/events", {"name": "Traced Cup"}, token=token)).json["id"]
    teams = [
        (await api.post(f"/api/v1/events/{event}/teams", {"name": n}, token=token)).json["id"]
        for n in ("A", "B")
    ]
    game = (
        await api.post(
            f"/api/v1/events/{event}/games",
            {"home_team_id": teams[0], "away_team_id": teams[1]},
            token=token,
        )
    ).json["id"]
    await app.settled()
    request_id = uuid.uuid4().hex
    caplog.set_level(logging.INFO)
    status = await asyncio.to_thread(
        _put,
        f"{api.base_url}/api/v1/games/{game}/score",
        {"home_score": 2, "away_score": 1, "status": "final"},
        token,
        request_id,
    )
    assert status == 200

    def spans() -> list[ReadableSpan]:
        return list(finished())  # type: ignore[operator]

    def server_span() -> ReadableSpan | None:
        found = [
            s
            for s in spans()
            if s.kind == SpanKind.SERVER
            and (s.attributes or {}).get("matchday.request_id") == request_id
        ]
        return found[0] if found else None

    async def whole_trace() -> bool:
        root = server_span()
        if root is None:
            return False
        names = {s.name for s in spans() if trace_id(s) == trace_id(root)}
        return {"publish score", "publish standings"} <= names

    await app.settled()
    await eventually(whole_trace, timeout=10)
    root = server_span()
    assert root is not None
    assert root.name.startswith("PUT ") and "score" in root.name, root.name
    assert (root.attributes or {}).get("http.status_code", 200) == 200
    in_trace = [s for s in spans() if trace_id(s) == trace_id(root)]
    by_name = {s.name: s for s in in_trace}
    # The recompute the request asked for, run for it, and the SQL it ran, in the same trace.
    recompute = by_name["run/matchday.recompute_standings"]
    assert recompute.parent is not None
    sql = [s for s in in_trace if (s.attributes or {}).get("db.system")]
    assert any(s.parent and s.parent.span_id == recompute.context.span_id for s in sql), [
        s.name for s in sql
    ]
    assert any(s.parent and s.parent.span_id == root.context.span_id for s in sql)
    # Both live events' publications, by the relay, joined the trace through their outbox rows.
    for kind in ("score", "standings"):
        publish = by_name[f"publish {kind}"]
        assert publish.kind == SpanKind.PRODUCER
        assert (publish.attributes or {})["matchday.event_id"] == event
        assert str((publish.attributes or {})["messaging.message.id"]).count("-") == 1
    if app.config.uses_redis:  # the rate limiter's Lua call, made while serving the request
        assert any((s.attributes or {}).get("db.system") == "redis" for s in in_trace)
    # Every log line written while the request's span was current names its trace.
    lines = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    traced_lines = [r for r in caplog.records if getattr(r, "trace_id", None) == trace_id(root)]
    assert traced_lines, [r.getMessage() for r in caplog.records]
    assert all(getattr(r, "trace_id", None) == trace_id(root) for r in lines)


def _get(url: str) -> int:
    """As a calendar app (or an EventSource) asks: the credential in the query string."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status)


@pytest.mark.parametrize("traced_stack", ["embedded"], indirect=True)  # one backend is enough
async def test_query_string_credentials_never_reach_a_span(
    traced_stack: tuple[MatchdayApp, Api, object],
) -> None:
    _app, api, finished = traced_stack
    owner = await api.user("owner@example.com")
    event = (await api.post("/api/v1/events", {"name": "Cup"}, token=owner)).json["id"]
    feed_token = (await api.post("/api/v1/me/calendar-token", token=owner)).json["token"]
    feed = f"{api.base_url}/api/v1/events/{event}/calendar.ics?x=1&token={feed_token}"
    assert await asyncio.to_thread(_get, feed) == 200
    event_page = f"{api.base_url}/api/v1/events/{event}?access_token={owner}"
    assert await asyncio.to_thread(_get, event_page) == 200

    def attributes() -> list[dict]:
        spans = finished()  # type: ignore[operator]
        return [dict(s.attributes or {}) for s in spans if s.kind == SpanKind.SERVER]

    await eventually(lambda: asyncio.sleep(0, len(attributes()) >= 2))
    seen = json.dumps(attributes())
    assert feed_token not in seen and owner not in seen
    assert "token=REDACTED" in seen and "access_token=REDACTED" in seen
    assert "x=1" in seen  # the rest of the query stays


async def test_background_loops_start_no_trace(
    traced_stack: tuple[MatchdayApp, Api, object],
) -> None:
    """The relay's sweep and the stream reader run queries and Redis calls all the time; with
    no request or task behind them they are not recorded (the collector would drown)."""
    app, api, finished = traced_stack
    await app.relay.relay_pending()  # a sweep: a SELECT on the outbox
    await api.get("/healthz")  # a probe: excluded
    assert [s.name for s in finished()] == []  # type: ignore[operator]


def test_tracing_is_off_without_an_endpoint(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    assert setup_tracing(settings, "api") is None


def test_off_means_no_sdk_and_no_instrumentation_in_a_serving_process(tmp_path: Path) -> None:
    """A process that built and started the whole app, tracing unset, has no tracer provider
    and has not even imported the tracing SDK, an exporter, an instrumentation or Sentry:
    nothing of them runs per request. (redis-py 8 imports the OpenTelemetry *metrics* SDK
    module when it is installed; its own telemetry stays off unless configured.)"""
    script = (
        "import asyncio, sys\n"
        "from config.errors import setup_sentry\n"
        "from config.settings import load_settings\n"
        "from config.telemetry import setup_tracing\n"
        "from server.app import make_app\n"
        "settings = load_settings()\n"
        "assert setup_tracing(settings, 'api') is None and not setup_sentry(settings, 'api')\n"
        "async def main():\n"
        "    app = await make_app(settings)\n"
        "    await app.close()\n"
        "asyncio.run(main())\n"
        "from opentelemetry import trace\n"
        "assert type(trace.get_tracer_provider()).__name__ == 'ProxyTracerProvider'\n"
        "loaded = [m for m in sys.modules if m.startswith(('opentelemetry.sdk.trace',\n"
        "    'opentelemetry.instrumentation', 'opentelemetry.exporter', 'sentry_sdk'))]\n"
        "print(loaded)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRY_"))}
    env |= {"DATA_DIR": str(tmp_path), "JWT_SECRET": TEST_SECRET, "LOG_LEVEL": "WARNING"}
    env["DATABASE_URL"] = sqlite_copy(sqlite_template(tmp_path), tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
