"""Smoke test of the live stream in both run modes: game, score, standings, resume."""

from tests.sse_client import SseStream
from tests.support import Api


async def test_smoke(live_api: Api, live_app) -> None:
    token = await live_api.user("o@example.com")
    ev = (await live_api.post("/api/v1/events", {"name": "Cup"}, token=token)).json["id"]
    a = (await live_api.post(f"/api/v1/events/{ev}/teams", {"name": "A"}, token=token)).json["id"]
    b = (await live_api.post(f"/api/v1/events/{ev}/teams", {"name": "B"}, token=token)).json["id"]
    await live_app.dispatcher.idle()
    stream = await SseStream.open(live_api.base_url, f"/api/v1/events/{ev}/stream")
    assert stream.status == 200, stream.body
    first = await stream.next()
    assert first.retry == 3000
    g = (
        await live_api.post(
            f"/api/v1/events/{ev}/games", {"home_team_id": a, "away_team_id": b}, token=token
        )
    ).json["id"]
    m = await stream.next_event()
    assert m.event == "game", m
    await live_api.put(
        f"/api/v1/games/{g}/score",
        {"home_score": 1, "away_score": 0, "status": "final"},
        token=token,
    )
    m = await stream.next_event()
    assert m.event == "score" and m.json["home_score"] == 1
    m = await stream.next_event()
    assert m.event == "standings", m
    assert m.json["last_event_id"] == m.id
    table = (await live_api.get(f"/api/v1/events/{ev}/standings")).json
    assert table["last_event_id"] == m.id, table
    again = await SseStream.open(
        live_api.base_url, f"/api/v1/events/{ev}/stream", {"Last-Event-ID": "0-0"}
    )
    msgs = await again.events(5)
    assert [x.event for x in msgs] == ["standings", "standings", "game", "score", "standings"]
    await stream.close()
    await again.close()
