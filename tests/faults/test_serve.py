"""`matchday serve` goes away under load: one `--processes` child killed or sent SIGTERM (the
supervisor replaces it), or the whole server sent SIGTERM and started again."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from tests.faults.conftest import MakeStack, record
from tests.faults.driver import LoadRun, now
from tests.faults.stack import Stack, alive

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.faults]


async def _start(make_stack: MakeStack, schema_url: str, processes: int) -> Stack:
    stack = make_stack(schema_url, processes=processes)
    await stack.redis.start()
    stack.start_serve()
    stack.start_worker()
    await stack.ready()
    return stack


@pytest.mark.timeout(150)
async def test_whole_server_sigterm_then_started_again(
    request: pytest.FixtureRequest, schema_url: str, make_stack: MakeStack, load: object
) -> None:
    """The short one, in `make test`: a deploy of a one-process server. It drains (streams
    told to reconnect, requests in flight answered), exits 0, and a new one starts on the
    same port; writes are retried meanwhile, clients resume by Last-Event-ID."""
    stack = await _start(make_stack, schema_url, processes=1)
    run: LoadRun = load(stack, clients=20, rate=10, duration=10, seed=21)
    await run.setup()

    async def faults(run: LoadRun) -> None:
        await run.at(0.3)
        assert stack.serve_proc is not None
        old = stack.serve_proc
        started = now()
        old.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(old.wait, 20)
        assert code == 0, f"serve exited with {code}"
        run.note("drain_seconds", round(now() - started, 2))
        stack.start_serve()  # the same port: clients and the scorekeeper find it there
        run.fault("whole server SIGTERM, started again", started, now())

    report = await run.run("whole server SIGTERM", faults, stack.alive)
    record(request, report)
    assert not report.problems, report.problems


@pytest.mark.faults_long
@pytest.mark.timeout(200)
@pytest.mark.parametrize(
    ("signum", "committed_unanswered"),
    [(signal.SIGKILL, False), (signal.SIGTERM, False), (signal.SIGKILL, True)],
    ids=["SIGKILL", "SIGTERM", "SIGKILL-committed-unanswered"],
)
async def test_serve_children_killed_under_load(
    signum: signal.Signals,
    committed_unanswered: bool,
    request: pytest.FixtureRequest,
    schema_url: str,  # before make_stack: the servers stop before their schema is dropped
    make_stack: MakeStack,
    load: object,
) -> None:
    """`--processes 2`: each original child in turn gets the signal. Its clients reconnect to
    the other child (or the replacement); a request it had in flight is retried with the same
    Idempotency-Key; what it committed but had not published or queued is published by the
    other child's relay and finished by the sweep.

    `committed_unanswered`: the broker stalls (SIGSTOP) just before the kill, so the child
    dies holding writes that have committed but wait, after the commit, on the broker (their
    audit task) before they answer: their retries must be answered from the stored reply, not
    applied again, and their audit entries still written (by the sweep)."""
    stack = await _start(make_stack, schema_url, processes=2)
    run: LoadRun = load(stack, clients=30, rate=10, duration=24, seed=22)
    await run.setup()

    async def faults(run: LoadRun) -> None:
        originals = stack.serve_workers()
        assert len(originals) == 2, originals
        for number, (fraction, victim) in enumerate(zip((0.25, 0.6), originals, strict=True)):
            await run.at(fraction)
            serving = stack.serving_lines()
            redis = stack.redis.proc
            if committed_unanswered:
                assert redis is not None
                redis.send_signal(signal.SIGSTOP)
                await asyncio.sleep(0.8)  # writes commit, then wait on the broker
            started = now()
            os.kill(victim, signum)
            if committed_unanswered:
                await asyncio.sleep(0.2)
                redis.send_signal(signal.SIGCONT)
            run.fault(f"serve child {number + 1} {signum.name}", started, now())
            deadline = time.monotonic() + 40
            while not (
                stack.serving_lines() > serving
                and not alive(victim)
                and len(stack.serve_workers()) == 2
            ):
                assert time.monotonic() < deadline, "the child was not replaced"
                await asyncio.sleep(0.1)
            run.note(f"child {number + 1} replaced and serving after", round(now() - started, 2))

    name = f"serve child {signum.name}{' committed-unanswered' * committed_unanswered}"
    report = await run.run(f"{name} (--processes 2)", faults, stack.alive)
    record(request, report)
    assert "restarting it" in stack.log("serve")
    assert not report.problems, report.problems
    if committed_unanswered:  # the case was there: retries of committed writes were replayed
        assert report.figures["replayed_acks"] > 0, report.figures
