"""Nothing blocks the event loop: a 10,000-game import and its export leave /healthz quick;
the password-strength check runs in the blocking runner.

The server runs in this process (fixture `live_app`: SQLite with in-process streams, and
PostgreSQL with Redis Streams); its clients run in threads, so none of them waits on the
loop it measures (tests/loop_watch.py). The bound is checked less the time the threads
waited for a CPU: on a shared machine that time is the machine's, not the server's.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from models import Game
from server.app import MatchdayApp
from server.handlers import auth as auth_handlers
from server.schemas.auth import password_problems
from tests.loop_watch import LoopWatch, games_csv, send, teams_csv
from tests.support import Api

TEAMS = 100
GAMES = 10_000  # the most one file may hold (MAX_ROWS)
# A blocked loop shows as seconds of lag; the rest is the shared 2-core host (0.1 s was missed
# at 0.13 s net while other suites' processes ran).
BOUND_SECONDS = 0.25
LAG = "matchday_event_loop_lag_seconds"


def lag_ticks() -> float:
    return REGISTRY.get_sample_value(f"{LAG}_count") or 0.0


async def test_a_10000_game_import_and_export_leave_the_loop_free(
    live_api: Api, live_app: MatchdayApp
) -> None:
    api, app = live_api, live_app
    token = await api.user("owner@example.com")
    event_id = (await api.post("/api/v1/events", {"name": "Cup"}, token=token)).json["id"]
    path = f"/api/v1/events/{event_id}"
    reply = await api.post(
        f"{path}/import", raw=teams_csv(TEAMS), token=token, headers={"Content-Type": "text/csv"}
    )
    assert reply.status == 201, reply.body[:1000]
    await app.settled()
    body = games_csv(GAMES, TEAMS)
    published, ticks = app.relay.published, lag_ticks()

    async with LoopWatch(api.base_url) as watch:
        started = time.monotonic()
        created = await asyncio.to_thread(send, api.base_url, "POST", f"{path}/import", token, body)
        imported = time.monotonic()
        await app.settled()  # the relay publishes 10,000 events; the table is recomputed
        settled = time.monotonic()
        exported = await asyncio.to_thread(send, api.base_url, "GET", f"{path}/export.csv", token)
        finished = time.monotonic()

    print(
        f"\nimport {imported - started:.2f} s, relay and recompute {settled - imported:.2f} s, "
        f"export {finished - settled:.2f} s; {watch.describe()}"
    )
    assert len(json.loads(created)["games"]) == GAMES
    assert exported.count(b"\r\ngame,") == GAMES
    async with app.sessions() as session:
        stored = await session.scalar(select(func.count()).where(Game.event_id == event_id))
    assert stored == GAMES
    assert app.relay.published - published == GAMES + 1  # each game's event, then the table
    table = (await api.get(f"{path}/standings")).json
    assert table["last_event_id"] == await app.streams.last_id(event_id)
    assert sum(row["played"] for row in table["rows"]) == 2 * len(range(0, GAMES, 3))

    assert len(watch.polls) > 20, "the poller hardly ran"
    assert watch.worst(watch.polls).net < BOUND_SECONDS, watch.describe()
    assert watch.worst(watch.ticks).net < BOUND_SECONDS, watch.describe()
    assert lag_ticks() > ticks  # the server's own monitor was measuring all along


async def test_password_strength_is_judged_off_the_loop(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """zxcvbn takes 13-60 ms a call. The 422 is the one schema validation gives."""
    threads: list[str] = []

    def spy(password: str, email: str | None) -> list[str]:
        threads.append(threading.current_thread().name)
        return password_problems(password, email)

    monkeypatch.setattr(auth_handlers, "password_problems", spy)
    weak = "Password1234!"
    body = {"email": "jane.doe@example.com", "password": weak, "display_name": "Jane"}
    reply = await api.post("/api/v1/auth/register", body)
    assert reply.status == 422, reply.body
    error = reply.json["error"]
    assert (error["code"], error["message"]) == ("validation_error", "the request is not valid")
    assert error["details"] == {"password": password_problems(weak, "jane.doe@example.com")}
    token = await api.user("owner@example.com")
    reply = await api.post(
        "/api/v1/me/password", {"current_password": "x", "new_password": weak}, token=token
    )
    assert reply.status == 422, reply.body
    assert reply.json["error"]["details"] == {
        "new_password": password_problems(weak, "owner@example.com")
    }
    assert len(threads) == 3  # two refusals and one registration
    assert all(name.startswith("matchday-blocking") for name in threads), threads
