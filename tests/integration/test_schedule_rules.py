"""An event's schedule rules through the API, on both backends: each rule's 409 on a new game
and on a move, generated schedules that keep them (and their dry run), CSV imports, and a
large generated schedule stored while spectators poll."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from models import Game, OutboxEntry
from server.app import MatchdayApp
from tests.sse_client import SseStream
from tests.support import Api, Reply

RULES = {
    "game_minutes": 90,
    "min_rest_minutes": 60,
    "playing_hours": {"start": "10:00", "end": "22:00"},
    "blackout_dates": ["2026-06-03"],
}


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body[:2000])
    return reply.json


def violations(reply: Reply) -> list[dict[str, Any]]:
    assert reply.status == 409, (reply.status, reply.body[:2000])
    error = reply.json["error"]
    assert error["code"] == "schedule_conflict", error
    return list(error["details"]["violations"])


async def league(api: Api, token: str, teams: int, **fields: Any) -> tuple[int, list[int]]:
    body = {"name": "Cup", **fields}
    event_id = ok(await api.post("/api/v1/events", body, token=token), 201)["id"]
    ids = []
    for n in range(teams):
        path = f"/api/v1/events/{event_id}/teams"
        ids.append(ok(await api.post(path, {"name": f"Team {n:03}"}, token=token), 201)["id"])
    return event_id, ids


async def create(api: Api, token: str, event_id: int, home: int, away: int, **f: Any) -> Reply:
    body = {"home_team_id": home, "away_team_id": away, **f}
    return await api.post(f"/api/v1/events/{event_id}/games", body, token=token)


async def test_rules_are_part_of_the_event(api: Api) -> None:
    token = await api.user("owner@example.com")
    plain = ok(await api.post("/api/v1/events", {"name": "Plain"}, token=token), 201)
    assert plain["schedule_rules"] == {
        "game_minutes": 120,
        "min_rest_minutes": 0,
        "playing_hours": None,
        "blackout_dates": [],
    }
    event_id, _ = await league(api, token, 0, schedule_rules=RULES)
    assert ok(await api.get(f"/api/v1/events/{event_id}"))["schedule_rules"] == RULES
    changed = {**RULES, "game_minutes": 100, "blackout_dates": []}
    reply = await api.patch(f"/api/v1/events/{event_id}", {"schedule_rules": changed}, token=token)
    assert ok(reply)["schedule_rules"] == changed
    too_short = {"game_minutes": 120, "playing_hours": {"start": "10:00", "end": "11:00"}}
    bad = await api.patch(f"/api/v1/events/{event_id}", {"schedule_rules": too_short}, token=token)
    assert bad.status == 422 and "schedule_rules" in bad.json["error"]["details"]
    bad_time = {"playing_hours": {"start": "25:00", "end": "26:00"}}
    bad = await api.patch(f"/api/v1/events/{event_id}", {"schedule_rules": bad_time}, token=token)
    assert bad.status == 422


async def test_each_rule_has_its_409(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id, (a, b, c, d) = await league(api, token, 4, schedule_rules=RULES)
    first = ok(
        await create(api, token, event_id, a, b, starts_at="2026-06-01T12:00:00Z", venue="North"),
        201,
    )

    venue = await create(
        api, token, event_id, c, d, starts_at="2026-06-01T12:30:00Z", venue="north"
    )
    assert violations(venue) == [
        {
            "rule": "venue_double_booked",
            "game_ids": [first["id"], None],
            "team_ids": [a, b, c, d],
            "venue": "north",
            "starts_at": "2026-06-01T12:30:00Z",
        }
    ]
    team = await create(api, token, event_id, c, a, starts_at="2026-06-01T13:00:00Z", venue="South")
    assert [(v["rule"], v["team_ids"], v["game_ids"]) for v in violations(team)] == [
        ("team_double_booked", [a], [first["id"], None])
    ]
    rest = await create(api, token, event_id, c, a, starts_at="2026-06-01T14:00:00Z")
    assert [(v["rule"], v["team_ids"]) for v in violations(rest)] == [("min_rest", [a])]
    late = await create(api, token, event_id, c, d, starts_at="2026-06-01T21:00:00Z")
    [hours] = violations(late)
    assert (hours["rule"], hours["game_ids"], hours["team_ids"]) == (
        "playing_hours",
        [None],
        [c, d],
    )
    early = await create(api, token, event_id, c, d, starts_at="2026-06-01T09:00:00Z")
    assert [v["rule"] for v in violations(early)] == ["playing_hours"]
    blackout = await create(api, token, event_id, c, d, starts_at="2026-06-03T12:00:00Z", venue="X")
    assert violations(blackout) == [
        {
            "rule": "blackout_date",
            "game_ids": [None],
            "team_ids": [c, d],
            "venue": "X",
            "starts_at": "2026-06-03T12:00:00Z",
        }
    ]
    listed = ok(await api.get(f"/api/v1/events/{event_id}/games"))
    assert listed["total"] == 1  # none of the refused games was stored
    # Within every rule: stored. Untimed games break none.
    ok(
        await create(api, token, event_id, c, a, starts_at="2026-06-01T14:30:00Z", venue="North"),
        201,
    )
    ok(await create(api, token, event_id, a, b), 201)


async def test_a_move_is_checked_but_an_older_clash_is_not_its_concern(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id, (a, b, c, d) = await league(api, token, 4)
    first = ok(await create(api, token, event_id, a, b, starts_at="2026-06-01T12:00:00Z"), 201)
    second = ok(await create(api, token, event_id, c, d, starts_at="2026-06-01T12:00:00Z"), 201)
    move = {"starts_at": "2026-06-01T13:00:00Z", "venue": "North"}
    ok(await api.patch(f"/api/v1/games/{first['id']}", {"venue": "North"}, token=token))
    clash = await api.patch(f"/api/v1/games/{second['id']}", move, token=token)
    assert [(v["rule"], v["game_ids"]) for v in violations(clash)] == [
        ("venue_double_booked", [first["id"], second["id"]])
    ]
    # A cancelled game holds no venue: once it is off, the move goes through.
    ok(await api.patch(f"/api/v1/games/{first['id']}", {"status": "cancelled"}, token=token))
    ok(await api.patch(f"/api/v1/games/{second['id']}", move, token=token))
    # Restoring the cancelled game would now clash with the moved one.
    restore = await api.patch(f"/api/v1/games/{first['id']}", {"status": "scheduled"}, token=token)
    assert [v["rule"] for v in violations(restore)] == ["venue_double_booked"]


def kickoffs(games: list[dict[str, Any]]) -> list[datetime]:
    return sorted(datetime.fromisoformat(g["starts_at"]) for g in games)


async def test_a_generated_schedule_keeps_the_playing_hours(api: Api) -> None:
    """The issue's example: starts 14:00Z every 120 min used to give 22:00, 00:00, 02:00."""
    token = await api.user("owner@example.com")
    hours = {"playing_hours": {"start": "10:00", "end": "22:00"}}
    event_id, _ = await league(api, token, 12, schedule_rules=hours)
    request = {
        "format": "round_robin",
        "starts_at": "2026-06-01T14:00:00Z",
        "interval_minutes": 120,
    }
    path = f"/api/v1/events/{event_id}/schedule"
    preview = ok(await api.post(f"{path}?dry_run=true", request, token=token))
    assert preview["violations"] == [] and len(preview["games"]) == 66
    assert all(g["id"] is None for g in preview["games"])
    assert ok(await api.get(f"/api/v1/events/{event_id}/games"))["total"] == 0  # nothing stored
    games = ok(await api.post(path, request, token=token), 201)["games"]
    assert kickoffs(games) == kickoffs(preview["games"])
    times = sorted({k for k in kickoffs(games)})
    assert [t.hour for t in times[:6]] == [14, 16, 18, 20, 10, 12]
    assert all(t.hour >= 10 and t + timedelta(hours=2) <= t.replace(hour=22) for t in times)


async def test_a_generated_schedule_skips_blackouts_and_keeps_rest(api: Api) -> None:
    token = await api.user("owner@example.com")
    rules = {**RULES, "min_rest_minutes": 20 * 60}
    event_id, _ = await league(api, token, 6, schedule_rules=rules)
    request = {
        "format": "round_robin",
        "starts_at": "2026-06-02T08:00:00Z",
        "interval_minutes": 30,
        "venues": ["North", "South"],
    }
    games = ok(await api.post(f"/api/v1/events/{event_id}/schedule", request, token=token), 201)[
        "games"
    ]
    days = sorted({t.date().isoformat() for t in kickoffs(games)})
    assert "2026-06-03" not in days
    assert days[0] == "2026-06-02" and min(kickoffs(games)).hour == 10
    by_round: dict[int, list[datetime]] = {}
    for g in games:
        by_round.setdefault(g["round"], []).append(datetime.fromisoformat(g["starts_at"]))
    rounds = sorted(by_round)
    for earlier, later in itertools.pairwise(rounds):
        gap = min(by_round[later]) - max(by_round[earlier])
        assert gap >= timedelta(minutes=90 + 20 * 60)


async def test_a_schedule_rolls_past_a_run_of_blackout_dates(api: Api) -> None:
    token = await api.user("owner@example.com")
    blackouts = [f"2026-06-{d:02}" for d in range(1, 31)] + [
        f"2026-07-{d:02}" for d in range(1, 32)
    ]
    event_id, _ = await league(api, token, 2, schedule_rules={"blackout_dates": blackouts})
    request = {"format": "round_robin", "starts_at": "2026-06-01T12:00:00Z"}
    reply = await api.post(f"/api/v1/events/{event_id}/schedule", request, token=token)
    [game] = ok(reply, 201)["games"]
    assert game["starts_at"] == "2026-08-01T00:00:00Z"  # the first minute after the blackouts


async def test_an_import_is_checked_against_the_event_and_itself(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id, _ = await league(api, token, 0, schedule_rules=RULES)
    csv = (
        "kind,name,group,home,away,starts_at,venue,round,home_score,away_score,status\r\n"
        "team,Lions,,,,,,,,,\r\n"
        "team,Tigers,,,,,,,,,\r\n"
        "game,,,Lions,Tigers,2026-06-01T12:00:00Z,North,1,,,\r\n"
        "game,,,Tigers,Lions,2026-06-01T13:00:00Z,South,1,,,\r\n"
        "game,,,Tigers,Lions,2026-06-01T08:00:00Z,South,1,,,cancelled\r\n"
    )
    reply = await api.post(
        f"/api/v1/events/{event_id}/import",
        raw=csv.encode(),
        token=token,
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )
    [clash] = violations(reply)
    assert clash["rule"] == "team_double_booked" and clash["rows"] == [4, 5]
    assert clash["game_ids"] == [None, None]
    assert ok(await api.get(f"/api/v1/events/{event_id}/teams"))["total"] == 0  # all or nothing


def orm_flushed_games() -> tuple[list[int], Any]:
    """Counts the games and `game` events that ORM flushes write (a listener to remove)."""
    flushed: list[int] = []

    def count(session: Session, *_: Any) -> None:
        flushed.extend(
            1
            for obj in session.new
            if isinstance(obj, Game) or (isinstance(obj, OutboxEntry) and obj.kind == "game")
        )

    sa_event.listen(Session, "before_flush", count)
    return flushed, count


@pytest.mark.parametrize("teams", [24])
async def test_a_large_schedule_is_stored_in_bulk_while_spectators_poll(
    live_api: Api, live_app: MatchdayApp, teams: int
) -> None:
    """A double round robin of 24 teams (552 games) while a spectator polls the games list and
    the standings. Stored with Core INSERTs a slice at a time, its events with one insert per
    thousand: an ORM object per game and per event held the loop and SQLite's write lock for
    seconds at 9,900 games (polling spectators got 503s; tests/perf/schedule_bulk.py)."""
    token = await live_api.user("owner@example.com")
    event_id, _ = await league(live_api, token, teams)
    await live_app.settled()
    stream = await SseStream.open(live_api.base_url, f"/api/v1/events/{event_id}/stream")
    await stream.next()
    statuses: list[int] = []
    done = asyncio.Event()

    async def poll() -> None:
        while not done.is_set():
            for path in (
                f"/api/v1/events/{event_id}/games?per_page=200",
                f"/api/v1/events/{event_id}/standings",
            ):
                statuses.append((await live_api.get(path)).status)

    poller = asyncio.create_task(poll())
    flushed, listener = orm_flushed_games()
    request = {"format": "double_round_robin", "starts_at": "2026-06-01T12:00:00Z"}
    try:
        reply = await live_api.post(f"/api/v1/events/{event_id}/schedule", request, token=token)
    finally:
        sa_event.remove(Session, "before_flush", listener)
        done.set()
        await poller
    games = ok(reply, 201)["games"]
    expected = teams * (teams - 1)
    assert len(games) == expected and len({g["id"] for g in games}) == expected
    assert len(flushed) == 0, f"{len(flushed)} games or game events went through ORM flushes"
    assert statuses and set(statuses) <= {200}, sorted(set(statuses))
    received = await stream.events(expected, timeout=30)
    assert [m.event for m in received] == ["game"] * expected
    assert [m.json for m in received] == games  # in id order, exactly as answered
    await stream.close()
