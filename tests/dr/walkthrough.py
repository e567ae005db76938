"""Disaster-recovery walkthrough, run for real (docs/disaster-recovery.md quotes its output).

    .venv/bin/python -m tests.dr.walkthrough [--games N]

On 127.0.0.1 only, with servers of its own on free ports (the shared PostgreSQL and Redis
are never touched): a PostgreSQL cluster (initdb in a temporary directory) and a Redis. It

1. seeds a league through the API of a `matchday serve` (users, an event, teams, a round
   robin, final scores, a correction by an admin) and waits for the standings;
2. takes `matchday backup`;
3. destroys everything: the server stops, the database is dropped, Redis is killed and its
   data directory removed (a region lost);
4. restores: a new database, `matchday restore`, `matchday migrate` (already at the newest
   migration: nothing to do), a fresh Redis, `matchday serve` again;
5. verifies: every table's row count and an md5 of its rows, the standings and the games as
   the API gives them, a spectator resuming with an old `Last-Event-ID` gets a `reset`, and a
   new score flows to the stream and into the standings;

and prints how long each step took. Exits 1 if a check fails; everything it started is
stopped and removed, whatever happens (at most --deadline seconds in all).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.e2e.own_postgres import OwnPostgres, _bin_dir

MATCHDAY = str(Path(sys.executable).with_name("matchday"))
SECRET = "dr-walkthrough-" + "k" * 40
PASSWORD = "a long passphrase here"
TEAMS = ["Lions", "Tigers", "Bears", "Wolves", "Eagles", "Sharks"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Timer:
    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        yield
        self.steps.append((name, time.monotonic() - start))
        print(f"  {name}: {self.steps[-1][1]:.2f} s", flush=True)


def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"FAILED: {what} (not within {timeout} s)")
        time.sleep(0.1)


# --- HTTP ----------------------------------------------------------------------------------


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                got, raw = reply.status, reply.read()
        except urllib.error.HTTPError as error:
            got, raw = error.code, error.read()
        if got != status:
            raise SystemExit(f"FAILED: {method} {path}: {got} {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/readyz", timeout=2) as reply:
                return bool(reply.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def first_stream_event(self, path: str, last_event_id: str) -> str:
        """The `event:` name of the first message on a stream opened with Last-Event-ID."""
        request = urllib.request.Request(self.base + path)
        request.add_header("Last-Event-ID", last_event_id)
        with urllib.request.urlopen(request, timeout=10) as stream:
            for raw in stream:
                line = raw.decode().strip()
                if line.startswith("event:"):
                    return line.partition(":")[2].strip()
        raise SystemExit("FAILED: the stream ended without a message")


# --- processes ------------------------------------------------------------------------------


class Stack:
    """Our own PostgreSQL, Redis and `matchday serve`, all on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        self.root = root
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise SystemExit("no PostgreSQL binaries (initdb, pg_ctl)")
        (root / "pg").mkdir()
        if os.geteuid() == 0:  # initdb refuses root: OwnPostgres runs it as `postgres`
            shutil.chown(root / "pg", "postgres")
        self.pg = OwnPostgres(bin_dir, root / "pg")
        self.redis: subprocess.Popen[bytes] | None = None
        self.redis_port = 0
        self.serve: subprocess.Popen[bytes] | None = None
        self.api_port = free_port()

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.pg.port}/postgres"

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg.port}/matchday"

    def env(self) -> dict[str, str]:
        kept = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))}
        return {
            **kept,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "JWT_SECRET": SECRET,
            "TASK_RUNNER": "local",  # recomputes in the serve process: no worker to start
            "BCRYPT_ROUNDS": "4",
            "DATA_DIR": str(self.root / "var"),
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "text",
        }

    def matchday(self, *args: str) -> str:
        done = subprocess.run(
            [MATCHDAY, *args], env=self.env(), capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise SystemExit(f"FAILED: matchday {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def sql(self, statement: str) -> None:
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(statement))
        finally:
            engine.dispose()

    def start_postgres(self) -> None:
        self.pg.init()
        self.pg.start()

    def start_redis(self) -> None:
        directory = self.root / f"redis-{time.monotonic_ns()}"
        directory.mkdir()
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--dir", str(directory), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        until(lambda: self._redis_answers(), 10, "Redis answers")

    def _redis_answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def kill_redis(self) -> None:
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait(10)
            self.redis = None

    def start_serve(self) -> Client:
        log = (self.root / "serve.log").open("ab")
        self.serve = subprocess.Popen(
            [MATCHDAY, "serve", "--host", "127.0.0.1", "--port", str(self.api_port)],
            env=self.env(),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        client = Client(f"http://127.0.0.1:{self.api_port}")
        until(client.ready, 60, "matchday serve is ready")
        return client

    def stop_serve(self) -> None:
        if self.serve is not None:
            os.killpg(self.serve.pid, signal.SIGTERM)
            self.serve.wait(30)
            self.serve = None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop_serve()
        self.kill_redis()
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg.stop()


# --- the walkthrough ------------------------------------------------------------------------


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Every application table: (row count, md5 of its rows in primary-key order)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
            digests = {}
            for table in sorted(tables):
                rows = "coalesce(string_agg(t::text, '|' ORDER BY t::text), '')"
                query = f'SELECT count(*), md5({rows}) FROM "{table}" t'
                row = conn.execute(sa.text(query)).one()
                digests[table] = (int(row[0]), str(row[1]))
            return digests
    finally:
        engine.dispose()


def seed(client: Client, games: int) -> tuple[int, int, dict[str, Any]]:
    """A league with final scores and one correction; returns (event id, a game id, the
    standings once every result counts)."""
    account = {"email": "org@example.com", "password": PASSWORD, "display_name": "Org"}
    client.call("POST", "/api/v1/auth/register", account, 201)
    client.token = client.call(
        "POST", "/api/v1/auth/login", {"email": "org@example.com", "password": PASSWORD}
    )["access_token"]
    event = client.call("POST", "/api/v1/events", {"name": "DR League"}, 201)["id"]
    for name in TEAMS:
        client.call("POST", f"/api/v1/events/{event}/teams", {"name": name}, 201)
    body = {"format": "double_round_robin", "starts_at": "2026-12-05T15:00:00Z"}
    scheduled = client.call("POST", f"/api/v1/events/{event}/schedule", body, 201)["games"]
    played = scheduled[:games]
    for n, game in enumerate(played):
        score = {"home_score": n % 4, "away_score": (n * 7) % 3, "status": "final"}
        client.call("PUT", f"/api/v1/games/{game['id']}/score", score)
    expected = 2 * len(played)

    def counted() -> bool:
        table = client.call("GET", f"/api/v1/events/{event}/standings")
        return sum(row["played"] for row in table["rows"]) == expected

    until(counted, 60, "the standings count every final score")
    return event, played[0]["id"], client.call("GET", f"/api/v1/events/{event}/standings")


def correct(stack: Stack, client: Client, event: int, game: int) -> None:
    """An admin's correction (it must survive the restore too)."""
    stack.matchday("create-admin", "--email", "admin@example.com", "--password", PASSWORD)
    admin = Client(client.base)
    admin.token = admin.call(
        "POST", "/api/v1/auth/login", {"email": "admin@example.com", "password": PASSWORD}
    )["access_token"]
    fix = {"home_score": 9, "away_score": 0, "reason": "scorer's sheet"}
    version = admin.call("POST", f"/api/v1/admin/games/{game}/corrections", fix)["version"]

    def recomputed() -> bool:
        table = client.call("GET", f"/api/v1/events/{event}/standings")
        return any(row["score_for"] >= 9 for row in table["rows"]) and version > 1

    until(recomputed, 60, "the corrected score is in the standings")


def run(games: int) -> int:
    timer = Timer()
    root = Path(tempfile.mkdtemp(prefix="matchday-dr-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    stack = Stack(root)
    try:
        print(f"Disaster-recovery walkthrough in {root} (127.0.0.1 only)", flush=True)
        print(f"  load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        with timer.step("start PostgreSQL (initdb) and Redis of our own"):
            stack.start_postgres()
            stack.sql("CREATE DATABASE matchday")
            stack.start_redis()
        with timer.step("matchday migrate"):
            stack.matchday("migrate")
        with timer.step(f"seed through the API ({len(TEAMS)} teams, {games} final scores)"):
            client = stack.start_serve()
            event, game, _ = seed(client, games)
            correct(stack, client, event, game)
            before_standings = client.call("GET", f"/api/v1/events/{event}/standings")
            before_games = client.call("GET", f"/api/v1/events/{event}/games?per_page=200")
            stream = client.call("GET", f"/api/v1/events/{event}/standings")["last_event_id"]
        before = table_digests(stack.database_url)
        rows = sum(count for count, _ in before.values())
        print(f"  seeded: {rows} rows in {len(before)} tables; last stream id {stream}")
        with timer.step("matchday backup"):
            dump = Path(stack.matchday("backup", "--dir", str(root / "backups")))
        print(f"  {dump.name}: {dump.stat().st_size} bytes")

        with timer.step("disaster: serve stopped, database dropped, Redis and its data gone"):
            stack.stop_serve()
            stack.sql("DROP DATABASE matchday")
            stack.kill_redis()

        recovery = time.monotonic()
        with timer.step("create an empty database"):
            stack.sql("CREATE DATABASE matchday")
        with timer.step("matchday restore"):
            stack.matchday("restore", str(dump))
        with timer.step("matchday migrate (already at the newest migration)"):
            stack.matchday("migrate")
        with timer.step("a fresh Redis, matchday serve ready"):
            stack.start_redis()
            client = stack.start_serve()
        recovery_total = time.monotonic() - recovery

        with timer.step("verify"):
            after = table_digests(stack.database_url)
            if after != before:
                changed = sorted(
                    t for t in before.keys() | after.keys() if before.get(t) != after.get(t)
                )
                raise SystemExit(f"FAILED: tables differ after the restore: {changed}")
            if (
                client.call("GET", f"/api/v1/events/{event}/standings")["rows"]
                != before_standings["rows"]
            ):
                raise SystemExit("FAILED: the standings differ after the restore")
            if client.call("GET", f"/api/v1/events/{event}/games?per_page=200") != before_games:
                raise SystemExit("FAILED: the games differ after the restore")
            first = client.first_stream_event(f"/api/v1/events/{event}/stream", stream)
            if first != "reset":
                raise SystemExit(f"FAILED: a resuming client got {first!r}, not a reset")
            client.token = client.call(
                "POST", "/api/v1/auth/login", {"email": "org@example.com", "password": PASSWORD}
            )["access_token"]
            unplayed = next(g for g in before_games["items"] if g["status"] == "scheduled")
            final = {"home_score": 1, "away_score": 0, "status": "final"}
            client.call("PUT", f"/api/v1/games/{unplayed['id']}/score", final)
            played_before = sum(row["played"] for row in before_standings["rows"])

            def counted() -> bool:
                table = client.call("GET", f"/api/v1/events/{event}/standings")
                return sum(row["played"] for row in table["rows"]) == played_before + 2

            until(counted, 60, "a score after the restore reaches the standings")
        print(f"  checked: {len(after)} tables identical (row counts and md5 of rows), "
              "standings and games identical, an old Last-Event-ID gets `reset`, "
              "a new final score is counted")  # fmt: skip
        print(f"Recovery (empty database → serving, verified data): {recovery_total:.2f} s")
        print(f"  load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        return 0
    finally:
        stack.close()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=20, help="final scores to seed (≤ 30)")
    parser.add_argument("--deadline", type=int, default=600, help="seconds before giving up")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(SystemExit("FAILED: deadline")))
    signal.alarm(args.deadline)
    sys.exit(run(min(args.games, 30)))


if __name__ == "__main__":
    main()
