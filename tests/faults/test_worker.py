"""A Celery worker killed (SIGKILL, as the OOM killer does) in the middle of a standings
recompute, while finals keep coming."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.faults.conftest import MakeStack, record
from tests.faults.driver import LoadRun, now
from tests.faults.stack import alive, children

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.faults]

BLOCKED_BEHIND = "SELECT pid FROM pg_stat_activity WHERE :me = ANY(pg_blocking_pids(pid))"


@pytest.mark.faults_long
@pytest.mark.timeout(200)
@pytest.mark.parametrize("victim", ["pool-process", "whole-worker"])
async def test_worker_killed_during_a_recompute(
    victim: str,
    request: pytest.FixtureRequest,
    schema_url: str,  # before make_stack: the servers stop before their schema is dropped
    make_stack: MakeStack,
    load: object,
) -> None:
    """The recompute is caught in the act: the test holds the event row (FOR NO KEY UPDATE,
    which score writes do not need) so the task's `SELECT … FOR UPDATE` waits, then kills
    either the pool process running it (Celery's main process sees the loss and requeues
    the task: reject_on_worker_lost) or the whole Celery worker (`matchday worker` starts it
    again; the message comes back from the unacked hash after the visibility timeout, and the
    server's sweep queues the owed recompute again after FOLLOW_UP_GRACE_SECONDS)."""
    stack = make_stack(schema_url)
    await stack.redis.start()
    stack.start_serve()
    stack.start_worker(concurrency=1)
    await stack.ready()
    run: LoadRun = load(stack, clients=30, rate=10, duration=20, seed=31, finals_from=0.3)
    league = await run.setup()
    engine = create_async_engine(schema_url)

    async def faults(run: LoadRun) -> None:
        await run.at(0.25)
        async with engine.connect() as lock:
            await lock.execute(
                sa.text("SELECT id FROM events WHERE id = :id FOR NO KEY UPDATE"), {"id": league.id}
            )
            me = (await lock.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            deadline = time.monotonic() + 30
            # Score writes do not wait on this lock (their foreign key checks take FOR KEY
            # SHARE); a recompute's FOR UPDATE does. (pg_stat_activity may still show the
            # connection's previous statement: it is the pool process's one connection.)
            while not (await lock.execute(sa.text(BLOCKED_BEHIND), {"me": me})).all():
                assert time.monotonic() < deadline, "no recompute waited on the event row"
                await asyncio.sleep(0.05)
            celery = stack.celery_worker()
            assert celery is not None
            pool = children(celery)
            assert pool, "the Celery worker has no pool process"
            started = now()
            for pid in pool if victim == "pool-process" else [celery, *pool]:
                os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(1.0)  # the recompute's session is gone with its process
            await lock.rollback()
        run.fault(f"worker SIGKILL ({victim}) during a recompute", started, now())
        run.note("standings at every client after the kill", lambda: run.standings_after(started))
        deadline = time.monotonic() + 40
        while (
            stack.celery_worker() is None
            or not children(stack.celery_worker() or 0)
            or any(alive(pid) for pid in pool)
        ):
            assert time.monotonic() < deadline, "the worker did not come back"
            await asyncio.sleep(0.1)
        run.note("worker back after", round(now() - started, 2))

    try:
        report = await run.run(f"worker SIGKILL ({victim}) during a recompute", faults, stack.alive)
    finally:
        await engine.dispose()
    record(request, report)
    log = stack.log("worker")
    if victim == "whole-worker":
        assert "celery worker exited with status 137" in log, log[-3000:]
    assert not report.problems, report.problems
