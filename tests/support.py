"""Test helpers: a JSON client for a running Matchday, and database set-up for both backends."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import sqlalchemy as sa
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from config.settings import Settings, load_settings
from models import Base
from models.migrate import upgrade
from tests.pgbouncer import through_pgbouncer

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
TEST_SECRET = "test-secret-" + "x" * 40
STRONG_PASSWORD = "correct-horse-battery-staple"


def settings_for(database_url: str, data_dir: Path, **extra: str) -> Settings:
    if through_pgbouncer() and database_url.startswith("postgresql"):
        # Also right for a URL that goes to PostgreSQL directly (it then has no timeout).
        extra = {"DATABASE_PGBOUNCER": "true", **extra}
    env = {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "JWT_SECRET": TEST_SECRET,
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    return load_settings(env)


def pg_schema_url(schema: str) -> str:
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"


def create_pg_schema() -> str:
    """A fresh schema with every migration applied; tests never touch the shared `public`."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    upgrade(pg_schema_url(schema))
    return schema


def drop_pg_schema(schema: str) -> None:
    engine = sa.create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def truncate_pg(schema: str) -> None:
    """Empty every table and restart every id, as `TRUNCATE ... RESTART IDENTITY` would. With
    the few rows a test leaves, DELETE is 10-30x faster: TRUNCATE gives every table new files
    and waits for an exclusive lock on each (0.3 s a test here, on a busy disk)."""
    engine = sa.create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):  # rows that refer to others first
            conn.execute(sa.text(f'DELETE FROM "{schema}"."{table.name}"'))
        conn.execute(
            sa.text(
                "SELECT setval(format('%I.%I', sequence_schema, sequence_name)::regclass, 1, false)"
                " FROM information_schema.sequences WHERE sequence_schema = :schema"
            ),
            {"schema": schema},
        )
    engine.dispose()


async def delete_redis_keys(prefix: str, url: str = REDIS_URL) -> None:
    client = aioredis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def sqlite_template(directory: Path) -> Path:
    path = directory / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    target = directory / "matchday.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def error_code(self) -> str:
        return self.json["error"]["code"]


class Api:
    """A small JSON client bound to one running server."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = AsyncHTTPClient()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        payload = (
            raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        )
        if payload is None and method in {"POST", "PUT", "PATCH"}:
            payload = b""
        request = HTTPRequest(
            self.base_url + path,
            method=method,
            headers=all_headers,
            body=payload,
            allow_nonstandard_methods=True,
            request_timeout=30,
        )
        response = await self.http.fetch(request, raise_error=False)
        return Reply(response.code, response.headers, response.body or b"")

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("POST", path, body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("PUT", path, body, **kw)

    async def patch(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("PATCH", path, body, **kw)

    async def register(self, email: str, password: str = STRONG_PASSWORD, name: str = "") -> dict:
        reply = await self.post(
            "/api/v1/auth/register",
            {"email": email, "password": password, "display_name": name or email.split("@")[0]},
        )
        assert reply.status == 201, reply.body
        return reply.json["user"]

    async def login(self, email: str, password: str = STRONG_PASSWORD) -> str:
        reply = await self.post("/api/v1/auth/login", {"email": email, "password": password})
        assert reply.status == 200, reply.body
        return reply.json["access_token"]

    async def user(self, email: str) -> str:
        """Register and log in; returns the access token."""
        await self.register(email)
        return await self.login(email)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll `check` until it is true; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


class Clock:
    """A clock that moves only when told: rate-limit windows pass without waiting for them."""

    def __init__(self, start: float = 36_000.0) -> None:  # a whole number of every window
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def scrape_samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """A Prometheus exposition as {(sample name, labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def expected_table(
    teams: Iterable[int], games: Iterable[dict[str, Any]], results: dict[int, tuple[int, int]]
) -> dict[int, tuple[int, ...]]:
    """team id -> (played, won, drawn, lost, score_for, score_against) of the results posted
    (game id -> (home, away)): what a table of those games must show."""
    tally = {team: [0, 0, 0, 0, 0, 0] for team in teams}
    for game in games:
        if game["id"] not in results:
            continue
        home, away = results[game["id"]]
        for team, mine, theirs in (
            (game["home_team_id"], home, away),
            (game["away_team_id"], away, home),
        ):
            row = tally[team]
            row[0] += 1
            row[1 + (0 if mine > theirs else 1 if mine == theirs else 2)] += 1
            row[4] += mine
            row[5] += theirs
    return {team: tuple(row) for team, row in tally.items()}


def table_of(standings: dict[str, Any]) -> dict[int, tuple[int, ...]]:
    """A standings payload as expected_table() gives it."""
    keys = ("played", "won", "drawn", "lost", "score_for", "score_against")
    return {row["team_id"]: tuple(row[k] for k in keys) for row in standings["rows"]}
