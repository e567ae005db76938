"""Every game the API answers or streams names its two teams (issue 16: "team names
everywhere"): a client draws a fixture or a score from one reply or one live message, without
asking for the teams. Both run modes; "production" is PostgreSQL with real Redis Streams."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sa_event

from server.admin_cli import create_admin
from tests.integration.test_live import (
    MODES,
    Live,
    league,
    read_frame,
    read_message_frame,
    settle,
)
from tests.sse_client import SseStream
from tests.support import STRONG_PASSWORD, Api, Reply


@pytest.fixture(params=MODES)
async def live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    launcher = Live(request, tmp_path, request.param)
    yield launcher
    await launcher.close()


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.json


def assert_named(game: dict[str, Any], names: dict[int, str]) -> None:
    assert game["home_team_name"] == names[game["home_team_id"]], game
    assert game["away_team_name"] == names[game["away_team_id"]], game


async def open_stream(live: Live, api: Api, ev: int) -> SseStream:
    stream = await live.open(api, f"/api/v1/events/{ev}/stream")
    assert stream.status == 200, stream.body
    first = await read_frame(stream)  # the `retry:` hint
    assert first is not None and first[0].startswith("retry:"), first
    return stream


async def next_message(stream: SseStream, kind: str) -> dict[str, Any]:
    """The next live message of `kind` (standings recomputes may come between)."""
    while True:
        frame = await read_message_frame(stream)
        if frame["event"] == kind:
            return dict(json.loads(frame["data"]))


async def test_single_game_replies_and_live_messages_name_both_teams(live: Live) -> None:
    app, api = await live.start()
    token = await api.user("owner@example.com")
    ev, teams = await league(api, token, 4)
    names = {team: f"Team {n}" for n, team in enumerate(teams)}
    await settle(app)
    stream = await open_stream(live, api, ev)

    # Create: the reply and the `game` message.
    body = {"home_team_id": teams[0], "away_team_id": teams[1], "venue": "North"}
    created = ok(await api.post(f"/api/v1/events/{ev}/games", body, token=token), 201)
    assert_named(created, names)
    assert await next_message(stream, "game") == created

    # Read one game.
    game_id = created["id"]
    fetched = ok(await api.get(f"/api/v1/games/{game_id}"))
    assert fetched == created

    # Scores, live then final: each reply and its `score` message.
    for home, status in ((1, "live"), (2, "final")):
        put = {"home_score": home, "away_score": 0, "status": status}
        scored = ok(await api.put(f"/api/v1/games/{game_id}/score", put, token=token))
        assert_named(scored, names)
        assert await next_message(stream, "score") == scored
    assert ok(await api.get(f"/api/v1/games/{game_id}")) == scored

    # A retried score with the same Idempotency-Key gets the same named reply.
    key = {"Idempotency-Key": "names-1"}
    put = {"home_score": 2, "away_score": 0, "status": "final"}
    first = await api.put(f"/api/v1/games/{game_id}/score", put, token=token, headers=key)
    again = await api.put(f"/api/v1/games/{game_id}/score", put, token=token, headers=key)
    assert ok(first) == ok(again) and again.headers.get("Idempotent-Replayed") == "true"
    assert_named(ok(again), names)

    # An admin's correction: the reply and the `correction` message's game.
    await asyncio.to_thread(create_admin, app.config, "admin@example.com", STRONG_PASSWORD, "A")
    admin = await api.login("admin@example.com")
    fix = {"home_score": 3, "away_score": 0, "reason": "goal missed"}
    corrected = ok(await api.post(f"/api/v1/admin/games/{game_id}/corrections", fix, token=admin))
    assert_named(corrected, names)
    message = await next_message(stream, "correction")
    assert message == {"game": corrected, "reason": "goal missed"}

    # PATCH: a dry run names the teams of the game as it would be; the change, its reply and
    # its `game` message too.
    other = ok(
        await api.post(f"/api/v1/events/{ev}/games", {**body, "venue": None}, token=token), 201
    )
    await next_message(stream, "game")
    dry = ok(
        await api.patch(
            f"/api/v1/games/{other['id']}?dry_run=true", {"venue": "South"}, token=token
        )
    )
    assert dry["game"]["venue"] == "South"
    assert_named(dry["game"], names)
    moved = ok(await api.patch(f"/api/v1/games/{other['id']}", {"venue": "South"}, token=token))
    assert_named(moved, names)
    assert moved["venue"] == "South"
    assert await next_message(stream, "game") == moved
    # The same change again changes nothing, and still names the teams.
    same = ok(await api.patch(f"/api/v1/games/{other['id']}", {"venue": "South"}, token=token))
    assert same == moved


async def test_a_knockout_round_drawn_after_a_final_names_its_teams(live: Live) -> None:
    app, api = await live.start()
    token = await api.user("owner@example.com")
    ev, teams = await league(api, token, 4)
    names = {team: f"Team {n}" for n, team in enumerate(teams)}
    schedule = {"format": "single_elimination", "seeds": teams}
    semis = ok(await api.post(f"/api/v1/events/{ev}/schedule", schedule, token=token), 201)["games"]
    await settle(app)
    stream = await open_stream(live, api, ev)
    for game in semis:
        put = {"home_score": 1, "away_score": 0, "status": "final"}
        ok(await api.put(f"/api/v1/games/{game['id']}/score", put, token=token))
    final = await next_message(stream, "game")  # drawn once both semi-finals are final
    assert final["round"] == 2
    assert {final["home_team_id"], final["away_team_id"]} == {g["home_team_id"] for g in semis}
    assert_named(final, names)


async def test_scoring_a_game_reads_its_teams_in_the_same_statement(live: Live) -> None:
    """No extra round trip on the hot path: a score costs the statements it cost before the
    names were added (the teams come with the game's row, joined)."""
    app, api = await live.start()
    token = await api.user("owner@example.com")
    ev, teams = await league(api, token, 2)
    body = {"home_team_id": teams[0], "away_team_id": teams[1]}
    game = ok(await api.post(f"/api/v1/events/{ev}/games", body, token=token), 201)
    await settle(app)

    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        statements.append(sql)

    engine = app.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        put = {"home_score": 1, "away_score": 0, "status": "live"}
        ok(await api.put(f"/api/v1/games/{game['id']}/score", put, token=token))
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    team_reads = [sql for sql in statements if re.search(r"\bteams\b", sql)]
    assert len(team_reads) == 1, statements  # the game's own read, joined
    assert re.search(r"FROM games JOIN teams", team_reads[0]), team_reads
