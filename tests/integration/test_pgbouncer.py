"""Matchday through a real PgBouncer in transaction mode (deploy/pgbouncer): a whole flow —
register, event, scores, standings, a correction and its audit entry — with psycopg's
prepared statements switched off by DATABASE_PGBOUNCER."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from models.db import make_sync_engine, sync_url
from server.admin_cli import create_admin
from server.app import MatchdayApp, make_app
from tests.pgbouncer import PgBouncer, own_pgbouncer, through_pgbouncer
from tests.support import STRONG_PASSWORD, Api, create_pg_schema, drop_pg_schema, settings_for

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def bouncer() -> Iterator[PgBouncer]:
    schema = create_pg_schema()
    try:
        with own_pgbouncer(schema, statement_timeout_ms=4_000) as running:
            yield running
    finally:
        drop_pg_schema(schema)


@pytest.fixture
async def app(bouncer: PgBouncer, tmp_path: Path) -> AsyncIterator[MatchdayApp]:
    settings = settings_for(bouncer.url, tmp_path, DATABASE_PGBOUNCER="true", DB_POOL_SIZE="3")
    application = await make_app(settings)
    yield application
    await application.close()


@pytest.fixture
async def api(app: MatchdayApp) -> AsyncIterator[Api]:
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    yield Api(f"http://127.0.0.1:{port}")
    server.stop()
    await server.close_all_connections()


async def test_the_whole_flow_runs_through_pgbouncer(
    api: Api, app: MatchdayApp, bouncer: PgBouncer
) -> None:
    before = await asyncio.to_thread(bouncer.transactions)
    await api.register("admin@example.org")
    await asyncio.to_thread(create_admin, app.config, "admin@example.org", STRONG_PASSWORD, "Admin")
    token = await api.login("admin@example.org")
    event = await api.post("/api/v1/events", {"name": "Pooled Cup"}, token=token)
    assert event.status == 201, event.body
    event_id = event.json["id"]
    teams = []
    for name in ("Lions", "Tigers", "Bears"):
        team = await api.post(f"/api/v1/events/{event_id}/teams", {"name": name}, token=token)
        assert team.status == 201, team.body
        teams.append(team.json["id"])
    games = []
    for home, away in ((0, 1), (1, 2), (2, 0)):
        game = await api.post(
            f"/api/v1/events/{event_id}/games",
            {"home_team_id": teams[home], "away_team_id": teams[away]},
            token=token,
        )
        assert game.status == 201, game.body
        games.append(game.json["id"])
    # More than psycopg's default prepare_threshold (5) of the same statements: prepared
    # statements would now be asked for on server connections that never saw them.
    for round_ in range(3):
        for game_id in games:
            reply = await api.put(
                f"/api/v1/games/{game_id}/score",
                {"home_score": round_ + 1, "away_score": 0, "status": "live"},
                token=token,
            )
            assert reply.status == 200, reply.body
    for game_id in games:
        reply = await api.put(
            f"/api/v1/games/{game_id}/score",
            {"home_score": 2, "away_score": 1, "status": "final"},
            token=token,
        )
        assert reply.status == 200, reply.body
    correction = await api.post(
        f"/api/v1/admin/games/{games[0]}/corrections",
        {"home_score": 0, "away_score": 3, "reason": "wrong sheet"},
        token=token,
    )
    assert correction.status == 200, correction.body
    await app.settled()

    table = await api.get(f"/api/v1/events/{event_id}/standings")
    assert table.status == 200
    points = {row["team_name"]: row["points"] for row in table.json["rows"]}
    # Tigers won at Lions (corrected to 0-3) and beat Bears; Bears beat Lions.
    assert points == {"Lions": 0, "Tigers": 6, "Bears": 3}
    audit = await api.get("/api/v1/admin/audit?action=game.correct", token=token)
    assert audit.status == 200, audit.body
    assert [entry["target_id"] for entry in audit.json["items"]] == [games[0]]
    listed = await api.get("/api/v1/events")
    assert [item["name"] for item in listed.json["items"]] == ["Pooled Cup"]

    after = await asyncio.to_thread(bouncer.transactions)
    assert after - before >= 30  # every one of those went through PgBouncer


async def test_pgbouncer_sets_the_statement_timeout(app: MatchdayApp) -> None:
    # DATABASE_PGBOUNCER leaves `options` out of the startup packet (PgBouncer refuses it):
    # the timeout comes from the pool's connect_query, as deploy/pgbouncer/pgbouncer.ini does.
    async with app.engine.connect() as conn:
        assert (await conn.execute(sa.text("SHOW statement_timeout"))).scalar() == "4s"
        with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
            await conn.execute(sa.text("SELECT pg_sleep(5)"))


def _lend_its_server_connection_away(engine: sa.Engine) -> None:
    """`a` runs one statement often enough for psycopg to prepare it (threshold 5), on the
    server connection PgBouncer lends it; `b` is then lent that same connection (PgBouncer
    reuses the most recently used one) and keeps it, so `a` runs the statement on another."""
    statement = sa.text("SELECT count(*) FROM users WHERE id > :floor")
    with engine.connect() as a:
        for _ in range(8):
            a.execute(statement, {"floor": 0})
            a.commit()
        with engine.connect() as b:
            b.execute(sa.text("SELECT 1"))  # b's transaction stays open: it holds the server
            a.execute(statement, {"floor": 0})
            a.commit()
            b.rollback()


def test_no_statement_is_prepared_for_another_server_connection(
    bouncer: PgBouncer, tmp_path: Path
) -> None:
    settings = settings_for(bouncer.url, tmp_path, DATABASE_PGBOUNCER="true")
    engine = make_sync_engine(settings)
    try:
        _lend_its_server_connection_away(engine)  # no error
    finally:
        engine.dispose()
    # The same through psycopg's default: the scenario does break prepared statements.
    default = sa.create_engine(sync_url(bouncer.url))
    try:
        with pytest.raises(sa.exc.ProgrammingError, match=r"prepared statement .* does not exist"):
            _lend_its_server_connection_away(default)
    finally:
        default.dispose()


@pytest.mark.parametrize("live_app", ["production"], indirect=True)
async def test_the_suite_fixtures_go_through_pgbouncer_when_asked(live_app: MatchdayApp) -> None:
    """With MATCHDAY_TEST_PGBOUNCER=1 (`MATCHDAY_TEST_PGBOUNCER=1 make test`), the app fixtures'
    PostgreSQL is reached through the session's PgBouncer in transaction mode."""
    if not through_pgbouncer():
        pytest.skip("MATCHDAY_TEST_PGBOUNCER is not set: the fixtures go to PostgreSQL directly")
    assert live_app.config.database_pgbouncer
    async with live_app.engine.connect() as conn:
        # PgBouncer's server connection, not ours: its port is 5432, the client's is not.
        assert (await conn.execute(sa.text("SELECT inet_server_port()"))).scalar() == 5432
        assert sa.make_url(live_app.config.database_url).port != 5432
