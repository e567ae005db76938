"""`matchday` as a user runs it: real subprocesses, real HTTP, both run modes."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import MATCHDAY, Serve, matchday_env, serving, wait_ready
from tests.support import (
    TEST_SECRET,
    Api,
    create_pg_schema,
    drop_pg_schema,
    eventually,
    pg_schema_url,
)

pytestmark = pytest.mark.e2e


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return matchday_env(tmp_path, **extra)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with serving(tmp_path) as start:
        yield start


async def _wait_ready(api: Api) -> None:
    await wait_ready(api)


async def _run_flow(api: Api) -> None:
    token = await api.user("organiser@example.com")
    event = await api.post(
        "/api/v1/events", {"name": "E2E Cup", "visibility": "private"}, token=token
    )
    event_id = event.json["id"]
    for name in ["Lions", "Tigers", "Bears"]:
        assert (
            await api.post(f"/api/v1/events/{event_id}/teams", {"name": name}, token=token)
        ).status == 201
    games = (
        await api.post(
            f"/api/v1/events/{event_id}/schedule", {"format": "round_robin"}, token=token
        )
    ).json["games"]
    assert len(games) == 3
    for game in games:
        reply = await api.put(
            f"/api/v1/games/{game['id']}/score",
            {"home_score": 1, "away_score": 1, "status": "final"},
            token=token,
        )
        assert reply.status == 200
    assert (await api.get(f"/api/v1/events/{event_id}/standings")).status == 404  # private

    async def settled() -> bool:
        table = (await api.get(f"/api/v1/events/{event_id}/standings", token=token)).json
        return sum(row["played"] for row in table["rows"]) == 6

    await eventually(settled)
    rows = (await api.get(f"/api/v1/events/{event_id}/standings", token=token)).json["rows"]
    assert [(r["rank"], r["points"]) for r in rows] == [(1, 2), (1, 2), (1, 2)]


async def test_embedded_default_serves_the_demo_and_the_whole_flow(tmp_path: Path, serve) -> None:
    env = _env(tmp_path)
    demo = subprocess.run([MATCHDAY, "demo"], env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "loaded" in demo.stdout
    proc, url = serve(env)
    api = Api(url)
    await _wait_ready(api)
    events = (await api.get("/api/v1/events")).json["items"]
    summer = next(e for e in events if e["name"] == "Summer Cup")
    table = (await api.get(f"/api/v1/events/{summer['id']}/standings")).json
    assert len(table["rows"]) == 8 and table["version"] >= 1
    live = (await api.get(f"/api/v1/events/{summer['id']}/games?status=live")).json
    assert live["total"] >= 1
    await _run_flow(api)
    assert (tmp_path / "var" / "matchday.sqlite3").exists()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


@pytest.mark.postgres
async def test_production_mode_on_postgresql_with_two_processes(tmp_path: Path, serve) -> None:
    schema = create_pg_schema()
    try:
        env = _env(tmp_path, DATABASE_URL=pg_schema_url(schema), JWT_SECRET=TEST_SECRET)
        proc, url = serve(env, "--processes", "2")
        api = Api(url)
        await _wait_ready(api)
        await _run_flow(api)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        drop_pg_schema(schema)


def test_production_mode_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    env = _env(tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test")
    started = time.monotonic()
    result = subprocess.run(
        [MATCHDAY, "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "JWT_SECRET" in result.stderr
    assert time.monotonic() - started < 30


def test_create_admin_then_login_as_admin(tmp_path: Path) -> None:
    env = _env(tmp_path)
    args = [
        MATCHDAY,
        "create-admin",
        "--email",
        "boss@example.com",
        "--password",
        "a very long admin pass",
    ]
    assert (
        subprocess.run([MATCHDAY, "migrate"], env=env, capture_output=True, timeout=60).returncode
        == 0
    )
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and "created admin" in first.stdout
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "promoted admin" in again.stdout
    weak = subprocess.run(
        [*args[:-1], "short"], env=env, capture_output=True, text=True, timeout=60
    )
    assert weak.returncode == 2 and "password" in weak.stderr
