"""Benchmark: standings recompute cost, and score → `standings` event latency with one worker.

    .venv/bin/python tests/perf/standings_latency.py [--scores 50] [--teams 64]

1. Recompute time for an event of TEAMS teams with a double round robin, every game final
   (64 teams: 4,032 games): the pure rules alone, and the whole task (read, compute, store,
   publish) against the real PostgreSQL.
2. Median and p99 time from a final score's PUT to its `standings` event reaching an SSE
   client, with `matchday serve` and ONE `matchday worker` (Celery, prefork, concurrency 1)
   on PostgreSQL + Redis, in the smallest round robin with SCORES games (50 → 11 teams).

Traffic goes only to 127.0.0.1; every wait is bounded; processes and data are cleaned up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from config.settings import load_settings  # noqa: E402
from models import Event, Game, Team, User  # noqa: E402
from models.db import make_sync_engine, sync_session_factory  # noqa: E402
from models.domain.schedule import double_round_robin  # noqa: E402
from models.standings_source import table_for  # noqa: E402
from tests.sse_client import SseStream  # noqa: E402
from tests.support import (  # noqa: E402
    REDIS_URL,
    TEST_SECRET,
    Api,
    create_pg_schema,
    delete_redis_keys,
    drop_pg_schema,
    pg_schema_url,
)
from workers.nudge import no_nudge  # noqa: E402
from workers.tasks import recompute_standings  # noqa: E402

MATCHDAY = str(Path(sys.executable).with_name("matchday"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def seed_league(url: str, teams: int) -> int:
    settings = load_settings({"DATABASE_URL": url, "JWT_SECRET": TEST_SECRET})
    engine = make_sync_engine(settings)
    rng = random.Random(7)
    with sync_session_factory(engine).begin() as session:
        owner = User(email="bench@example.com", display_name="b", password_hash="x")
        session.add(owner)
        session.flush()
        event = Event(
            name="Bench",
            owner_id=owner.id,
            scoring={"win": 3, "draw": 1, "loss": 0},
            tiebreakers=["score_diff", "score_for", "head_to_head"],
        )
        session.add(event)
        session.flush()
        rows = [Team(event_id=event.id, name=f"Team {i:02d}") for i in range(teams)]
        session.add_all(rows)
        session.flush()
        fixtures = double_round_robin([t.id for t in rows])
        session.add_all(
            Game(
                event_id=event.id,
                home_team_id=f.home_team_id,
                away_team_id=f.away_team_id,
                round=f.round,
                status="final",
                home_score=rng.randint(0, 4),
                away_score=rng.randint(0, 4),
            )
            for f in fixtures
        )
        event_id = event.id
    engine.dispose()
    return event_id


def bench_recompute(teams: int, runs: int = 7) -> None:
    schema = create_pg_schema()
    try:
        url = pg_schema_url(schema)
        event_id = seed_league(url, teams)
        settings = load_settings({"DATABASE_URL": url, "JWT_SECRET": TEST_SECRET})
        engine = make_sync_engine(settings)
        sessions = sync_session_factory(engine)
        with sessions() as session:
            event = session.get(Event, event_id)
            team_rows = list(session.scalars(sa.select(Team).where(Team.event_id == event_id)))
            games = list(session.scalars(sa.select(Game).where(Game.event_id == event_id)))
        pure, task = [], []
        for _ in range(runs):
            started = time.perf_counter()
            table_for(event, team_rows, games)
            pure.append(time.perf_counter() - started)
            started = time.perf_counter()
            recompute_standings(sessions, no_nudge, event_id)
            task.append(time.perf_counter() - started)
        engine.dispose()
        print(f"recompute, {teams} teams, {len(games)} games ({runs} runs):")
        print(f"  pure rules:  median {statistics.median(pure) * 1000:.1f} ms")
        print(
            f"  whole task:  median {statistics.median(task) * 1000:.1f} ms "
            "(read + compute + store, PostgreSQL)"
        )
    finally:
        drop_pg_schema(schema)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [MATCHDAY, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        start_new_session=True,
    )


async def _ready(api: Api, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await api.get("/readyz")).status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("server did not become ready")


async def _measure(api: Api, scores: int) -> list[float]:
    token = await api.user("bench@example.com")
    event = (await api.post("/api/v1/events", {"name": "Latency"}, token=token)).json["id"]
    teams = next(n for n in range(2, 1000) if n * (n - 1) // 2 >= scores)  # a small league
    for i in range(teams):
        await api.post(f"/api/v1/events/{event}/teams", {"name": f"T{i:03d}"}, token=token)
    games = (
        await api.post(f"/api/v1/events/{event}/schedule", {"format": "round_robin"}, token=token)
    ).json["games"][:scores]
    await asyncio.sleep(2)  # let the team-creation recomputes drain
    stream = await SseStream.open(api.base_url, f"/api/v1/events/{event}/stream")
    await stream.next()  # the retry: line
    latencies = []
    for game in games:
        sent = time.perf_counter()
        reply = await api.put(
            f"/api/v1/games/{game['id']}/score",
            {"home_score": 1, "away_score": 0, "status": "final"},
            token=token,
        )
        assert reply.status == 200, reply.body
        while True:
            message = await stream.next_event(timeout=10)
            assert message is not None, "stream closed"
            if message.event == "standings" and sum(r["played"] for r in message.json["rows"]):
                played = sum(r["played"] for r in message.json["rows"]) // 2
                if played >= len(latencies) + 1:
                    latencies.append(time.perf_counter() - sent)
                    break
    await stream.close()
    return latencies


def bench_latency(scores: int) -> None:
    schema = create_pg_schema()
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    workdir = Path(tempfile.mkdtemp(prefix="matchday-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": pg_schema_url(schema),
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": prefix,
        "JWT_SECRET": TEST_SECRET,
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
        "DATA_DIR": str(workdir),
    }
    port = 18000 + random.randint(0, 999)
    procs = [
        _spawn(["worker", "--concurrency", "1"], env, workdir / "worker.log"),
        _spawn(["serve", "--port", str(port)], env, workdir / "serve.log"),
    ]
    try:
        api = Api(f"http://127.0.0.1:{port}")

        async def run() -> list[float]:
            await _ready(api)
            return await _measure(api, scores)

        latencies = asyncio.run(run())
        ms = [value * 1000 for value in latencies]
        print(f"final score PUT → `standings` at an SSE client, one worker ({len(ms)} scores):")
        print(
            f"  median {statistics.median(ms):.1f} ms   p99 {percentile(ms, 0.99):.1f} ms   "
            f"max {max(ms):.1f} ms"
        )
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        asyncio.run(delete_redis_keys(prefix))
        drop_pg_schema(schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=64)
    parser.add_argument("--scores", type=int, default=50)
    args = parser.parse_args()
    bench_recompute(args.teams)
    bench_latency(args.scores)


if __name__ == "__main__":
    main()
