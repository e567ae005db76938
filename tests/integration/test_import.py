"""CSV import and export over HTTP, on both backends (the format: docs/import.md)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from server.admin_cli import create_admin
from server.app import MatchdayApp
from tests.sse_client import SseStream
from tests.support import STRONG_PASSWORD, Api, Reply

HEADER = "kind,name,group,home,away,starts_at,venue,round,home_score,away_score,status"
CSV_HEADERS = {"Content-Type": "text/csv; charset=utf-8"}
INJECTION = '=HYPERLINK("http://x")'


# --- helpers -------------------------------------------------------------------------------


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body[:2000])
    return reply.json


def error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.body[:2000])
    body = reply.json["error"]
    assert code is None or body["code"] == code, body
    assert body["request_id"] == reply.headers["X-Request-ID"]
    return body


def csv_text(*rows: str) -> str:
    return "\r\n".join([HEADER, *rows]) + "\r\n"


async def event(api: Api, token: str, **fields: Any) -> int:
    return ok(await api.post("/api/v1/events", {"name": "Cup", **fields}, token=token), 201)["id"]


async def upload(
    api: Api, token: str | None, event_id: int, body: str | bytes, **headers: str
) -> Reply:
    raw = body.encode() if isinstance(body, str) else body
    return await api.post(
        f"/api/v1/events/{event_id}/import",
        raw=raw,
        token=token,
        headers={**CSV_HEADERS, **headers},
    )


async def listing(api: Api, token: str | None, event_id: int, what: str) -> list[dict]:
    reply = await api.get(f"/api/v1/events/{event_id}/{what}?per_page=200", token=token)
    return ok(reply)["items"]


async def export(api: Api, token: str | None, event_id: int) -> Reply:
    return await api.get(f"/api/v1/events/{event_id}/export.csv", token=token)


def rows_of(reply: Reply) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(reply.body.decode("utf-8"), newline="")))


async def admin_token(api: Api, app: MatchdayApp, email: str = "admin@example.com") -> str:
    await api.register(email)
    await asyncio.to_thread(create_admin, app.config, email, STRONG_PASSWORD, "Admin")
    return await api.login(email)


def league_csv() -> str:
    return csv_text(
        "team,Lions,A,,,,,,,,",
        "team,Tigres Ñandú,A,,,,,,,,",
        'team,"Bears, the",B,,,,,,,,',
        "team,Wolves,B,,,,,,,,",
        'game,,,lions,Tigres Ñandú,2025-06-01T18:00:00+02:00,"Arena, North",1,2,1,final',
        'game,,,"BEARS, THE  ",Wolves,2025-06-01T20:00:00Z,,1,0,0,live',
        "game,,,Lions,Wolves,,,2,,,",
        "game,,,Wolves,Tigres Ñandú,,,2,,,scheduled",
    )


# --- import -------------------------------------------------------------------------------


async def test_import_creates_teams_and_games(api: Api, app: MatchdayApp) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    stream = await SseStream.open(api.base_url, f"/api/v1/events/{event_id}/stream")
    try:
        assert stream.status == 200
        # A BOM, CRLF line ends, quoted commas, non-ASCII names, names matched ignoring case.
        reply = await upload(api, token, event_id, "\ufeff" + league_csv())
        created = ok(reply, 201)
        published = await stream.events(4, timeout=10)
    finally:
        await stream.close()

    teams = {team["name"]: team for team in created["teams"]}
    assert list(teams) == ["Lions", "Tigres Ñandú", "Bears, the", "Wolves"]
    assert teams["Bears, the"]["group"] == "B"
    assert all(team["event_id"] == event_id for team in teams.values())
    games = created["games"]
    assert [(g["home_team_id"], g["away_team_id"]) for g in games] == [
        (teams["Lions"]["id"], teams["Tigres Ñandú"]["id"]),
        (teams["Bears, the"]["id"], teams["Wolves"]["id"]),
        (teams["Lions"]["id"], teams["Wolves"]["id"]),
        (teams["Wolves"]["id"], teams["Tigres Ñandú"]["id"]),
    ]
    first = games[0]
    assert first["starts_at"] == "2025-06-01T16:00:00Z"
    assert (first["venue"], first["round"]) == ("Arena, North", 1)
    assert (first["home_score"], first["away_score"], first["status"]) == (2, 1, "final")
    assert [g["status"] for g in games] == ["final", "live", "scheduled", "scheduled"]
    assert games[2]["home_score"] is None and games[2]["starts_at"] is None

    assert await listing(api, None, event_id, "teams") == created["teams"]
    assert await listing(api, None, event_id, "games") == sorted(
        games, key=lambda g: (g["round"], g["starts_at"] or "", g["id"])
    )
    assert [m.event for m in published] == ["game"] * 4
    assert [m.json for m in published] == games

    await app.settled()
    table = ok(await api.get(f"/api/v1/events/{event_id}/standings"))
    points = {row["team_name"]: row["points"] for row in table["rows"]}
    assert points == {"Lions": 3, "Tigres Ñandú": 0, "Bears, the": 0, "Wolves": 0}

    admin = await admin_token(api, app)
    audit = ok(await api.get("/api/v1/admin/audit?action=import.run", token=admin))["items"]
    assert len(audit) == 1
    entry = audit[0]
    assert (entry["target_type"], entry["target_id"]) == ("event", event_id)
    assert entry["details"]["teams"] == 4 and entry["details"]["games"] == 4
    assert entry["details"]["final_games"] == 1
    assert entry["request_id"] == reply.headers["X-Request-ID"]


async def test_the_response_and_events_are_what_the_schemas_give_byte_for_byte(
    api: Api,
) -> None:
    """An import serialises its rows itself, off the loop (not with marshmallow): the bytes
    must be those of TeamSchema and GameSchema dumps written by write_json, as the listings
    give them."""
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    ok(await api.post(f"/api/v1/events/{event_id}/teams", {"name": "Ötztal"}, token=token), 201)
    body = (
        league_csv() + 'game,,,Ötztal,Lions,2025-06-02T09:15:30.250000-03:30,"Café ""Z""",,,,\r\n'
    )
    stream = await SseStream.open(api.base_url, f"/api/v1/events/{event_id}/stream")
    try:
        reply = await upload(api, token, event_id, body)
        ok(reply, 201)
        published = []  # after the new team's `standings`
        while len(published) < 5:
            message = await stream.next_event(timeout=10)
            assert message is not None
            if message.event == "game":
                published.append(message.data)
    finally:
        await stream.close()

    teams = [t for t in await listing(api, token, event_id, "teams") if t["name"] != "Ötztal"]
    games = sorted(await listing(api, token, event_id, "games"), key=lambda g: g["id"])
    assert games[-1]["starts_at"] == "2025-06-02T12:45:30.250000Z"
    assert games[-1]["venue"] == 'Café "Z"'
    expected = {"teams": teams, "games": games}
    assert reply.body == json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode()
    assert published == [
        json.dumps(game, separators=(",", ":"), ensure_ascii=False) for game in games
    ]


async def test_games_may_use_teams_already_in_the_event(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    ok(await api.post(f"/api/v1/events/{event_id}/teams", {"name": "Lions"}, token=token), 201)
    body = csv_text("team,Tigers,,,,,,,,,", "game,,,LIONS,Tigers,,,,,,")
    reply = await upload(api, token, event_id, body)
    created = ok(reply, 201)
    assert [team["name"] for team in created["teams"]] == ["Tigers"]
    assert len(created["games"]) == 1


async def test_a_late_error_stores_nothing(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    rows = [f"team,Team {i},,,,,,,,," for i in range(60)]
    rows += [f"game,,,Team {i},Team {i + 1},,,1,,," for i in range(59)]
    rows.append("game,,,Team 1,Team 2,,,1,3,-1,final")  # the very last row is wrong
    reply = await upload(api, token, event_id, csv_text(*rows))
    body = error(reply, 422, "invalid_csv")
    assert body["details"]["errors"] == [
        {
            "row": 121,
            "column": "away_score",
            "message": "Must be greater than or equal to 0 and less than or equal to 100000.",
        }
    ]
    assert await listing(api, token, event_id, "teams") == []
    assert await listing(api, token, event_id, "games") == []


async def test_every_problem_is_reported_with_row_and_column(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    ok(await api.post(f"/api/v1/events/{event_id}/teams", {"name": "Lions"}, token=token), 201)
    reply = await upload(
        api,
        token,
        event_id,
        csv_text(
            "team,LIONS,,,,,,,,,",  # 2: taken (case-insensitively) by an existing team
            "team,Tigers,,,,,,,,,",
            "team,tigers,,,,,,,,,",  # 4: twice in the file
            "game,,,Lions,Lions,,,,,,",  # 5: plays itself
            "game,,,Lions,Nobody,,,,,,",  # 6: unknown team
            "game,,,Lions,Tigers,2025-06-01 18:00,,0,1,x,final",  # 7: three bad cells
            "match,,,,,,,,,,",  # 8: unknown kind
            "team,Bears",  # 9: too few cells
            "game,,,Lions,Tigers,,,,,,done",  # 10: unknown status
        ),
    )
    errors = error(reply, 422, "invalid_csv")["details"]["errors"]
    found = {(e["row"], e["column"]) for e in errors}
    assert found == {
        (2, "name"),
        (4, "name"),
        (5, "away"),
        (6, "away"),
        (7, "starts_at"),
        (7, "round"),
        (7, "away_score"),
        (8, "kind"),
        (9, None),
        (10, "status"),
    }
    assert [(e["row"], e["column"]) for e in errors] == sorted(
        found, key=lambda rc: (rc[0], HEADER.split(",").index(rc[1]) if rc[1] else -1)
    )
    assert all(e["message"] for e in errors)
    assert [team["name"] for team in await listing(api, token, event_id, "teams")] == ["Lions"]


async def test_field_rules_match_the_json_api(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    reply = await upload(
        api,
        token,
        event_id,
        csv_text(
            f"team,{'x' * 101},,,,,,,,,",
            "team,Bad\u0007Name,,,,,,,,,",
            f"team,Ok,{'g' * 51},,,,,,,,",
        ),
    )
    errors = error(reply, 422, "invalid_csv")["details"]["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "name"), (3, "name"), (4, "group")]
    assert "control characters" in errors[1]["message"]


async def test_invalid_utf8_is_refused_with_its_row(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    body = (csv_text("team,Lions,,,,,,,,,") + "team,Caf\xe9,,,,,,,,,\r\n").encode("latin-1")
    errors = error(await upload(api, token, event_id, body), 422, "invalid_csv")
    assert errors["details"]["errors"][0]["row"] == 3
    assert "UTF-8" in errors["details"]["errors"][0]["message"]


async def test_errors_are_capped(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    rows = [f"game,,,Nobody {i},Nemo {i},,,,,," for i in range(300)]
    details = error(await upload(api, token, event_id, csv_text(*rows)), 422, "invalid_csv")[
        "details"
    ]
    assert len(details["errors"]) == 100
    assert details["truncated"] is True


async def test_too_many_rows(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    rows = [f"team,Team {i},,,,,,,,," for i in range(10_001)]
    errors = error(await upload(api, token, event_id, csv_text(*rows)), 422, "invalid_csv")
    assert errors["details"]["errors"] == [
        {"row": 10_002, "column": None, "message": "too many rows: at most 10000 per import"}
    ]
    assert await listing(api, token, event_id, "teams") == []


async def test_an_empty_file_is_invalid(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    errors = error(await upload(api, token, event_id, b""), 422, "invalid_csv")
    assert errors["details"]["errors"][0]["row"] == 1


async def test_a_file_past_the_upload_limit_is_413(api: Api, app: MatchdayApp) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    limit = app.config.max_upload_bytes
    assert limit == 5 * 1024 * 1024
    filler = "team,x,,,,,,,,,\r\n" * (limit // 17 + 1)
    body = csv_text() + filler
    assert len(body) > limit
    error(await upload(api, token, event_id, body), 413, "payload_too_large")
    assert await listing(api, token, event_id, "teams") == []
    # Past the HTTP server's limit for JSON requests (twice MAX_JSON_BODY_BYTES) but under the
    # upload limit: accepted (cells are trimmed, so the padding is harmless).
    padding = " " * 30_000
    big = csv_text(*[f"team,Team {i}{padding},,,,,,,,," for i in range(100)])
    assert 2 * app.config.max_json_body_bytes < len(big) < limit
    created = ok(await upload(api, token, event_id, big), 201)
    assert [team["name"] for team in created["teams"]] == [f"Team {i}" for i in range(100)]


async def test_refusals_of_a_large_body_are_clean_answers(api: Api) -> None:
    """Refusals known from the headers are sent once the body is read, not under a client
    that is still sending (which would see a reset instead of the answer)."""
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    padding = " " * 30_000
    big = csv_text(*[f"team,Team {i}{padding},,,,,,,,," for i in range(100)])
    error(await upload(api, None, event_id, big), 401)
    error(await upload(api, token, event_id, big, **{"Content-Type": "text/plain"}), 415)
    error(await upload(api, token, 99_999, big), 404, "not_found")


async def test_a_chunked_upload_past_the_limit_is_413(api: Api, app: MatchdayApp) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    chunk = b"team,x,,,,,,,,,\r\n" * 4096
    chunks = app.config.max_upload_bytes // len(chunk) + 2

    async def produce(write: Callable[[bytes], Awaitable[None]]) -> None:
        await write((HEADER + "\r\n").encode())
        for _ in range(chunks):
            await write(chunk)

    request = HTTPRequest(
        f"{api.base_url}/api/v1/events/{event_id}/import",
        method="POST",
        headers={**CSV_HEADERS, "Authorization": f"Bearer {token}"},
        body_producer=produce,
        request_timeout=30,
    )
    response = await AsyncHTTPClient().fetch(request, raise_error=False)
    error(Reply(response.code, response.headers, response.body), 413, "payload_too_large")
    assert await listing(api, token, event_id, "teams") == []


async def test_other_content_types_are_415(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    body = csv_text("team,Lions,,,,,,,,,")
    for content_type in ("application/json", "text/plain", "text/csv; charset=latin-1"):
        reply = await upload(api, token, event_id, body, **{"Content-Type": content_type})
        error(reply, 415, "unsupported_media_type")
    assert await listing(api, token, event_id, "teams") == []


async def test_who_may_import(api: Api, app: MatchdayApp) -> None:
    owner = await api.user("owner@example.com")
    other = await api.user("other@example.com")
    admin = await admin_token(api, app)
    public = await event(api, owner)
    private = await event(api, owner, visibility="private")
    body = csv_text("team,Lions,,,,,,,,,")

    error(await upload(api, None, public, body), 401, "unauthorized")
    error(await upload(api, "not-a-token", public, body), 401)
    error(await upload(api, other, public, body), 403, "forbidden")
    error(await upload(api, other, private, body), 404, "not_found")
    error(await upload(api, owner, 99_999, body), 404, "not_found")
    ok(await upload(api, admin, private, body), 201)
    assert [t["name"] for t in await listing(api, owner, private, "teams")] == ["Lions"]
    assert await listing(api, owner, public, "teams") == []


# --- export -------------------------------------------------------------------------------


async def test_export_round_trips_through_import(api: Api) -> None:
    token = await api.user("owner@example.com")
    source = await event(api, token)
    ok(await upload(api, token, source, league_csv()), 201)
    # A name a spreadsheet would run as a formula: stored verbatim, exported escaped.
    injected = ok(
        await api.post(
            f"/api/v1/events/{source}/teams", {"name": INJECTION, "group": "-B"}, token=token
        ),
        201,
    )
    assert injected["name"] == INJECTION
    lions = (await listing(api, token, source, "teams"))[0]["id"]
    game = {"home_team_id": injected["id"], "away_team_id": lions, "venue": "@home"}
    ok(await api.post(f"/api/v1/events/{source}/games", game, token=token), 201)
    assert INJECTION in [t["name"] for t in await listing(api, None, source, "teams")]

    reply = await export(api, None, source)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/csv; charset=UTF-8"
    assert "attachment" in reply.headers["Content-Disposition"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    rows = rows_of(reply)
    assert list(rows[0]) == HEADER.split(",")
    team_row = next(row for row in rows if row["name"].endswith(INJECTION))
    assert team_row["name"] == "'" + INJECTION
    assert team_row["group"] == "'-B"
    game_row = rows[-1]
    assert (game_row["home"], game_row["venue"]) == ("'" + INJECTION, "'@home")
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row

    target = await event(api, token)
    ok(await upload(api, token, target, reply.body), 201)

    def described(teams: list[dict], games: list[dict]) -> tuple[list, list]:
        names = {team["id"]: team["name"] for team in teams}
        keep = ("starts_at", "venue", "round", "home_score", "away_score", "status")
        return (
            [(team["name"], team["group"]) for team in teams],
            sorted(
                (names[g["home_team_id"]], names[g["away_team_id"]], *(g[k] for k in keep))
                for g in games
            ),
        )

    before = described(
        await listing(api, token, source, "teams"), await listing(api, token, source, "games")
    )
    after = described(
        await listing(api, token, target, "teams"), await listing(api, token, target, "games")
    )
    assert after == before
    assert (INJECTION, "-B") in after[0]
    assert (await export(api, None, target)).body == reply.body


async def test_export_of_an_empty_event_is_the_header(api: Api) -> None:
    token = await api.user("owner@example.com")
    event_id = await event(api, token)
    reply = await export(api, None, event_id)
    assert reply.body.decode() == HEADER + "\r\n"
    ok(await upload(api, token, await event(api, token), reply.body), 201)


async def test_who_may_export(api: Api, app: MatchdayApp) -> None:
    owner = await api.user("owner@example.com")
    other = await api.user("other@example.com")
    admin = await admin_token(api, app)
    public = await event(api, owner)
    private = await event(api, owner, visibility="private")

    assert (await export(api, None, public)).status == 200
    assert (await export(api, other, public)).status == 200
    error(await export(api, None, private), 404, "not_found")
    error(await export(api, other, private), 404, "not_found")
    error(await export(api, "not-a-token", public), 401)
    error(await export(api, None, 99_999), 404, "not_found")
    assert (await export(api, owner, private)).status == 200
    assert (await export(api, admin, private)).status == 200
