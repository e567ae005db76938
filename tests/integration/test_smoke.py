"""`matchday smoke URL` against a real server, in both run modes, and against nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from server.smoke import Options, run_smoke
from tests.e2e.processes import free_port
from tests.support import Api

MATCHDAY = str(Path(sys.executable).with_name("matchday"))
PASSWORD = "violet-Harbour-lantern-7431"


async def _smoke(options: Options) -> tuple[int, list[str]]:
    """run_smoke in a thread: its HTTP client blocks, and the server runs on this loop."""
    lines: list[str] = []
    code = await asyncio.to_thread(run_smoke, options, lines.append)
    return code, lines


def _failures(lines: list[str]) -> dict[str, str]:
    return {
        line[5:].split(":", 1)[0]: line.split(": ", 1)[1]
        for line in lines
        if line.startswith("FAIL ")
    }


async def test_a_fresh_deployment_passes_with_a_test_account(live_api: Api) -> None:
    """No public event yet: the write makes one of its own, and its stream is the one checked."""
    await live_api.register("smoke@example.com", PASSWORD)
    options = Options(live_api.base_url, timeout=15, email="smoke@example.com", password=PASSWORD)
    code, lines = await _smoke(options)
    assert code == 0, lines
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "ok   health",
        "ok   readiness",
        "ok   public read",
        "ok   write",
        "ok   stream",
    ]
    assert "then its score and standings events on its stream" in lines[3]
    assert lines[-1].endswith("5 of 5 checks passed")


async def test_without_an_account_it_streams_a_public_event(live_api: Api) -> None:
    token = await live_api.user("owner@example.com")
    event = (await live_api.post("/api/v1/events", {"name": "Open Cup"}, token=token)).json
    code, lines = await _smoke(Options(live_api.base_url))
    assert code == 0, lines
    assert f"event {event['id']}: first frame retry" in lines[3]


async def test_each_failed_check_says_why_on_its_own_line(live_api: Api) -> None:
    await live_api.register("smoke@example.com", PASSWORD)
    options = Options(
        live_api.base_url, timeout=5, event_id=999_999, email="smoke@example.com", password="wrong"
    )
    code, lines = await _smoke(options)
    assert code == 1
    failures = _failures(lines)
    assert set(failures) == {"write", "stream"}
    assert failures["write"].startswith("log in: 401, expected 200")
    assert failures["stream"].startswith("GET /api/v1/events/999999/stream: 404")
    assert lines[-1].endswith("3 of 5 checks passed")


async def test_no_public_event_and_no_account_fails_the_stream_check(live_api: Api) -> None:
    code, lines = await _smoke(Options(live_api.base_url))
    assert code == 1
    assert _failures(lines) == {
        "stream": "no public event to stream: pass --event-id, or --email to write one"
    }


def test_the_command_fails_when_nothing_listens(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "MATCHDAY_SMOKE_PASSWORD": ""}
    done = subprocess.run(
        [MATCHDAY, "smoke", url, "--timeout", "2"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 5
    assert set(_failures(lines)) == {"health", "readiness", "public read", "stream"}
    assert all("Connection refused" in reason for reason in _failures(lines).values())
    assert lines[-1] == f"smoke {url}: 0 of 4 checks passed"
