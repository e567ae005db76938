"""Per-period scores through the API, on both databases: recorded with a score, checked against
the event's sport, returned on every game, streamed to spectators, kept through corrections,
and left out of the standings (only the result counts)."""

from __future__ import annotations

import asyncio
from typing import Any

from server.admin_cli import create_admin
from server.app import MatchdayApp
from tests.sse_client import SseStream
from tests.support import STRONG_PASSWORD, Api, Reply


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body[:2000])
    return reply.json


def refused(reply: Reply, status: int = 422) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.body[:2000])
    body: dict[str, Any] = reply.json["error"]
    return body


async def game_of(api: Api, token: str, sport: str | None) -> tuple[int, int, list[int]]:
    """An event of `sport` with two teams and one game: (event id, game id, team ids)."""
    body: dict[str, Any] = {"name": f"{sport} cup", "sport": sport}
    event_id = ok(await api.post("/api/v1/events", body, token=token), 201)["id"]
    teams = [
        ok(await api.post(f"/api/v1/events/{event_id}/teams", {"name": n}, token=token), 201)["id"]
        for n in ("Lions", "Tigers")
    ]
    game = {"home_team_id": teams[0], "away_team_id": teams[1]}
    game_id = ok(await api.post(f"/api/v1/events/{event_id}/games", game, token=token), 201)["id"]
    return event_id, game_id, teams


def score(home: int, away: int, status: str = "live", periods: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"home_score": home, "away_score": away, "status": status}
    if periods is not None:
        body["periods"] = [{"home": h, "away": a} for h, a in periods]
    return body


def tallies(game: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(p["name"], p["home"], p["away"]) for p in game["periods"]]


async def test_periods_are_recorded_returned_and_streamed(
    live_api: Api, live_app: MatchdayApp
) -> None:
    token = await live_api.user("keeper@example.com")
    event_id, game_id, _ = await game_of(live_api, token, "Basketball")
    assert ok(await live_api.get(f"/api/v1/games/{game_id}"))["periods"] == []  # none yet
    await live_app.settled()
    stream = await SseStream.open(live_api.base_url, f"/api/v1/events/{event_id}/stream")
    assert (await stream.next()).retry

    path = f"/api/v1/games/{game_id}/score"
    live = ok(await live_api.put(path, score(45, 40, periods=[(25, 20), (20, 20)]), token=token))
    assert tallies(live) == [("Q1", 25, 20), ("Q2", 20, 20)]
    message = await stream.next_event()
    assert message is not None and message.event == "score"
    assert message.json == live  # spectators get the breakdown with the score

    quarters = [(25, 20), (20, 20), (20, 25), (15, 15), (10, 8)]
    final = ok(await live_api.put(path, score(90, 88, "final", quarters), token=token))
    assert [name for name, _, _ in tallies(final)] == ["Q1", "Q2", "Q3", "Q4", "OT1"]
    message = await stream.next_event()
    assert message is not None and message.event == "score" and message.json == final
    assert ok(await live_api.get(f"/api/v1/games/{game_id}")) == final
    listed = ok(await live_api.get(f"/api/v1/events/{event_id}/games"))["items"]
    assert listed[0]["periods"] == final["periods"]
    await stream.close()


async def test_periods_that_do_not_fit_are_refused(api: Api) -> None:
    token = await api.user("keeper@example.com")
    _, game_id, _ = await game_of(api, token, "football")
    path = f"/api/v1/games/{game_id}/score"
    cases: list[tuple[dict[str, Any], str]] = [
        (score(2, 1, periods=[(1, 0), (0, 0)]), "the periods add up to 1-0, not the score 2-1"),
        (score(0, 0, periods=[(0, 0)] * 6), "football allows at most 5 periods"),
        (score(3, 1, periods=[(1, 0), (1, 1), (1, 0)]), "ET 1st half is played only when the"),
    ]
    for body, message in cases:
        error = refused(await api.put(path, body, token=token))
        assert error["code"] == "validation_error"
        assert message in error["details"]["periods"][0], error
    negative = score(1, 0, periods=[(-1, 0)])
    details = refused(await api.put(path, negative, token=token))["details"]
    assert "home" in details["periods"]["0"]  # the first period's `home`
    assert ok(await api.get(f"/api/v1/games/{game_id}"))["status"] == "scheduled"  # untouched


async def test_a_set_sport_counts_sets_won(api: Api) -> None:
    token = await api.user("keeper@example.com")
    _, game_id, _ = await game_of(api, token, "volleyball")
    path = f"/api/v1/games/{game_id}/score"
    sets = [(25, 20), (22, 25), (25, 18), (25, 23)]
    summed = refused(await api.put(path, score(97, 86, "final", sets), token=token))
    assert "counts sets won, which the periods make 3-1" in summed["details"]["periods"][0]
    in_play = ok(await api.put(path, score(1, 1, periods=[*sets[:2], (10, 8)]), token=token))
    assert [p["name"] for p in in_play["periods"]] == ["Set 1", "Set 2", "Set 3"]
    final = ok(await api.put(path, score(3, 1, "final", sets), token=token))
    assert (final["home_score"], final["away_score"], len(final["periods"])) == (3, 1, 4)


async def test_a_shootout_decides_a_knockout_by_one(api: Api) -> None:
    token = await api.user("keeper@example.com")
    _, game_id, _ = await game_of(api, token, "ice hockey")
    body = score(2, 3, "final", [(1, 1), (0, 0), (1, 1), (0, 0)])
    body["periods"].append({"home": 1, "away": 2, "shootout": True})
    final = ok(await api.put(f"/api/v1/games/{game_id}/score", body, token=token))
    assert final["periods"][-1] == {"name": "Shootout", "home": 1, "away": 2, "shootout": True}
    assert "shootout" not in final["periods"][0]


async def test_omitted_periods_stay_while_the_score_does(api: Api) -> None:
    token = await api.user("keeper@example.com")
    _, game_id, _ = await game_of(api, token, "football")
    path = f"/api/v1/games/{game_id}/score"
    ok(await api.put(path, score(1, 0, periods=[(1, 0)]), token=token))
    final = ok(await api.put(path, score(1, 0, "final"), token=token))  # no periods sent
    assert tallies(final) == [("1st half", 1, 0)]
    # The identical final again, with or without them: 200, nothing changes.
    for body in (score(1, 0, "final"), score(1, 0, "final", [(1, 0)])):
        assert ok(await api.put(path, body, token=token))["version"] == final["version"]
    other = refused(await api.put(path, score(1, 0, "final", [(0, 0), (1, 0)]), token=token), 409)
    assert other["code"] == "final_locked"

    _, second, _ = await game_of(api, token, "netball")
    path = f"/api/v1/games/{second}/score"
    ok(await api.put(path, score(10, 8, periods=[(10, 8)]), token=token))
    changed = ok(await api.put(path, score(12, 8), token=token))  # they would not add up
    assert changed["periods"] == []


async def test_a_correction_may_fix_the_periods_and_reaches_spectators(
    live_api: Api, live_app: MatchdayApp
) -> None:
    await live_api.register("admin@example.com")
    await asyncio.to_thread(
        create_admin, live_app.config, "admin@example.com", STRONG_PASSWORD, "A"
    )
    admin = await live_api.login("admin@example.com")
    event_id, game_id, _ = await game_of(live_api, admin, "football")
    path = f"/api/v1/games/{game_id}/score"
    ok(await live_api.put(path, score(2, 1, "final", [(1, 0), (1, 1)]), token=admin))
    await live_app.settled()
    stream = await SseStream.open(live_api.base_url, f"/api/v1/events/{event_id}/stream")
    assert (await stream.next()).retry

    fix = f"/api/v1/admin/games/{game_id}/corrections"
    body = {"home_score": 2, "away_score": 1, "reason": "wrong half"}
    bad = refused(
        await live_api.post(fix, {**body, "periods": [{"home": 3, "away": 1}]}, token=admin)
    )
    assert "add up to 3-1" in bad["details"]["periods"][0]
    periods = [{"home": 2, "away": 0}, {"home": 0, "away": 1}]
    corrected = ok(await live_api.post(fix, {**body, "periods": periods}, token=admin))
    assert tallies(corrected) == [("1st half", 2, 0), ("2nd half", 0, 1)]
    message = await stream.next_event()
    assert message is not None and message.event == "correction"
    assert message.json == {"game": corrected, "reason": "wrong half"}
    await stream.close()

    # A correction of the score alone drops periods that no longer add up.
    rescored = ok(await live_api.post(fix, {**body, "home_score": 3}, token=admin))
    assert rescored["periods"] == []
    entries = ok(await live_api.get("/api/v1/admin/audit?action=game.correct", token=admin))
    details = [entry["details"] for entry in entries["items"]]
    assert any(d["new"].get("periods") == corrected["periods"] for d in details), details


async def test_only_the_final_result_counts_in_the_standings(
    live_api: Api, live_app: MatchdayApp
) -> None:
    token = await live_api.user("keeper@example.com")
    event_id, game_id, (lions, tigers) = await game_of(live_api, token, "football")
    path = f"/api/v1/games/{game_id}/score"
    # Lions led at half time; Tigers won the game.
    ok(await live_api.put(path, score(2, 0, periods=[(2, 0)]), token=token))
    ok(await live_api.put(path, score(2, 3, "final", [(2, 0), (0, 3)]), token=token))
    await live_app.settled()
    rows = ok(await live_api.get(f"/api/v1/events/{event_id}/standings"))["rows"]
    table = {row["team_id"]: row for row in rows}
    assert (table[tigers]["won"], table[tigers]["points"], table[tigers]["score_for"]) == (1, 3, 3)
    assert (table[lions]["lost"], table[lions]["points"], table[lions]["score_for"]) == (1, 0, 2)
    assert [row["team_id"] for row in rows] == [tigers, lions]


async def test_any_other_sport_has_numbered_periods_that_add_up(api: Api) -> None:
    token = await api.user("keeper@example.com")
    _, game_id, _ = await game_of(api, token, None)
    path = f"/api/v1/games/{game_id}/score"
    game = ok(await api.put(path, score(3, 2, periods=[(1, 1), (2, 1)]), token=token))
    assert tallies(game) == [("Period 1", 1, 1), ("Period 2", 2, 1)]
    error = refused(await api.put(path, score(3, 3, periods=[(1, 1), (2, 1)]), token=token))
    assert error["details"]["periods"] == ["the periods add up to 3-2, not the score 3-3"]
