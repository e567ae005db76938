"""Redis goes away under load: restarted with its data (AOF, fsync always), or wiped."""

from __future__ import annotations

import asyncio
import random
import signal

import pytest

from tests.faults.conftest import MakeStack, record
from tests.faults.driver import LoadRun, now

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.faults]


async def _start(make_stack: MakeStack, schema_url: str, *, aof: bool = True) -> object:
    stack = make_stack(schema_url, aof=aof)
    await stack.redis.start()
    stack.start_serve()
    stack.start_worker()
    await stack.ready()
    return stack


async def _restarts(
    request: pytest.FixtureRequest,
    make_stack: MakeStack,
    load: object,
    schema_url: str,
    *,
    restarts: int,
    clients: int,
    duration: float,
) -> None:
    stack = await _start(make_stack, schema_url)
    run: LoadRun = load(stack, clients=clients, rate=10, duration=duration, seed=restarts)
    await run.setup()
    rng = random.Random(restarts)

    async def faults(run: LoadRun) -> None:
        await run.at(0.15)
        for index in range(restarts):
            signum = signal.SIGKILL if index % 2 else signal.SIGTERM
            started = now()
            await stack.redis.stop(signum)
            await asyncio.sleep(rng.uniform(0.2, 0.6))  # down: writes go on, events wait
            await stack.redis.start()
            run.fault(f"redis restart {index + 1} ({signum.name})", started, now())
            await asyncio.sleep(rng.uniform(1.0, 1.8))

    def worker_back() -> float | None:
        """The slowest reconnection of the Celery worker after Redis was back: kombu retries
        the broker 2, 6, 12, 20, 30 s… after the loss, whatever the outage's length."""
        lags = [stack.worker_connected_after(fault.ended_wall) for fault in run.faults]
        return None if None in lags else max(lag for lag in lags if lag is not None)

    run.note("worker reconnected after redis was back (max)", worker_back)
    report = await run.run(f"redis restart x{restarts} (AOF)", faults, stack.alive)
    record(request, report)
    assert not report.problems, report.problems


@pytest.mark.timeout(150)
async def test_redis_restarts_twice_under_load(
    request: pytest.FixtureRequest, schema_url: str, make_stack: MakeStack, load: object
) -> None:
    """The short one, in `make test`."""
    await _restarts(request, make_stack, load, schema_url, restarts=2, clients=20, duration=8)


@pytest.mark.faults_long
@pytest.mark.timeout(240)
async def test_redis_restarts_ten_times_under_load(
    request: pytest.FixtureRequest, schema_url: str, make_stack: MakeStack, load: object
) -> None:
    await _restarts(request, make_stack, load, schema_url, restarts=10, clients=30, duration=30)


@pytest.mark.faults_long
@pytest.mark.timeout(180)
@pytest.mark.parametrize("how", ["flushall", "restart-without-persistence"])
async def test_redis_loses_its_data_under_load(
    how: str,
    request: pytest.FixtureRequest,
    schema_url: str,  # before make_stack: the servers stop before their schema is dropped
    make_stack: MakeStack,
    load: object,
) -> None:
    """Streams, queued tasks and markers are gone: clients are reset and refetch; what the
    lost tasks owed is finished by the sweep."""
    stack = await _start(make_stack, schema_url, aof=how == "flushall")
    run: LoadRun = load(stack, clients=30, rate=10, duration=16, seed=5)
    await run.setup()

    async def faults(run: LoadRun) -> None:
        await run.at(0.4)
        started = now()
        if how == "flushall":
            await stack.redis.flushall()
        else:
            await stack.redis.stop(signal.SIGKILL)
            await asyncio.sleep(0.3)
            await stack.redis.start()
        run.fault(f"redis data lost ({how})", started, now())

    report = await run.run(f"redis data lost ({how})", faults, stack.alive, data_lost=True)
    record(request, report)
    assert not report.problems, report.problems
