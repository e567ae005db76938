"""Cached reads (server/reads/): the event, its teams and games, and the events list come from
pre-serialised bytes, yet a private event is never shown to a caller who may not see it, and a
read sent after a write's answer shows that write, in the process that took the write and in
any other (two applications over one PostgreSQL and one Redis stand for `--processes 2`)."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest

from server.admin_cli import create_admin
from server.app import MatchdayApp
from server.content_coding import GZIP_MIN_BYTES
from server.reads.versions import RedisVersions
from tests.support import (
    STRONG_PASSWORD,
    Api,
)

SCHEDULE = {"format": "round_robin", "starts_at": "2026-06-01T15:00:00Z", "interval_minutes": 90}


async def _event(
    api: Api,
    token: str,
    visibility: str,
    name: str = "Cup",
    teams: tuple[str, ...] = ("Lions", "Tigers", "Bears"),
) -> int:
    reply = await api.post("/api/v1/events", {"name": name, "visibility": visibility}, token=token)
    assert reply.status == 201, reply.body
    event_id: int = reply.json["id"]
    for team in teams:
        added = await api.post(f"/api/v1/events/{event_id}/teams", {"name": team}, token=token)
        assert added.status == 201, added.body
    scheduled = await api.post(f"/api/v1/events/{event_id}/schedule", SCHEDULE, token=token)
    assert scheduled.status == 201, scheduled.body
    return event_id


async def _admin(api: Api, app: MatchdayApp, email: str) -> str:
    await api.register(email)
    await asyncio.to_thread(create_admin, app.config, email, STRONG_PASSWORD, "Admin")
    return await api.login(email)


def _paths(event_id: int) -> list[str]:
    base = f"/api/v1/events/{event_id}"
    return [base, f"{base}/teams", f"{base}/games", f"{base}/games?status=scheduled"]


async def _listed(api: Api, token: str | None = None) -> set[int]:
    reply = await api.get("/api/v1/events?per_page=200", token=token)
    assert reply.status == 200, reply.body
    return {event["id"] for event in reply.json["items"]}


async def test_a_cached_private_event_is_shown_only_to_those_who_may_see_it(
    live_app: MatchdayApp, live_api: Api
) -> None:
    api = live_api
    owner = await api.user("owner@example.com")
    other = await api.user("other@example.com")
    keeper_user = await api.register("keeper@example.com")
    keeper = await api.login("keeper@example.com")
    admin = await _admin(api, live_app, "admin@example.com")
    private = await _event(api, owner, "private", "Secret Cup")
    public = await _event(api, owner, "public", "Open Cup")

    # Anonymous first (nothing cached yet), then every caller twice: the second read of each
    # is served from the cache the others' reads filled.
    for _ in range(2):
        for path in _paths(private):
            for token in (None, other, keeper):
                assert (await api.get(path, token=token)).status == 404, (path, token)
            for token in (owner, admin):
                reply = await api.get(path, token=token)
                assert reply.status == 200, (path, reply.body)
                assert reply.headers["Cache-Control"] == "private, no-cache"
        for path in _paths(public):
            reply = await api.get(path)
            assert reply.status == 200
            assert reply.headers["Cache-Control"] == "no-cache"
    assert live_app.read_cache.wants(private), "the private event's reads were cached"

    # Named a scorekeeper: the next read (cached bytes) is allowed at once; others still not.
    named = await api.post(
        f"/api/v1/events/{private}/scorekeepers", {"user_id": keeper_user["id"]}, token=owner
    )
    assert named.status == 201
    for path in _paths(private):
        assert (await api.get(path, token=keeper)).status == 200
        assert (await api.get(path, token=other)).status == 404
        assert (await api.get(path)).status == 404

    # The list: the anonymous (cached) list never holds the private event; its owner's, its
    # scorekeeper's and an admin's do, before and after the anonymous list was cached.
    for _ in range(2):
        assert await _listed(api) == {public}
        assert await _listed(api, other) == {public}
        for token in (owner, keeper, admin):
            assert await _listed(api, token) == {public, private}

    # Made public, then private again: every caller sees the change on the next read.
    for visibility, anonymous in (("public", 200), ("private", 404)):
        changed = await api.patch(
            f"/api/v1/events/{private}", {"visibility": visibility}, token=owner
        )
        assert changed.status == 200
        for path in _paths(private):
            assert (await api.get(path)).status == anonymous
            assert (await api.get(path, token=other)).status == anonymous
        assert (private in await _listed(api)) == (anonymous == 200)


async def test_a_read_after_a_write_shows_it_with_a_new_etag(
    live_app: MatchdayApp, live_api: Api
) -> None:
    api = live_api
    owner = await api.user("owner@example.com")
    event_id = await _event(api, owner, "public")
    games = f"/api/v1/events/{event_id}/games"
    first = await api.get(games)
    game = first.json["items"][0]
    etag = first.headers["ETag"]
    again = await api.get(games, headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b""

    for home, away in ((1, 0), (2, 0), (2, 1)):
        put = await api.put(
            f"/api/v1/games/{game['id']}/score",
            {"home_score": home, "away_score": away, "status": "live"},
            token=owner,
        )
        assert put.status == 200, put.body
        reply = await api.get(games, headers={"If-None-Match": etag})
        assert reply.status == 200, "the old ETag no longer matches"
        shown = next(g for g in reply.json["items"] if g["id"] == game["id"])
        assert (shown["home_score"], shown["away_score"]) == (home, away)
        assert reply.headers["ETag"] != etag
        etag = reply.headers["ETag"]

    # The event's own row: the event, and the list, show the new name at once.
    await api.get(f"/api/v1/events/{event_id}")
    await api.get("/api/v1/events")
    renamed = await api.patch(f"/api/v1/events/{event_id}", {"name": "Renamed"}, token=owner)
    assert renamed.status == 200
    assert (await api.get(f"/api/v1/events/{event_id}")).json["name"] == "Renamed"
    assert [e["name"] for e in (await api.get("/api/v1/events")).json["items"]] == ["Renamed"]

    # A new team: the teams pages show it at once.
    teams = f"/api/v1/events/{event_id}/teams"
    assert (await api.get(teams)).json["total"] == 3
    await api.post(teams, {"name": "Wolves"}, token=owner)
    assert (await api.get(teams)).json["total"] == 4

    # A new event: the list shows it at once.
    await _event(api, owner, "public", "Second")
    assert len(await _listed(api)) == 2


async def test_reads_go_to_the_database_when_versions_cannot_be_read(
    live_app: MatchdayApp, live_api: Api
) -> None:
    """No version store (Redis away): no cached bytes are trusted; reads stay right."""
    api = live_api
    owner = await api.user("owner@example.com")
    event_id = await _event(api, owner, "public")
    games = f"/api/v1/events/{event_id}/games"
    game = (await api.get(games)).json["items"][0]
    working = live_app.reads.versions
    live_app.reads.versions = RedisVersions("redis://127.0.0.1:1/0", "nowhere:")
    try:
        await api.put(
            f"/api/v1/games/{game['id']}/score",
            {"home_score": 3, "away_score": 3, "status": "live"},
            token=owner,
        )
        reply = await api.get(games)
        assert reply.status == 200
        shown = next(g for g in reply.json["items"] if g["id"] == game["id"])
        assert shown["home_score"] == 3
    finally:
        await live_app.reads.versions.close()
        live_app.reads.versions = working


# --- two processes ---------------------------------------------------------------------


def _score(reply: Any, game_id: int) -> tuple[int, int]:
    game = next(g for g in reply.json["items"] if g["id"] == game_id)
    return game["home_score"], game["away_score"]


@pytest.mark.postgres
async def test_a_write_through_one_process_is_read_at_once_through_the_other(
    two_processes: tuple[MatchdayApp, Api, Api],
) -> None:
    app_a, api_a, api_b = two_processes
    owner = await api_a.user("owner@example.com")
    event_id = await _event(api_a, owner, "public")
    games = f"/api/v1/events/{event_id}/games"
    game_id = (await api_b.get(games)).json["items"][0]["id"]
    await api_b.get(f"/api/v1/events/{event_id}")
    await api_b.get("/api/v1/events")  # B has the event, its games and the list cached

    for goals in range(1, 6):
        put = await api_a.put(
            f"/api/v1/games/{game_id}/score",
            {"home_score": goals, "away_score": 0, "status": "live"},
            token=owner,
        )
        assert put.status == 200
        # No waiting: B's very next read shows the write A just answered.
        assert _score(await api_b.get(games), game_id) == (goals, 0)

    hidden = await api_a.patch(f"/api/v1/events/{event_id}", {"visibility": "private"}, token=owner)
    assert hidden.status == 200
    assert (await api_b.get(f"/api/v1/events/{event_id}")).status == 404
    assert (await api_b.get(games)).status == 404
    assert (await api_b.get("/api/v1/events")).json["items"] == []
    assert (await api_b.get(games, token=owner)).status == 200
    assert app_a.read_cache.enabled


async def _raw_get(api: Api, path: str, headers: dict[str, str]) -> Any:
    """A GET whose body is left as sent (the test client otherwise asks for gzip and
    decompresses on its own)."""
    request = HTTPRequest(api.base_url + path, headers=headers, decompress_response=False)
    return await api.http.fetch(request, raise_error=False)


async def test_a_browser_gets_the_cached_bytes_gzipped_and_revalidates_them(
    live_app: MatchdayApp, live_api: Api
) -> None:
    api = live_api
    owner = await api.user("owner@example.com")
    eight = ("Lions", "Tigers", "Bears", "Wolves", "Eagles", "Sharks", "Hawks", "Foxes")
    event_id = await _event(api, owner, "public", teams=eight)  # 28 games: ~7 KB of JSON
    games = f"/api/v1/events/{event_id}/games"
    plain = await _raw_get(api, games, {"Accept-Encoding": "identity"})
    packed = await _raw_get(api, games, {"Accept-Encoding": "br;q=1.0, gzip;q=0.8"})
    assert plain.code == packed.code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.body) == plain.body, "the same JSON, fewer bytes"
    assert len(packed.body) < len(plain.body)
    for reply in (plain, packed):
        assert "Accept-Encoding" in reply.headers.get_list("Vary")
    assert packed.headers["ETag"] != plain.headers["ETag"], "two representations, two tags"

    # Each representation revalidates with its own tag; the other's tag is not a match.
    gz_tag, plain_tag = packed.headers["ETag"], plain.headers["ETag"]
    gz_again = await _raw_get(api, games, {"Accept-Encoding": "gzip", "If-None-Match": gz_tag})
    assert gz_again.code == 304 and "Content-Encoding" not in gz_again.headers
    crossed = await _raw_get(api, games, {"Accept-Encoding": "gzip", "If-None-Match": plain_tag})
    assert crossed.code == 200 and crossed.headers["Content-Encoding"] == "gzip"

    # A refusal of gzip is honoured; after a write, the gzipped bytes are the new ones.
    refused = await _raw_get(api, games, {"Accept-Encoding": "gzip;q=0, *"})
    assert "Content-Encoding" not in refused.headers and refused.body == plain.body
    game = json.loads(plain.body)["items"][0]
    put = await api.put(
        f"/api/v1/games/{game['id']}/score",
        {"home_score": 3, "away_score": 1, "status": "live"},
        token=owner,
    )
    assert put.status == 200, put.body
    after = await _raw_get(api, games, {"Accept-Encoding": "gzip", "If-None-Match": gz_tag})
    assert after.code == 200 and after.headers["ETag"] != gz_tag
    shown = next(
        g for g in json.loads(gzip.decompress(after.body))["items"] if g["id"] == game["id"]
    )
    assert (shown["home_score"], shown["away_score"]) == (3, 1)

    # Standings come gzipped too, with their own tag (once the table has all 8 teams: the
    # recompute after the schedule runs in the background).
    await live_app.settled()
    table = f"/api/v1/events/{event_id}/standings"
    plain_table = await _raw_get(api, table, {})
    packed_table = await _raw_get(api, table, {"Accept-Encoding": "gzip"})
    assert len(json.loads(plain_table.body)["rows"]) == 8
    assert len(plain_table.body) >= GZIP_MIN_BYTES, "8 rows are worth compressing"
    assert packed_table.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed_table.body) == plain_table.body
    assert packed_table.headers["ETag"] != plain_table.headers["ETag"]
