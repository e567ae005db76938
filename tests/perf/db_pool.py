"""Benchmark: the psycopg pool under SQLAlchemy (what Matchday runs) against SQLAlchemy's own
QueuePool with pool_pre_ping (what it ran before), on the real PostgreSQL.

    .venv/bin/python tests/perf/db_pool.py [--transactions 2000] [--rounds 3]

Each transaction is what a typical read request does: check out a connection, run one
`SELECT` of a row by primary key, return the connection. Sequential (one caller) and with 16
concurrent callers on a pool of 10 (+10 overflow): median microseconds per transaction over
the rounds, the two pools interleaved round by round so that the machine's load hits both
alike. Prints one JSON object, then one summary line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models.db import make_async_engine  # noqa: E402
from tests.support import PG_ADMIN_URL, settings_for  # noqa: E402

QUERY = sa.text("SELECT 1 WHERE 1 = :id")


def queue_pool_engine() -> AsyncEngine:
    """The engine options Matchday used before psycopg_pool."""
    return create_async_engine(
        PG_ADMIN_URL,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"options": "-c statement_timeout=5000"},
    )


async def run(engine: AsyncEngine, transactions: int, callers: int) -> float:
    """Microseconds per transaction."""
    per_caller = transactions // callers

    async def caller() -> None:
        for _ in range(per_caller):
            async with engine.connect() as connection:
                await connection.execute(QUERY, {"id": 1})

    await caller()  # warm: connections opened, statements cached
    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return (time.perf_counter() - started) / (per_caller * callers) * 1e6


async def main(transactions: int, rounds: int) -> dict[str, float]:
    settings = settings_for(PG_ADMIN_URL, Path(tempfile.mkdtemp()))
    engines = {"psycopg_pool": make_async_engine(settings), "queue_pool": queue_pool_engine()}
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, engine in engines.items():
            for callers in (1, 16):
                key = f"{name}_{callers}_us"
                samples.setdefault(key, []).append(await run(engine, transactions, callers))
    for engine in engines.values():
        await engine.dispose()
    return {key: round(statistics.median(values), 1) for key, values in samples.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures = asyncio.run(main(args.transactions, args.rounds))
    print(json.dumps(figures))
    print(
        "db pool, µs per checkout+select+return (median): "
        f"1 caller psycopg_pool {figures['psycopg_pool_1_us']} vs QueuePool "
        f"{figures['queue_pool_1_us']} "
        f"(x{figures['psycopg_pool_1_us'] / figures['queue_pool_1_us']:.2f}); "
        f"16 callers {figures['psycopg_pool_16_us']} vs {figures['queue_pool_16_us']} "
        f"(x{figures['psycopg_pool_16_us'] / figures['queue_pool_16_us']:.2f})"
    )
