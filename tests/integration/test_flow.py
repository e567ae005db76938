"""The whole organiser → scorekeeper → spectator flow through the REST API, on both backends."""

from __future__ import annotations

import asyncio

from server.app import MatchdayApp
from server.live.streams import is_valid_id
from tests.support import Api


async def _event_with_teams(
    api: Api, token: str, names: list[str], **event: object
) -> tuple[int, dict[str, int]]:
    reply = await api.post("/api/v1/events", {"name": "Summer Cup", **event}, token=token)
    assert reply.status == 201, reply.body
    event_id = reply.json["id"]
    teams = {}
    for name in names:
        team = await api.post(f"/api/v1/events/{event_id}/teams", {"name": name}, token=token)
        assert team.status == 201, team.body
        teams[name] = team.json["id"]
    return event_id, teams


async def _game(api: Api, token: str, event_id: int, home: int, away: int) -> int:
    reply = await api.post(
        f"/api/v1/events/{event_id}/games",
        {"home_team_id": home, "away_team_id": away},
        token=token,
    )
    assert reply.status == 201, reply.body
    return reply.json["id"]


async def _final(api: Api, token: str, game_id: int, home: int, away: int) -> dict:
    reply = await api.put(
        f"/api/v1/games/{game_id}/score",
        {"home_score": home, "away_score": away, "status": "final"},
        token=token,
    )
    assert reply.status == 200, reply.body
    return reply.json


async def _standings(api: Api, app: MatchdayApp, event_id: int) -> dict:
    await app.settled()
    reply = await api.get(f"/api/v1/events/{event_id}/standings")
    assert reply.status == 200
    return reply.json


async def test_full_flow_register_to_standings(api: Api, app: MatchdayApp) -> None:
    user = await api.register("org@example.com", name="Organiser")
    assert user["role"] == "user"
    token = await api.login("org@example.com")
    me = await api.get("/api/v1/me", token=token)
    assert me.json == user

    event_id, _teams = await _event_with_teams(api, token, ["Lions", "Tigers", "Bears", "Wolves"])
    schedule = await api.post(
        f"/api/v1/events/{event_id}/schedule",
        {
            "format": "round_robin",
            "starts_at": "2026-06-01T15:00:00Z",
            "interval_minutes": 90,
            "venues": ["North", "South"],
        },
        token=token,
    )
    assert schedule.status == 201
    games = schedule.json["games"]
    assert len(games) == 6
    assert {g["round"] for g in games} == {1, 2, 3}
    assert all(g["status"] == "scheduled" and g["venue"] in {"North", "South"} for g in games)

    for game in games:
        await _final(api, token, game["id"], 2, 1)  # the home side always wins 2-1
    table = await _standings(api, app, event_id)
    assert table["event_id"] == event_id
    assert is_valid_id(table["last_event_id"])  # the live stream carried this table
    assert sum(row["played"] for row in table["rows"]) == 12
    assert sum(row["points"] for row in table["rows"]) == 6 * 3
    ranks = [row["rank"] for row in table["rows"]]
    assert ranks == sorted(ranks) and ranks[0] == 1

    listed = await api.get(f"/api/v1/events/{event_id}/games?status=final&per_page=2&page=2")
    assert listed.json["total"] == 6 and listed.json["page"] == 2 and len(listed.json["items"]) == 2
    # A fixture list is drawable without a second request: each game names its two teams.
    names = {row["team_id"]: row["team_name"] for row in table["rows"]}
    for game in listed.json["items"]:
        assert game["home_team_name"] == names[game["home_team_id"]]
        assert game["away_team_name"] == names[game["away_team_id"]]
    spec = (await api.get("/api/v1/openapi.json")).json
    game_fields = spec["components"]["schemas"]["Game"]["properties"]
    assert {"home_team_name", "away_team_name"} <= set(game_fields)


async def test_standings_apply_tiebreakers_and_share_ranks(api: Api, app: MatchdayApp) -> None:
    token = await api.user("org@example.com")
    event_id, t = await _event_with_teams(api, token, ["alpha", "Bravo", "Charlie", "Delta"])
    # A cycle: alpha beats Bravo, Bravo beats Charlie, Charlie beats alpha, all 1-0.
    # Delta loses everything. Three teams on 3 points, identical in every criterion.
    for home, away in [("alpha", "Bravo"), ("Bravo", "Charlie"), ("Charlie", "alpha")]:
        await _final(api, token, await _game(api, token, event_id, t[home], t[away]), 1, 0)
    for other in ["alpha", "Bravo", "Charlie"]:
        await _final(api, token, await _game(api, token, event_id, t[other], t["Delta"]), 0, 0)
    rows = (await _standings(api, app, event_id))["rows"]
    assert [(r["team_name"], r["rank"], r["points"]) for r in rows] == [
        ("alpha", 1, 4),
        ("Bravo", 1, 4),
        ("Charlie", 1, 4),
        ("Delta", 4, 3),
    ]


async def test_head_to_head_first_decides_level_teams(api: Api, app: MatchdayApp) -> None:
    token = await api.user("org@example.com")
    event_id, t = await _event_with_teams(
        api,
        token,
        ["Atletico", "Barcelona", "Minnows", "Novices"],
        tiebreakers=["head_to_head", "score_diff"],
    )
    # Atletico and Barcelona finish on 6 points; Barcelona won their meeting, Atletico has
    # by far the better goal difference. Head-to-head comes first, so Barcelona leads.
    results = [
        ("Barcelona", "Atletico", 1, 0),
        ("Atletico", "Minnows", 9, 0),
        ("Atletico", "Novices", 5, 0),
        ("Barcelona", "Minnows", 1, 0),
    ]
    for home, away, home_score, away_score in results:
        game_id = await _game(api, token, event_id, t[home], t[away])
        await _final(api, token, game_id, home_score, away_score)
    rows = (await _standings(api, app, event_id))["rows"]
    assert [(r["team_name"], r["rank"], r["points"]) for r in rows] == [
        ("Barcelona", 1, 6),
        ("Atletico", 2, 6),
        ("Novices", 3, 0),
        ("Minnows", 4, 0),
    ]


async def test_groups_get_one_table_each(api: Api, app: MatchdayApp) -> None:
    token = await api.user("org@example.com")
    reply = await api.post("/api/v1/events", {"name": "World Cup"}, token=token)
    event_id = reply.json["id"]
    for name, group in [("A1", "A"), ("A2", "A"), ("B1", "B"), ("B2", "B")]:
        await api.post(
            f"/api/v1/events/{event_id}/teams", {"name": name, "group": group}, token=token
        )
    schedule = await api.post(
        f"/api/v1/events/{event_id}/schedule", {"format": "round_robin"}, token=token
    )
    games = schedule.json["games"]
    assert len(games) == 2  # one game per group, never across groups
    for game in games:
        await _final(api, token, game["id"], 3, 0)
    rows = (await _standings(api, app, event_id))["rows"]
    assert [(r["group"], r["rank"]) for r in rows] == [("A", 1), ("A", 2), ("B", 1), ("B", 2)]


async def test_custom_scoring_and_recompute_on_change(api: Api, app: MatchdayApp) -> None:
    token = await api.user("org@example.com")
    event_id, t = await _event_with_teams(
        api, token, ["Home", "Away"], scoring={"win": 2, "draw": 1, "loss": 0}
    )
    await _final(api, token, await _game(api, token, event_id, t["Home"], t["Away"]), 5, 4)
    assert (await _standings(api, app, event_id))["rows"][0]["points"] == 2
    patched = await api.patch(
        f"/api/v1/events/{event_id}", {"scoring": {"win": 3, "draw": 1, "loss": 0}}, token=token
    )
    assert patched.status == 200 and patched.json["scoring"]["win"] == 3
    assert (await _standings(api, app, event_id))["rows"][0]["points"] == 3


async def test_single_elimination_draws_next_rounds(api: Api, app: MatchdayApp) -> None:
    token = await api.user("org@example.com")
    names = ["S1", "S2", "S3", "S4", "S5"]
    event_id, t = await _event_with_teams(api, token, names)
    reply = await api.post(
        f"/api/v1/events/{event_id}/schedule",
        {"format": "single_elimination", "seeds": [t[n] for n in names]},
        token=token,
    )
    assert reply.status == 201
    first = reply.json["games"]
    assert len(first) == 1  # 5 teams in an 8-slot bracket: three byes, one game (4 v 5)
    assert {first[0]["home_team_id"], first[0]["away_team_id"]} == {t["S4"], t["S5"]}
    await _final(api, token, first[0]["id"], 0, 1)  # S5 upsets S4
    second = (await api.get(f"/api/v1/events/{event_id}/games?round=2")).json["items"]
    pairs = {frozenset((g["home_team_id"], g["away_team_id"])) for g in second}
    assert pairs == {frozenset((t["S1"], t["S5"])), frozenset((t["S2"], t["S3"]))}
    for game in second:
        await _final(api, token, game["id"], 2, 0)
    final = (await api.get(f"/api/v1/events/{event_id}/games?round=3")).json["items"]
    assert len(final) == 1
    assert {final[0]["home_team_id"], final[0]["away_team_id"]} == {t["S1"], t["S2"]}


async def test_score_is_idempotent_and_versioned(api: Api, app: MatchdayApp) -> None:
    token = await api.user("org@example.com")
    event_id, t = await _event_with_teams(api, token, ["Home", "Away"])
    game_id = await _game(api, token, event_id, t["Home"], t["Away"])
    path = f"/api/v1/games/{game_id}/score"
    live = {"home_score": 1, "away_score": 0, "status": "live"}
    first = await api.put(
        path, live, token=token, headers={"Idempotency-Key": "goal-1", "If-Match": '"1"'}
    )
    assert first.status == 200 and first.json["version"] == 2
    again = await api.put(
        path, live, token=token, headers={"Idempotency-Key": "goal-1", "If-Match": '"1"'}
    )
    assert again.status == 200 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    stale = await api.put(path, {**live, "home_score": 2}, token=token, headers={"If-Match": '"1"'})
    assert stale.status == 409 and stale.error_code() == "version_conflict"
    game = await api.get(f"/api/v1/games/{game_id}")
    assert game.json["home_score"] == 1 and game.json["version"] == 2
    assert game.headers["ETag"] == '"2"'


async def test_concurrent_retries_of_one_key_apply_once(api: Api, app: MatchdayApp) -> None:
    token = await api.user("org@example.com")
    event_id, t = await _event_with_teams(api, token, ["Home", "Away"])
    game_id = await _game(api, token, event_id, t["Home"], t["Away"])
    body = {"home_score": 3, "away_score": 2, "status": "final"}
    replies = await asyncio.gather(
        *[
            api.put(
                f"/api/v1/games/{game_id}/score",
                body,
                token=token,
                headers={"Idempotency-Key": "k"},
            )
            for _ in range(5)
        ]
    )
    assert [r.status for r in replies] == [200] * 5
    assert {r.json["version"] for r in replies} == {2}


async def test_burst_of_scores_is_coalesced(api: Api, app: MatchdayApp) -> None:
    token = await api.user("org@example.com")
    names = [f"Team {i:02d}" for i in range(12)]
    event_id, _teams = await _event_with_teams(api, token, names)
    await app.settled()
    games = (
        await api.post(
            f"/api/v1/events/{event_id}/schedule", {"format": "round_robin"}, token=token
        )
    ).json["games"]
    runs_before = app.dispatcher.runs
    # 16 scorekeepers at a time: all 66 at once queue on SQLite's write lock (every
    # transaction, the token check's too, begins IMMEDIATE) for longer than its 5 s busy
    # timeout on a loaded machine, and the last of them get 503 (or 500, from prepare()).
    at_once = asyncio.Semaphore(16)

    async def post_final(game_id: int) -> None:
        async with at_once:
            await _final(api, token, game_id, 1, 0)

    await asyncio.gather(*[post_final(g["id"]) for g in games])
    table = await _standings(api, app, event_id)
    assert sum(row["played"] for row in table["rows"]) == 2 * len(games)
    assert app.dispatcher.runs - runs_before < len(games)


async def test_readiness_and_liveness(api: Api) -> None:
    assert (await api.get("/healthz")).status == 200
    ready = await api.get("/readyz")
    assert ready.status == 200 and ready.json["checks"]["database"] == "ok"
