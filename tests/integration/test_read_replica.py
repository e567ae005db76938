"""DATABASE_REPLICA_URL: anonymous public lists read the replica; signed-in callers and every
write use the primary. The "replica" here is a second schema that the test fills itself,
standing in for one that has not replayed the primary's latest changes yet."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from models import Base
from server.app import MatchdayApp, make_app
from tests.support import (
    PG_ADMIN_URL,
    Api,
    create_pg_schema,
    drop_pg_schema,
    pg_schema_url,
    settings_for,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def schemas() -> Iterator[tuple[str, str]]:
    primary, replica = create_pg_schema(), create_pg_schema()
    yield primary, replica
    drop_pg_schema(primary)
    drop_pg_schema(replica)


@pytest.fixture
async def app(schemas: tuple[str, str], tmp_path: Path) -> AsyncIterator[MatchdayApp]:
    primary, replica = schemas
    settings = settings_for(
        pg_schema_url(primary),
        tmp_path,
        DATABASE_REPLICA_URL=pg_schema_url(replica),
        READ_CACHE_EVENTS="0",  # the replica serves lists only with the read cache off
    )
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


def _replicate(primary: str, replica: str) -> None:
    """What streaming replication would have done by now: the replica holds the primary's rows."""
    engine = sa.create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            source, target = f'"{primary}"."{table.name}"', f'"{replica}"."{table.name}"'
            conn.execute(sa.text(f"INSERT INTO {target} SELECT * FROM {source}"))
    engine.dispose()


async def test_anonymous_lists_read_the_replica_signed_in_callers_the_primary(
    api: Api, schemas: tuple[str, str]
) -> None:
    token = await api.user("org@example.org")  # a write: on the primary
    event = await api.post("/api/v1/events", {"name": "Replicated Cup"}, token=token)
    assert event.status == 201, event.body
    event_id = event.json["id"]
    team = await api.post(f"/api/v1/events/{event_id}/teams", {"name": "Lions"}, token=token)
    assert team.status == 201

    # The replica has not caught up: anonymous lists do not show the event yet...
    assert (await api.get("/api/v1/events")).json["total"] == 0
    # ...while its organiser, signed in, reads the primary and sees what they just wrote.
    own = await api.get("/api/v1/events", token=token)
    assert [item["name"] for item in own.json["items"]] == ["Replicated Cup"]
    # A single event (not a list) is read from the primary for everyone.
    assert (await api.get(f"/api/v1/events/{event_id}")).status == 200

    _replicate(*schemas)
    listed = await api.get("/api/v1/events")
    assert [item["name"] for item in listed.json["items"]] == ["Replicated Cup"]
    teams = await api.get(f"/api/v1/events/{event_id}/teams")
    assert [item["name"] for item in teams.json["items"]] == ["Lions"]
    assert (await api.get(f"/api/v1/events/{event_id}/games")).json["total"] == 0
