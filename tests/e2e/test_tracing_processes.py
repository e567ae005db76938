"""One trace across processes: `matchday serve` and a `matchday worker` export over OTLP/HTTP
to a receiver run by the test; a score's request, the Celery task it enqueues after the commit,
the worker's recompute and the server's publication of the worker's `standings` event share
one trace id, and both processes' log lines name it."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from tests.e2e.processes import wait_ready
from tests.e2e.test_workers import League, Stack, schema, stack  # noqa: F401 — fixtures
from tests.otlp_receiver import ReceivedSpan, otlp_receiver
from tests.support import REDIS_URL, eventually
from workers.celery_app import RECOMPUTE, pending_recompute_key

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


async def test_a_score_post_and_the_workers_recompute_are_one_trace(stack: Stack) -> None:  # noqa: F811
    with otlp_receiver() as (endpoint, spans):
        tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        api = stack.serve(**tracing)
        worker = stack.worker("traced", **tracing)
        await asyncio.gather(wait_ready(api), worker.ready())
        league = await League.create(api, teams=2)
        # A recompute still queued would take this score along (coalesced, in its own
        # trace): let the league's set-up recomputes finish first.
        pending = pending_recompute_key(stack.prefix, league.id)
        with redis.Redis.from_url(REDIS_URL) as client:

            async def no_recompute_queued() -> bool:
                return not client.exists(pending) and worker.finished_all(RECOMPUTE)

            await eventually(no_recompute_queued, timeout=30)
        request_id = uuid.uuid4().hex
        game = league.games[0]["id"]
        reply = await api.put(
            f"/api/v1/games/{game}/score",
            {"home_score": 3, "away_score": 1, "status": "final"},
            token=league.token,
            headers={"X-Request-ID": request_id},
        )
        assert reply.status == 200, reply.body

        def root() -> ReceivedSpan | None:
            found = [s for s in spans if s.attributes.get("matchday.request_id") == request_id]
            return found[0] if found else None

        def in_trace() -> list[ReceivedSpan]:
            first = root()
            return [s for s in spans if first and s.trace_id == first.trace_id]

        async def complete() -> bool:
            names = {(s.service, s.name) for s in in_trace()}
            return {
                ("matchday-worker", "run/matchday.recompute_standings"),
                ("matchday-api", "publish standings"),
            } <= names

        await eventually(complete, timeout=30)
        request_span = root()
        assert request_span is not None
        assert request_span.service == "matchday-api" and request_span.kind == "SERVER"
        assert request_span.name == "PUT /api/v1/games/{game_id}/score"
        trace = in_trace()
        by_name = {(s.service, s.name): s for s in trace}
        enqueue = by_name[("matchday-api", "apply_async/matchday.recompute_standings")]
        run = by_name[("matchday-worker", "run/matchday.recompute_standings")]
        assert run.parent_span_id == enqueue.span_id  # through the message headers
        assert run.kind == "CONSUMER"
        worker_sql = [s for s in trace if s.service == "matchday-worker" and s.kind == "CLIENT"]
        assert any(s.parent_span_id == run.span_id for s in worker_sql)
        # The server's relay published the worker's outbox row inside the worker's span.
        assert by_name[("matchday-api", "publish standings")].parent_span_id == run.span_id
        assert ("matchday-api", "publish score") in by_name
    # Both processes' log lines carry the trace id (text format: `trace_id=...`).
    marker = f"trace_id={request_span.trace_id}"
    serve_log = "".join(p.read_text() for p in stack.tmp_path.glob("serve-*.log"))
    assert any(marker in line and "/score" in line for line in serve_log.splitlines())
    assert any(
        marker in line and "standings recomputed" in line for line in worker.log().splitlines()
    )
