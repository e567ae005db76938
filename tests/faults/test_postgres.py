"""PostgreSQL restarted under load: a server of the test's own (the shared one on 5432 is never
restarted)."""

from __future__ import annotations

import asyncio

import pytest

from models.migrate import upgrade
from tests.e2e.own_postgres import own_postgres
from tests.faults.conftest import MakeStack, record
from tests.faults.driver import LoadRun, now
from tests.faults.stack import alive

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.faults]
DOWN_SECONDS = 3.0


@pytest.mark.faults_long
@pytest.mark.timeout(240)
async def test_postgresql_restart_under_load(
    request: pytest.FixtureRequest, make_stack: MakeStack, load: object
) -> None:
    """Writes get 503 while it is down and are retried (with their Idempotency-Key: one cut
    mid-commit is not applied twice); open streams stay open (they need Redis, not the
    database); new streams get 503 and retry; the relay, the sweep and the worker's tasks
    resume by themselves."""
    with own_postgres() as postgres:
        await asyncio.to_thread(upgrade, postgres.url)
        stack = make_stack(postgres.url)
        try:
            await stack.redis.start()
            stack.start_serve()
            stack.start_worker()
            await stack.ready()
            run: LoadRun = load(stack, clients=30, rate=10, duration=20, seed=41)
            await run.setup()

            async def faults(run: LoadRun) -> None:
                await run.at(0.4)
                started = now()
                await asyncio.to_thread(postgres.stop)  # fast: sessions are ended under them
                await asyncio.sleep(DOWN_SECONDS)
                await asyncio.to_thread(postgres.start)
                run.fault("postgresql restart", started, now())

            def everything_alive() -> dict[str, bool]:
                pid_file = postgres.data / "postmaster.pid"
                pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else 0
                return {**stack.alive(), "postgresql (own)": bool(pid) and alive(pid)}

            report = await run.run("postgresql restart", faults, everything_alive)
        finally:
            stack.close()  # before its database goes
    record(request, report)
    assert not report.problems, report.problems
