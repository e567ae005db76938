"""Smoke test of the live stream in both run modes: game, score, standings, resume."""

import asyncio
import json

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from server.live.streams import parse_id
from tests.sse_client import SseStream
from tests.support import Api, eventually


async def test_smoke(live_api: Api, live_app) -> None:
    token = await live_api.user("o@example.com")
    ev = (await live_api.post("/api/v1/events", {"name": "Cup"}, token=token)).json["id"]
    a = (await live_api.post(f"/api/v1/events/{ev}/teams", {"name": "A"}, token=token)).json["id"]
    b = (await live_api.post(f"/api/v1/events/{ev}/teams", {"name": "B"}, token=token)).json["id"]
    await live_app.settled()
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
    # The snapshot notes its message id just after publishing it: a read in between sees the
    # previous id, which only means one harmless replay. Never a later id than the table's.
    assert table["version"] == m.json["version"], table
    assert parse_id(table["last_event_id"]) <= parse_id(m.id), table
    again = await SseStream.open(
        live_api.base_url, f"/api/v1/events/{ev}/stream", {"Last-Event-ID": "0-0"}
    )
    msgs = await again.events(5)
    assert [x.event for x in msgs] == ["standings", "standings", "game", "score", "standings"]
    await stream.close()
    await again.close()


async def test_http11_clients_get_well_framed_chunks(live_api: Api, live_app) -> None:
    """Browsers speak HTTP/1.1: the hub's direct writes must keep Tornado's chunked framing."""
    token = await live_api.user("o@example.com")
    ev = (await live_api.post("/api/v1/events", {"name": "Cup"}, token=token)).json["id"]
    a = (await live_api.post(f"/api/v1/events/{ev}/teams", {"name": "A"}, token=token)).json["id"]
    b = (await live_api.post(f"/api/v1/events/{ev}/teams", {"name": "B"}, token=token)).json["id"]
    await live_app.settled()
    received: list[bytes] = []
    request = HTTPRequest(
        f"{live_api.base_url}/api/v1/events/{ev}/stream",
        streaming_callback=received.append,
        request_timeout=10,
    )
    client = AsyncHTTPClient(force_instance=True)
    fetch = asyncio.ensure_future(client.fetch(request, raise_error=False))
    try:
        await eventually(lambda: _has(received, b"retry:"))
        body = {"home_team_id": a, "away_team_id": b}
        await live_api.post(f"/api/v1/events/{ev}/games", body, token=token)
        await eventually(lambda: _has(received, b"event: game\n"))
        text = b"".join(received).decode()
        game_frame = text[text.index("id: ") :]
        assert game_frame.startswith("id: ") and "\nevent: game\ndata: {" in game_frame
        assert json.loads(game_frame.split("data: ", 1)[1].split("\n", 1)[0])["event_id"] == ev
    finally:
        client.close()  # ends the stream; the fetch fails, which is expected here
        fetch.cancel()


async def _has(chunks: list[bytes], needle: bytes) -> bool:
    return needle in b"".join(chunks)
